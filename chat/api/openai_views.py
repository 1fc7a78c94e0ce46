"""The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`) over the chatbots.

Authentication, permissions and throttling are the project's (a user token or a partner key, sent
as `Authorization: Bearer <...>`, the per-client rate limit); errors are reshaped into OpenAI's
`{"error": {"message", "type", "param", "code"}}` with the same status codes. Streams are async views
(`AsyncAPIView`): a request is validated and its question stored before the stream starts, so bad
input gets a JSON 4xx, and a client that goes away stops generation.
"""

import json

from asgiref.sync import sync_to_async
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.knowledge_views import AsyncAPIView, sse_response
from chat.api.openai_serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    ModelListSerializer,
    openai_error_responses,
)
from chat.api.openai_serializers import ModelSerializer as OpenAIModelSerializer
from chat.services import openai_compat
from config.api.authentication import BearerAuthentication, PartnerApiKeyAuthentication, UserTokenAuthentication
from config.api.exceptions import ApiError, api_exception_handler, json_error, openai_error_body
from config.api.permissions import is_partner_request


def _param_of(exc) -> str | None:
    """The request field an error is about: the first invalid field, or what a service named."""
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict) and exc.detail:
        name = next(iter(exc.detail))
        return None if name == "non_field_errors" else name
    if isinstance(exc, ApiError) and isinstance(exc.details, dict):
        return exc.details.get("param")
    return None


def openai_exception_handler(exc, context):
    """The project's handler decides status, code, message and headers (Retry-After, WWW-Authenticate);
    this one only reshapes the body."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    error = response.data["error"]
    response.data = openai_error_body(response.status_code, error["code"], error["message"], _param_of(exc))
    return response


def openai_not_found(request, *args, **kwargs):
    """Any other path under /v1/."""
    return json_error(request, 404, "not_found", _("Unknown endpoint %(path)s.") % {"path": request.path})


class OpenAIConventions:
    """Credentials, permission and error shape of every /v1/ view."""

    authentication_classes = [BearerAuthentication, PartnerApiKeyAuthentication, UserTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):
        return openai_exception_handler


class ModelListView(OpenAIConventions, APIView):
    @extend_schema(
        operation_id="openai_models_list",
        summary="The chatbots the caller may use, as OpenAI models",
        responses={200: ModelListSerializer, **openai_error_responses(401, 429)},
    )
    def get(self, request):
        models = openai_compat.available_models(request.user, partner=is_partner_request(request))
        return Response({"object": "list", "data": models})


class ModelDetailView(OpenAIConventions, APIView):
    @extend_schema(
        operation_id="openai_models_retrieve",
        summary="One model, if the caller may use it",
        responses={200: OpenAIModelSerializer, **openai_error_responses(401, 404, 429)},
    )
    def get(self, request, model_id):
        return Response(openai_compat.find_model(request.user, model_id, partner=is_partner_request(request)))


def _prepare(request) -> openai_compat.PreparedCompletion:
    serializer = ChatCompletionRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return openai_compat.prepare(
        user=request.user, partner=is_partner_request(request), request=serializer.to_request()
    )


def _data_message(chunk: dict) -> str:
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


class ChatCompletionsView(OpenAIConventions, AsyncAPIView):
    @extend_schema(
        operation_id="openai_chat_completions_create",
        summary="OpenAI chat completions: rag:<rag_key> through the knowledge chat, dining through the dining turn",
        description=(
            "With `stream: true` the answer is Server-Sent Events of `chat.completion.chunk` objects "
            "(`data: {...}`), the last with `finish_reason` and the extra field, a usage chunk when "
            "`stream_options.include_usage`, then `data: [DONE]`."
        ),
        request=ChatCompletionRequestSerializer,
        responses={
            200: OpenApiResponse(ChatCompletionSerializer, description="`chat.completion`, or an SSE stream"),
            (200, "text/event-stream"): OpenApiTypes.STR,
            **openai_error_responses(400, 401, 403, 404, 429),
        },
    )
    async def post(self, request):
        prepared = await sync_to_async(_prepare)(request)
        if prepared.request.stream:
            return sse_response(openai_compat.astream(prepared), _data_message, last="data: [DONE]\n\n")
        return Response(await openai_compat.acomplete(prepared))
