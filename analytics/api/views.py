"""Staff-only analytics API: message logs, conversation history, statistics, summary, timeline,
top queries, knowledge gaps and streamed exports (seed 002 §4.4)."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, views, viewsets
from rest_framework.response import Response

from analytics.api.filters import ChatStatisticsFilterSet, ConversationHistoryFilterSet, MessageLogFilterSet
from analytics.api.serializers import (
    ArchiveQuerySerializer,
    ChatStatisticsSerializer,
    ConversationHistoryListSerializer,
    ConversationHistorySerializer,
    ExportQuerySerializer,
    KnowledgeGapSerializer,
    MessageLogSerializer,
    RangeQuerySerializer,
    SearchQualityQuerySerializer,
    SearchQualitySerializer,
    SummarySerializer,
    TimelineSerializer,
    TopQuerySerializer,
)
from analytics.models import ChatStatistics, ConversationHistory, MessageLog
from analytics.services import archives, exports, reports
from analytics.services.search_quality import search_quality
from config.api.permissions import IsStaff
from config.api.schema import file_responses

KNOWLEDGE_GAPS_LIMIT = 500


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


def range_query(request, serializer_class=RangeQuerySerializer) -> dict:
    """The validated range query (400 in the project's format when it is malformed or reversed)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _scope(query: dict) -> dict:
    return {"collection": query["collection"], "channel": query["channel"]}


@extend_schema(
    summary="Usage and quality numbers of a range (seed 002 §7.1), merged from the rollups",
    parameters=[RangeQuerySerializer],
    responses=SummarySerializer,
)
class SummaryView(views.APIView):
    permission_classes = [IsStaff]

    def get(self, request):
        query = range_query(request)
        return Response(SummarySerializer(reports.summary(query["range"], **_scope(query))).data)


@extend_schema(
    summary="One point per hour or day of a range (hourly ranges: at most 31 days)",
    parameters=[RangeQuerySerializer],
    responses=TimelineSerializer,
)
class TimelineView(views.APIView):
    permission_classes = [IsStaff]

    def get(self, request):
        query = range_query(request)
        points = reports.timeline(query["range"], **_scope(query))
        return Response(TimelineSerializer({"range": query["range"].as_dict(), "points": points}).data)


@extend_schema(
    summary="Search quality of one collection: scores, no-answer share, most cited and never retrieved documents",
    parameters=[SearchQualityQuerySerializer],
    responses=SearchQualitySerializer,
)
class SearchQualityView(views.APIView):
    permission_classes = [IsStaff]

    def get(self, request):
        query = range_query(request, SearchQualityQuerySerializer)
        report = search_quality(query["range"], collection=query["collection"])
        return Response(SearchQualitySerializer(report).data)


@extend_schema(summary="The questions asked most often in a range", parameters=[RangeQuerySerializer])
class TopQueriesView(generics.ListAPIView):
    serializer_class = TopQuerySerializer
    permission_classes = [IsStaff]
    filter_backends = []  # the range query is validated by RangeQuerySerializer

    def get_queryset(self):
        query = range_query(self.request)
        return reports.top_queries(query["range"], **_scope(query))


@extend_schema(
    summary="Questions answered badly in a range (nothing found, error, poor retrieval, regenerated)",
    parameters=[RangeQuerySerializer],
)
class KnowledgeGapsView(generics.ListAPIView):
    serializer_class = KnowledgeGapSerializer
    permission_classes = [IsStaff]
    filter_backends = []

    def get_queryset(self):
        query = range_query(self.request)
        return reports.knowledge_gaps(query["range"], **_scope(query), limit=KNOWLEDGE_GAPS_LIMIT)


def streamed(rows, fields: tuple[str, ...], output: str, name: str) -> StreamingHttpResponse:
    """The rows as a downloaded CSV/JSON file, written while they are read."""
    response = StreamingHttpResponse(exports.stream(rows, fields, output), content_type=exports.CONTENT_TYPES[output])
    response["Content-Disposition"] = f'attachment; filename="{name}.{output}"'
    return response


class _ExportView(generics.GenericAPIView):
    """A streamed CSV or JSON file of the filtered rows (`output=csv|json`); memory stays flat."""

    permission_classes = [IsStaff]
    fields: tuple[str, ...] = ()
    name = ""

    def get(self, request):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        output = query.validated_data["output"]
        rows = exports.rows_of(self.filter_queryset(self.get_queryset()), self.fields)
        return streamed(rows, self.fields, output, f"{self.name}-{timezone.localtime():%Y%m%d-%H%M}")


@extend_schema(
    summary="Export message logs (the log list's filters) as streamed CSV or JSON",
    parameters=[ExportQuerySerializer],
    responses=file_responses(exports.CONTENT_TYPES, fields=exports.LOG_FIELDS),
)
class MessageLogExportView(_ExportView):
    queryset = MessageLog.objects.order_by("created_at", "id")
    filterset_class = MessageLogFilterSet
    fields = exports.LOG_FIELDS
    name = "message-logs"


@extend_schema(
    summary="Export hourly/daily statistics (the stats list's filters) as streamed CSV or JSON",
    parameters=[ExportQuerySerializer],
    responses=file_responses(exports.CONTENT_TYPES, fields=exports.STATISTICS_FIELDS),
)
class ChatStatisticsExportView(_ExportView):
    queryset = ChatStatistics.objects.order_by("period_start", "channel", "collection_name")
    filterset_class = ChatStatisticsFilterSet
    fields = exports.STATISTICS_FIELDS
    name = "chat-statistics"


class _ArchiveReadView(views.APIView):
    """Rows of a date range from the live table and the compressed archives alike, streamed."""

    permission_classes = [IsStaff]
    kind = ""
    fields: tuple[str, ...] = ()

    def get(self, request):
        query = ArchiveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        filters = {name: params[name] for name in ("channel",) if params[name]}
        if params["collection"]:
            filters["collection_name"] = params["collection"]
        rows = archives.read_range(self.kind, params["date_from"], params["date_to"], **filters)
        return streamed(rows, self.fields, params["output"], f"{self.kind}-{params['date_from']}-{params['date_to']}")


@extend_schema(
    summary="Message logs of a date range, live and archived alike (streamed CSV or JSON)",
    parameters=[ArchiveQuerySerializer],
    responses=file_responses(exports.CONTENT_TYPES, fields=exports.LOG_FIELDS),
)
class ArchivedLogsView(_ArchiveReadView):
    kind = archives.LOGS
    fields = exports.LOG_FIELDS


@extend_schema(
    summary="Conversation histories of a date range, live and archived alike (streamed CSV or JSON)",
    parameters=[ArchiveQuerySerializer],
    responses=file_responses(exports.CONTENT_TYPES, fields=exports.CONVERSATION_FIELDS),
)
class ArchivedConversationsView(_ArchiveReadView):
    kind = archives.CONVERSATIONS
    fields = exports.CONVERSATION_FIELDS
