"""One error format for every API failure: {"error": {"code", "message", "details"}}."""

import logging
from http import HTTPStatus

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error a service raises with its own code, e.g. ApiError("coupon_used", "...", status=409)."""

    def __init__(self, code: str, message: str, status_code: int = status.HTTP_400_BAD_REQUEST, details=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


# Codes of the statuses Django itself answers with (everything DRF raises has its own code).
_STATUS_CODES = {
    400: "bad_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django raises it while DRF reads the body
        exc = ApiError("request_too_large", "The request body is too large.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    elif isinstance(exc, SuspiciousOperation | BadRequest):  # too many fields, a malformed multipart body...
        exc = ApiError("bad_request", str(exc) or "Bad request.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers in the same format
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body("throttled", "Too many requests.", {"retry_after": exc.wait})
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(code, str(exc.detail))
    return Response(body, status=response.status_code, headers=dict(response.headers))


def json_error(status_code: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    """An error response outside DRF; code and message default to the status's (Django's own 404, 413...)."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:  # a status without a standard name
        phrase = f"HTTP {status_code}"
    code = code or _STATUS_CODES.get(status_code) or phrase.lower().replace(" ", "_")
    return JsonResponse(error_body(code, message or f"{phrase}."), status=status_code)


def json_not_found(request, exception=None):
    return json_error(404, "not_found", "Not found.")


def json_server_error(request):
    return json_error(500, "server_error", "Internal server error.")
