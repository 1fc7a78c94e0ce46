"""Staff-only analytics API: message logs, conversation history, hourly/daily statistics."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets

from analytics.api.filters import ChatStatisticsFilterSet, ConversationHistoryFilterSet, MessageLogFilterSet
from analytics.api.serializers import (
    ChatStatisticsSerializer,
    ConversationHistoryListSerializer,
    ConversationHistorySerializer,
    MessageLogSerializer,
)
from analytics.models import ChatStatistics, ConversationHistory, MessageLog
from config.api.permissions import IsStaff


class MessageLogViewSet(viewsets.ReadOnlyModelViewSet):
    """Every user and assistant message of every channel, newest first."""

    queryset = MessageLog.objects.order_by("-created_at", "-id")
    serializer_class = MessageLogSerializer
    filterset_class = MessageLogFilterSet
    permission_classes = [IsStaff]
    lookup_field = "log_id"


class ConversationHistoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Conversation histories (user ids hashed), most recently active first; messages on the detail."""

    queryset = ConversationHistory.objects.order_by("-updated_at", "-id")
    filterset_class = ConversationHistoryFilterSet
    permission_classes = [IsStaff]

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.defer("messages") if self.action == "list" else queryset

    def get_serializer_class(self):
        return ConversationHistoryListSerializer if self.action == "list" else ConversationHistorySerializer


@extend_schema(summary="Hourly/daily chat statistics per channel and collection")
class ChatStatisticsView(generics.ListAPIView):
    queryset = ChatStatistics.objects.order_by("-period_start", "channel", "collection_name")
    serializer_class = ChatStatisticsSerializer
    filterset_class = ChatStatisticsFilterSet
    permission_classes = [IsStaff]
