"""Knowledge chat API: plain and streamed (SSE) answers, regeneration, and the user's conversations.

The streaming endpoints are async views: DRF's authentication, permission and throttle checks and
input validation run in a thread (`sync_to_async`) before the stream starts, so bad input gets a
normal 4xx in the project's error format; the answer is then streamed from the event loop, so a
slow or idle client holds no worker thread.
"""

import inspect
import json
from contextlib import aclosing

from asgiref.sync import sync_to_async
from django.db.models import Count
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.knowledge_filters import KnowledgeConversationFilterSet
from chat.api.knowledge_serializers import (
    KnowledgeChatRequestSerializer,
    KnowledgeChatResponseSerializer,
    KnowledgeConversationDetailSerializer,
    KnowledgeConversationSerializer,
    RegenerateRequestSerializer,
    ServerSentEventSerializer,
    params_of,
)
from chat.models import KnowledgeConversation
from chat.services import knowledge_chat
from config.api.filters import query_flag
from config.api.permissions import IsEndUser
from config.api.schema import error_responses


class AsyncAPIView(APIView):
    """An APIView whose handlers are coroutines (for streaming responses under ASGI).

    DRF's own dispatch is synchronous; this one runs the same steps - authentication, permissions,
    throttles, exception handling in the project format - with the blocking parts in a thread.
    """

    def perform_content_negotiation(self, request, force=False):
        # SSE clients send `Accept: text/event-stream`; errors before the stream are still JSON.
        return super().perform_content_negotiation(request, force=True)

    async def dispatch(self, request, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await sync_to_async(self.initial)(request, *args, **kwargs)
            handler = getattr(self, request.method.lower(), None)
            if request.method.lower() not in self.http_method_names or handler is None:
                handler = self.http_method_not_allowed
            if not inspect.iscoroutinefunction(handler):
                handler = sync_to_async(handler)
            response = await handler(request, *args, **kwargs)
        except Exception as exc:
            response = await sync_to_async(self.handle_exception)(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


def named_event(event) -> str:
    return f"event: {event.name}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"


def sse_response(events, encode=named_event, *, last: str = "") -> StreamingHttpResponse:
    """Server-Sent Events from an async iterator (`StreamEvent`s by default), each made a message by
    `encode`; `last` is sent after the final one (OpenAI's `data: [DONE]`)."""

    async def stream():
        # Closing this generator (the client went away) must close `events` at once, so that the
        # turn stops and stores its partial answer now rather than whenever it is garbage-collected.
        async with aclosing(events) as source:
            async for event in source:
                yield encode(event)
        if last:
            yield last

    response = StreamingHttpResponse(stream(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


def _chat_response(result: knowledge_chat.TurnResult) -> Response:
    return Response(
        KnowledgeChatResponseSerializer(
            {
                "conversation_id": result.conversation_id,
                "message_id": result.message_id,
                "answer": result.answer,
                "sources": result.sources,
                "usage": result.usage,
                "route": result.route,
            }
        ).data
    )


def _start_turn(request) -> knowledge_chat.Turn:
    serializer = KnowledgeChatRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return knowledge_chat.start_turn(
        user=request.user,
        message=data["message"],
        rag_key=data.get("rag_key", ""),
        rag_type=data.get("rag_type", ""),
        conversation_id=data.get("conversation_id"),
        params=params_of(data),
    )


def _start_regeneration(request) -> knowledge_chat.Turn:
    serializer = RegenerateRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return knowledge_chat.start_regeneration(
        user=request.user, conversation_id=data["conversation_id"], params=params_of(data)
    )


SSE_DESCRIPTION = (
    'Server-Sent Events: `event: token` with `{"text"}` for each piece of the answer, then one `event: done` '
    "with `{conversation_id, message_id, sources, usage, route}`, or `event: error` with `{code, message, "
    "conversation_id, message_id}`. Invalid input is refused with a JSON 4xx before the stream starts."
)


CONVERSATION_ERRORS = error_responses(
    **{"404": "`not_found`: `conversation_id` names no conversation of the caller's."}
)
GENERATION_ERRORS = error_responses(
    **{"503": "`generation_failed`: the model did not answer; the question is stored, ask again or regenerate."}
)


class KnowledgeChatView(APIView):
    permission_classes = [IsEndUser]

    @extend_schema(
        summary="Ask the knowledge base (plain JSON answer)",
        request=KnowledgeChatRequestSerializer,
        responses={200: KnowledgeChatResponseSerializer, **CONVERSATION_ERRORS, **GENERATION_ERRORS},
    )
    def post(self, request):
        return _chat_response(knowledge_chat.answer_turn(_start_turn(request)))


class KnowledgeChatStreamView(AsyncAPIView):
    permission_classes = [IsEndUser]

    @extend_schema(
        summary="Ask the knowledge base, answer streamed as Server-Sent Events",
        description=SSE_DESCRIPTION,
        request=KnowledgeChatRequestSerializer,
        responses={(200, "text/event-stream"): ServerSentEventSerializer, **CONVERSATION_ERRORS},
    )
    async def post(self, request):
        turn = await sync_to_async(_start_turn)(request)
        return sse_response(knowledge_chat.astream_turn(turn))


class KnowledgeRegenerateView(AsyncAPIView):
    permission_classes = [IsEndUser]

    @extend_schema(
        summary="Answer the conversation's last question again (replaces the last answer)",
        description="Plain JSON like /rag/chat; with `?stream=1` the answer is streamed. " + SSE_DESCRIPTION,
        request=RegenerateRequestSerializer,
        parameters=[OpenApiParameter("stream", bool, description="1 or true to stream the answer as SSE")],
        responses={200: KnowledgeChatResponseSerializer, **CONVERSATION_ERRORS, **GENERATION_ERRORS},
    )
    async def post(self, request):
        stream = query_flag(request.query_params, "stream")  # a bad value is refused before the answer is replaced
        turn = await sync_to_async(_start_regeneration)(request)
        if stream:
            return sse_response(knowledge_chat.astream_turn(turn))
        result = await sync_to_async(knowledge_chat.answer_turn)(turn)
        return _chat_response(result)


class KnowledgeConversationListView(generics.ListAPIView):
    """The signed-in user's own conversations, most recently active first."""

    serializer_class = KnowledgeConversationSerializer
    filterset_class = KnowledgeConversationFilterSet
    permission_classes = [IsEndUser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return KnowledgeConversation.objects.none()
        return (
            KnowledgeConversation.objects.filter(user=self.request.user)
            .annotate(message_count=Count("messages"))
            .order_by("-updated_at")
        )


class KnowledgeConversationDetailView(generics.RetrieveAPIView):
    """One conversation with its messages: the owner's (404 for anyone else's); staff may read any."""

    serializer_class = KnowledgeConversationDetailSerializer
    permission_classes = [IsEndUser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KnowledgeConversation.objects.none()
        conversations = KnowledgeConversation.objects.annotate(message_count=Count("messages")).prefetch_related(
            "messages"
        )
        return conversations if self.request.user.is_staff else conversations.filter(user=self.request.user)
