"""One error format for every API failure: {"error": {"code", "message", "details"}}; under /v1/, the
OpenAI-compatible API, OpenAI's own: {"error": {"message", "type", "param", "code"}} (same codes and statuses)."""

import logging
from http import HTTPStatus

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
OPENAI_PREFIX = "/v1/"  # OpenAI-compatible clients expect /v1 at the root (config/urls.py)
API_PREFIXES = (API_PREFIX, OPENAI_PREFIX)
OPENAI_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(exceptions.APIException):
    """An error a service raises with its own code, e.g. ApiError("coupon_used", _("..."), status=409).

    The message is translated where it is raised (gettext, English source, Korean in locale/): the
    request's language is active then (config.api.middleware.ApiLanguageMiddleware)."""

    def __init__(self, code: str, message: str, status_code: int = status.HTTP_400_BAD_REQUEST, details=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def openai_error_body(status_code: int, code: str, message: str, param: str | None = None) -> dict:
    error_type = "server_error" if status_code >= 500 else OPENAI_ERROR_TYPES.get(status_code, "invalid_request_error")
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


# Code and message of each status Django itself answers with (everything DRF raises has its own).
_STATUS_ERRORS = {
    400: ("bad_request", gettext_lazy("The request is malformed.")),
    403: ("permission_denied", gettext_lazy("You do not have permission to perform this action.")),
    404: ("not_found", gettext_lazy("Not found.")),
    405: ("method_not_allowed", gettext_lazy("This method is not allowed here.")),
    413: ("request_too_large", gettext_lazy("The request body is too large.")),
    415: ("unsupported_media_type", gettext_lazy("This media type is not supported.")),
}


def _bad_request_message(exc) -> str:
    """Django's own reasons (SuspiciousOperation, BadRequest) are English-only: say it in the request's language."""
    if isinstance(exc, TooManyFieldsSent):
        return _("The request has more fields than the server accepts.")
    if isinstance(exc, TooManyFilesSent):
        return _("The request has more files than the server accepts.")
    return str(_STATUS_ERRORS[400][1])


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django raises it while DRF reads the body
        exc = ApiError("request_too_large", str(_STATUS_ERRORS[413][1]), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    elif isinstance(exc, SuspiciousOperation | BadRequest):  # too many fields, a malformed multipart body...
        exc = ApiError("bad_request", _bad_request_message(exc))
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers in the same format
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body("throttled", _("Too many requests."), {"retry_after": exc.wait})
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(code, str(exc.detail))
    return Response(body, status=response.status_code, headers=dict(response.headers))


def json_error(request, status_code: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    """An error response outside DRF, in the format of the API the request is for; code and message default
    to the status's (Django's own 404, 413...)."""
    known_code, known_message = _STATUS_ERRORS.get(status_code, (None, None))
    if code is None:
        try:
            phrase = HTTPStatus(status_code).phrase
        except ValueError:  # a status without a standard name
            phrase = f"HTTP {status_code}"
        code = known_code or phrase.lower().replace(" ", "_")
    if message is None:
        message = known_message or _("The request failed (HTTP %(status)d).") % {"status": status_code}
    if request.path.startswith(OPENAI_PREFIX):
        body = openai_error_body(status_code, code, str(message))
    else:
        body = error_body(code, str(message))
    return JsonResponse(body, status=status_code, json_dumps_params={"ensure_ascii": False})


def json_not_found(request, exception=None):
    return json_error(request, 404, "not_found")


def json_server_error(request):
    return json_error(request, 500, "server_error", _("Internal server error."))
