"""The request's language, input checks at the door and JSON errors for everything under /api/ and /v1/.

- API requests (/api/ and the OpenAI-compatible /v1/) are answered in the language Accept-Language
  asks for among LANGUAGES (Korean, English), Korean when it asks for neither or is absent; the
  response says which in Content-Language. Everything else (the admin, HTML pages) stays Korean.

- A NUL byte in the path or the query string is refused with 400 before any view runs (anywhere,
  the admin included): PostgreSQL text cannot hold it, so a lookup with it would fail as a 500.
- An API request body with a Content-Encoding (gzip...) is a 415 (RFC 7694): nothing decodes it, so
  the parser read the compressed bytes as text and answered a codec message.
- Under /api/ and /v1/, an error Django answers itself (its 404 page for an unknown URL, shown even
  with DEBUG on, a 400 for a disallowed Host, a 413 before DRF is reached) is replaced by that API's
  JSON error format (config.api.exceptions.json_error). 5xx are left alone: without DEBUG they already
  come from `handler500`, with DEBUG the traceback helps.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponseBadRequest
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext_lazy
from rest_framework.response import Response

from config.api.exceptions import is_api_path, json_error

NUL_MESSAGE = gettext_lazy("NUL bytes are not allowed in the URL.")
ENCODED_BODY_MESSAGE = gettext_lazy(
    "Compressed request bodies (Content-Encoding) are not supported; send it uncompressed."
)


class ApiLanguageMiddleware:
    """Activates the API request's language around the view and while a streamed body is produced.

    Not a MiddlewareMixin: it runs natively in sync and async stacks, no thread hop either way."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        if not is_api_path(request.path):
            return self.get_response(request)
        language = translation.get_language_from_request(request)
        with translation.override(language):
            response = self.get_response(request)
        return _in_language(response, language)

    async def _acall(self, request):
        if not is_api_path(request.path):
            return await self.get_response(request)
        language = translation.get_language_from_request(request)
        with translation.override(language):
            response = await self.get_response(request)
        return _in_language(response, language)


def _in_language(response, language: str):
    response.headers.setdefault("Content-Language", language)
    patch_vary_headers(response, ("Accept-Language",))
    if response.streaming:  # the body is produced after the view returned: an error event must match
        stream_in = _astream_in if response.is_async else _stream_in
        response.streaming_content = stream_in(language, response.streaming_content)
    return response


def _stream_in(language, content):
    with translation.override(language):
        yield from content


async def _astream_in(language, content):
    with translation.override(language):
        async for part in content:
            yield part


class ApiInputMiddleware(MiddlewareMixin):
    """MiddlewareMixin: works in sync and async stacks, so streaming views keep running async."""

    def process_request(self, request):
        if _has_nul(request):
            if is_api_path(request.path):
                return json_error(request, 400, "invalid", NUL_MESSAGE)
            return HttpResponseBadRequest(str(NUL_MESSAGE), content_type="text/plain; charset=utf-8")
        if is_api_path(request.path) and _has_encoded_body(request):
            return json_error(request, 415, "unsupported_media_type", ENCODED_BODY_MESSAGE)
        return None

    def process_response(self, request, response):
        if not is_api_path(request.path) or not 400 <= response.status_code < 500 or _is_json(response):
            return response
        if isinstance(response, Response):
            return response  # DRF's own (the browsable API's HTML for a browser): already the error format
        replacement = json_error(request, response.status_code)
        for header, value in response.items():  # e.g. Allow on a 405
            if header.lower() not in ("content-type", "content-length"):
                replacement[header] = value
        return replacement


def _has_nul(request) -> bool:
    # The query string is still percent-encoded: NUL arrives as %00 (or, over ASGI, raw).
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


def _has_encoded_body(request) -> bool:
    """A body-carrying request (each such operation documents its 415) whose body is encoded."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    return request.method in ("POST", "PUT", "PATCH") and encoding not in ("", "identity")


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json") or response.streaming
