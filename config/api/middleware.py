"""Input checks at the door and JSON errors for everything under /api/.

- A NUL byte in the path or the query string is refused with 400 before any view runs (anywhere,
  the admin included): PostgreSQL text cannot hold it, so a lookup with it would fail as a 500.
- Under /api/, an error Django answers itself (its 404 page for an unknown URL, shown even with
  DEBUG on, a 400/413 before DRF is reached) is replaced by the API's JSON error format. 5xx are
  left alone: without DEBUG they already come from `handler500`, with DEBUG the traceback helps.
"""

from django.http import HttpResponseBadRequest
from django.utils.deprecation import MiddlewareMixin
from rest_framework.response import Response

from config.api.exceptions import json_error

API_PREFIX = "/api/"
NUL_MESSAGE = "NUL bytes are not allowed in the URL."


class ApiInputMiddleware(MiddlewareMixin):
    """MiddlewareMixin: works in sync and async stacks, so streaming views keep running async."""

    def process_request(self, request):
        if not _has_nul(request):
            return None
        if _is_api(request):
            return json_error(400, "invalid", NUL_MESSAGE)
        return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")

    def process_response(self, request, response):
        if not _is_api(request) or not 400 <= response.status_code < 500 or _is_json(response):
            return response
        if isinstance(response, Response):
            return response  # DRF's own (the browsable API's HTML for a browser): already the error format
        replacement = json_error(response.status_code)
        for header, value in response.items():  # e.g. Allow on a 405
            if header.lower() not in ("content-type", "content-length"):
                replacement[header] = value
        return replacement


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _has_nul(request) -> bool:
    # The query string is still percent-encoded: NUL arrives as %00 (or, over ASGI, raw).
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json") or response.streaming
