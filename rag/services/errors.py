"""Errors the RAG services raise; they carry the project's API error code and HTTP status."""

from rest_framework import status

from config.api.exceptions import ApiError


class RagError(ApiError):
    """A request the RAG services refuse, e.g. RagError("empty_document", "...", 400)."""


def invalid(code: str, message: str, details=None) -> RagError:
    return RagError(code, message, status.HTTP_400_BAD_REQUEST, details)
