"""Partner chat API (seed 000): warm-up, streamed messages, and reading a session's tuning log.

The message endpoint streams Server-Sent Events from an async view under ASGI. It reuses the
knowledge chat's `AsyncAPIView`: DRF's authentication (the project's classes: partner API key,
token, session), permission and throttle checks and input validation run in a thread before the
stream starts, so a bad request still gets a JSON 4xx in the project's error format; the answer is
then streamed from the event loop without holding a worker thread or a database connection.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from chat.api.knowledge_serializers import ServerSentEventSerializer
from chat.api.knowledge_views import AsyncAPIView, sse_response
from chat.api.partner_serializers import (
    PartnerMessageSerializer,
    PartnerSessionSerializer,
    PartnerWarmupResponseSerializer,
    PartnerWarmupSerializer,
)
from chat.services import partner_chat
from config.api.permissions import IsPartner, IsPartnerOrStaff, is_partner_request
from config.api.schema import error_responses

SSE_DESCRIPTION = (
    'Server-Sent Events: `event: token` with `{"text"}` for each piece of the answer, then one `event: done` '
    "with `{session_id, message_count, answer, sources, usage, model}`, or `event: error` with `{code, message}`. "
    "The exchange is appended to the session's tuning log when the answer completes. Invalid input, an "
    "unknown session (warm it up first) or a missing key are refused with a JSON 4xx before the stream starts."
)


def client_ip(request) -> str:
    """The caller's address, honouring REST_FRAMEWORK NUM_PROXIES like the rate limiter does."""
    return BaseThrottle().get_ident(request)


class PartnerWarmupView(APIView):
    permission_classes = [IsPartner]

    @extend_schema(
        summary="Open (warm up) a partner chat session",
        description="Creates the session's tuning-log row once per (partner, session_id): 201 when created, "
        "200 when it existed (then only an empty initial_data is filled). Only client_ip and referer of "
        "client_info are kept, and only a summary of initial_data (has_health_data, health_summary_length, "
        "patient_info_keys).",
        request=PartnerWarmupSerializer,
        responses={201: PartnerWarmupResponseSerializer, 200: PartnerWarmupResponseSerializer},
    )
    def post(self, request):
        serializer = PartnerWarmupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        client_info = data.get("client_info", {})
        result = partner_chat.warm_up(
            partner_id=request.user.partner_id,
            session_id=data["session_id"],
            hospital_id=data["hospital_id"],
            user_uuid=data["user_uuid"],
            client_ip=client_info.get("client_ip") or client_ip(request),
            referer=client_info.get("referer") or request.headers.get("Referer", ""),
            initial_data=data.get("initial_data"),
        )
        return Response(
            PartnerWarmupResponseSerializer(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _start_message(request) -> partner_chat.PreparedTurn:
    serializer = PartnerMessageSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        return partner_chat.prepare_turn(
            partner_id=request.user.partner_id,
            session_id=serializer.validated_data["session_id"],
            message=serializer.validated_data["message"],
            params=serializer.generation_params(),
        )
    except partner_chat.SessionNotFound:
        raise NotFound(_("No such session for this partner; call /partners/chat/warmup first.")) from None


class PartnerMessageView(AsyncAPIView):
    permission_classes = [IsPartner]

    @extend_schema(
        summary="Send a message in a partner session; the answer streams as Server-Sent Events",
        description=SSE_DESCRIPTION,
        request=PartnerMessageSerializer,
        responses={
            (200, "text/event-stream"): ServerSentEventSerializer,
            **error_responses(**{"404": "`not_found`: no such session for this partner; warm it up first."}),
        },
    )
    async def post(self, request):
        # Validation, retrieval and prompt building in a thread; its DB connection is released before streaming.
        turn = await partner_chat.db_step(_start_message)(request)
        return sse_response(partner_chat.stream_turn(turn))


class PartnerSessionView(APIView):
    """A session's tuning-log row: for the partner that owns it (404 for any other) and for staff."""

    permission_classes = [IsPartnerOrStaff]

    @extend_schema(
        summary="Read a partner chat session (tuning log)",
        parameters=[OpenApiParameter("partner_id", str, description="staff: which partner's session")],
        responses=PartnerSessionSerializer,
    )
    def get(self, request, session_id):
        partner_id = request.user.partner_id if is_partner_request(request) else request.query_params.get("partner_id")
        try:
            session = partner_chat.find_session(session_id=session_id, partner_id=partner_id)
        except partner_chat.SessionNotFound:
            raise NotFound(_("No such session.")) from None
        except partner_chat.AmbiguousSession:
            message = _("Several partners use this session id; pass partner_id.")
            raise ValidationError({"partner_id": [message]}) from None
        return Response(PartnerSessionSerializer(session).data)
