"""OpenAPI conventions every operation shares: tags by what the caller does, a one-line summary,
the auth schemes the view really accepts, and the error responses in the project's error format.

Views keep documenting their own success bodies and any error they raise themselves (e.g.
coupons/apply: 404, 409, 422) with `extend_schema`; this module adds what is common to all.
"""

import copy
import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_view_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from config.api.tags import OPENAI_TAG, TAG_RULES

AUTH_DESCRIPTIONS = {
    "tokenAuth": "End users and staff: `Authorization: Token <token>` (the word Token, a space, the token).",
    "partnerApiKey": "Partner servers: `Authorization: Api-Key <prefix>.<secret>` (Api-Key, a space, the key).",
    "cookieAuth": "The Django admin session (staff browsing the API docs while logged in to the admin).",
}

def tag_for(path: str) -> str:
    if path.startswith("/v1/"):
        return OPENAI_TAG
    relative = path.removeprefix("/api/v1/")
    for pattern, tag in TAG_RULES:
        if re.search(pattern, relative):
            return tag
    return relative.split("/", 1)[0].replace("_", " ").capitalize() or "Accounts"


class ProjectAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return [tag_for(self.path)]

    def get_summary(self) -> str | None:
        """The view's own summary, else its docstring's first line, else a sentence from its model."""
        summary = super().get_summary()
        if summary:
            return summary
        action = getattr(self.view, "action", None) or self._implied_action()
        generic = hasattr(self.view, "get_queryset")  # a plain APIView has no model to name
        model = get_view_model(self.view) if generic and action in ("retrieve", "destroy", "list") else None
        if model is not None and action != "list":
            verb = "One" if action == "retrieve" else "Delete one"
            return f"{verb} {model._meta.verbose_name}"
        doc = (self.view.__class__.__doc__ or "").strip()
        if doc:
            return doc.splitlines()[0].rstrip(".")
        return f"List {model._meta.verbose_name_plural}" if model is not None else None

    def _implied_action(self) -> str | None:
        """What a non-viewset generic view does with a GET or DELETE on its model."""
        if self.method == "DELETE":
            return "destroy"
        if self.method == "GET":
            return "retrieve" if "{" in self.path else "list"
        return None

    def get_auth(self):
        """Only the schemes the permission classes let through (e.g. the dining API refuses partner keys)."""
        auth = super().get_auth()
        refused = set()
        for permission in self.view.get_permissions():
            refused |= set(getattr(permission, "refused_auth_schemes", ()))
        return [scheme for scheme in auth if not (set(scheme) & refused)]


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable, e.g. invalid, not_found, throttled")
    message = serializers.CharField(help_text="human-readable, in the request's language")
    details = serializers.JSONField(allow_null=True, help_text="field errors or extra data (e.g. retry_after)")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(**descriptions: str) -> dict:
    """Operation-specific errors for `extend_schema(responses=...)`: error_responses(**{"409": "coupon_used"})."""
    return {int(status): OpenApiResponse(ErrorSerializer, description=text) for status, text in descriptions.items()}


def file_responses(content_types: dict[str, str], *, fields: tuple[str, ...] = ()) -> dict:
    """The success bodies of a downloaded export, one per format ({"csv": "text/csv", ...}): JSON is an array of
    row objects (with `fields` when every row has them), any other format a file."""
    responses, description = {}, "The export as a " + " or ".join(content_types) + " file"
    for content_type in content_types.values():
        media_type = content_type.split(";")[0]
        if media_type == "application/json":
            row = {"type": "object", "properties": {field: {} for field in fields}} if fields else {"type": "object"}
            body = {"type": "array", "items": row}
        else:
            body = OpenApiTypes.BINARY
        responses[(200, media_type)] = OpenApiResponse(body, description=description)
    return responses


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema: dict):
    """(path, method, operation) of every operation of a generated schema (path items also hold non-operations)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


_COMMON_ERRORS = {
    "400": "The request is malformed or a value is invalid (code `invalid` or `parse_error`).",
    "401": "No or bad credentials (`not_authenticated`, `authentication_failed`).",
    "403": "These credentials may not do this (`permission_denied`).",
    "404": "No such object (or page of a list), or not one these credentials may see (`not_found`).",
    "415": "The body's Content-Type is not one this operation reads (`unsupported_media_type`).",
    "429": "Rate limit reached (`throttled`, `details.retry_after` in seconds).",
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the errors it can answer, in one schema."""
    # The Error component comes from ErrorSerializer, which operation-specific error_responses() use.
    for name, scheme in result["components"].get("securitySchemes", {}).items():
        if name in AUTH_DESCRIPTIONS:
            scheme["description"] = AUTH_DESCRIPTIONS[name]
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, method, operation in operations(result):
        if path.startswith("/v1/") or "responses" not in operation:
            continue  # the OpenAI-compatible API answers errors in OpenAI's shape and documents them itself
        for status in _applicable_errors(path, method, operation):
            operation["responses"].setdefault(status, {"description": _COMMON_ERRORS[status], "content": error_ref})
    return result


def _applicable_errors(path: str, method: str, operation: dict) -> list[str]:
    statuses = ["429"]
    if operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses.append("400")
    if operation.get("requestBody"):
        statuses.append("415")
    if operation.get("security"):  # absent: the operation takes no credentials
        statuses += ["401", "403"]
    if "{" in path or any(p.get("in") == "query" and p.get("name") == "page" for p in operation.get("parameters", [])):
        statuses.append("404")  # a path naming an object; a page past the last one
    return sorted(statuses)


def allow_blank_query_values(result, generator, request, public):
    """Postprocessing hook: an optional query parameter sent blank (`?status=`) is read as not given, as Django
    forms, django-filter and DRF all do; `allowEmptyValue` says so, so that a client (and schemathesis) knows it."""
    for _path, _method, operation in operations(result):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
    return result


FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BLANK_FORM_VALUE = {"type": "string", "enum": [""], "description": "blank: not given"}


def allow_blank_form_values(result, generator, request, public):
    """Postprocessing hook: in a form body an optional field sent blank (`mode=`) is read as not given, as DRF (and
    Django forms) read it; each form media type gets its own copy of the body's schema (`<Name>Form`) in which such a
    field may also be the empty string. The JSON body keeps the strict schema."""
    schemas = result.get("components", {}).get("schemas", {})
    for _path, _method, operation in operations(result):
        for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
            reference = body.get("schema", {}).get("$ref", "")
            if media_type not in FORM_MEDIA_TYPES or not reference:
                continue
            name = reference.rsplit("/", 1)[-1]
            if f"{name}Form" not in schemas:
                schemas[f"{name}Form"] = _blank_optional_fields(schemas[name])
            body["schema"] = {"$ref": f"#/components/schemas/{name}Form"}
    return result


def _blank_optional_fields(schema: dict) -> dict:
    form = copy.deepcopy(schema)
    required = set(form.get("required", []))
    for name, field in form.get("properties", {}).items():
        if name not in required and not field.get("readOnly"):
            form["properties"][name] = {"anyOf": [field, BLANK_FORM_VALUE]}
    return form
