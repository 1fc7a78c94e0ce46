"""Feedback on answers (seed 003 §8.3): one view per chat, each validates, finds the caller's turn
(404 for unknown or someone else's) and calls `ml_training.services.feedback.give_feedback`."""

from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.permissions import IsPartner, IsStaff, is_partner_request
from config.api.schema import file_responses
from ml_training.api.serializers import (
    ExportQuerySerializer,
    FeedbackResultSerializer,
    FeedbackSerializer,
    KnowledgeFeedbackSerializer,
)
from ml_training.services import feedback
from ml_training.services.export import CONTENT_TYPES, ExportQuery, export_records, render

FEEDBACK_DESCRIPTION = (
    "One feedback per caller and turn: sending it again replaces it (200; 201 the first time). "
    "Unknown turns and other users' turns are 404; invalid values are 400."
)


class TrainingDataExportView(APIView):
    """Staff: the training-data queue, masked, streamed as the file the export command writes."""

    permission_classes = [IsStaff]

    @extend_schema(
        summary="Export training data (staff; masked; streamed)",
        parameters=[ExportQuerySerializer],
        responses=file_responses(CONTENT_TYPES),
    )
    def get(self, request):
        params = ExportQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        query = ExportQuery(values["model_type"], days=values["days"], min_quality=values["min_quality"])
        response = StreamingHttpResponse(
            render(export_records(query), values["file_format"], values["model_type"]),
            content_type=CONTENT_TYPES[values["file_format"]],
        )
        filename = f"{values['model_type']}_training_data.{values['file_format']}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class IsEndUser(BasePermission):
    message = gettext_lazy("Feedback on this chat needs an end-user token, not a partner key.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and not is_partner_request(request))


class FeedbackView(APIView):
    """POST validates the body with `serializer_class`, finds the caller's turn with `target()`
    (404 for unknown or someone else's) and stores the feedback."""

    serializer_class = None

    def target(self, request, **kwargs) -> feedback.FeedbackTarget:
        raise NotImplementedError

    def post(self, request, **kwargs):
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = feedback.FeedbackInput(**serializer.validated_data)
        row, created = feedback.give_feedback(self.target(request, **kwargs), given)
        return Response(FeedbackResultSerializer(row).data, status=status.HTTP_201_CREATED if created else 200)


def feedback_schema(summary: str, description: str, serializer):
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=f"{FEEDBACK_DESCRIPTION} {description}",
            request=serializer,
            responses={200: FeedbackResultSerializer, 201: FeedbackResultSerializer},
        )
    )


@feedback_schema(
    "Rate a dining chat turn (thumbs, 1-5, comment)",
    "A thumbs down or a rating of 1-2 puts the turn on the review queue.",
    FeedbackSerializer,
)
class DiningTurnFeedbackView(FeedbackView):
    permission_classes = [IsEndUser]
    serializer_class = FeedbackSerializer

    def target(self, request, conversation_id):
        return feedback.check_dining_turn(user=request.user, conversation_id=conversation_id)


@feedback_schema(
    "Rate a knowledge chat answer (thumbs, comment, which source helped)",
    "Votes move the answer's sources' quality scores.",
    KnowledgeFeedbackSerializer,
)
class KnowledgeAnswerFeedbackView(FeedbackView):
    permission_classes = [IsEndUser]
    serializer_class = KnowledgeFeedbackSerializer

    def target(self, request, message_id):
        return feedback.check_knowledge_answer(user=request.user, message_id=message_id)


@feedback_schema(
    "Rate a partner chat session turn (with the partner key)",
    "`turn` is the exchange number, 1 for the first question and answer.",
    FeedbackSerializer,
)
class PartnerTurnFeedbackView(FeedbackView):
    permission_classes = [IsPartner]
    serializer_class = FeedbackSerializer

    def target(self, request, session_id, turn):
        return feedback.check_partner_turn(partner=request.user.partner, session_id=session_id, turn=turn)
