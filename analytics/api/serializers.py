from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from analytics.models import Channel, ChatStatistics, ConversationHistory, MessageLog
from analytics.services import exports, reports
from analytics.services.statistics import DAY_VALIDATORS


class MessageLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageLog
        fields = [
            "log_id", "session_id", "channel", "collection_name", "message_type", "content", "reasoning_level",
            "llm_model", "llm_params", "retrieval_info", "performance", "error", "regenerated", "created_at",
        ]  # fmt: skip


class MetadataSerializer(serializers.Serializer):
    total_turns = serializers.IntegerField()
    is_sampled = serializers.BooleanField()
    retention_priority = serializers.CharField()
    summary = serializers.CharField()


class ConversationHistoryListSerializer(serializers.ModelSerializer):
    metadata = MetadataSerializer(read_only=True)

    class Meta:
        model = ConversationHistory
        fields = [
            "id", "conversation_id", "channel", "collection_name", "user_hash", "metadata", "summary", "has_error",
            "regenerated", "min_retrieval_score", "created_at", "updated_at",
        ]  # fmt: skip


class ConversationHistorySerializer(ConversationHistoryListSerializer):
    """The seed's conversation record: messages with retrieved docs, plus the metadata object."""

    class Meta(ConversationHistoryListSerializer.Meta):
        fields = [*ConversationHistoryListSerializer.Meta.fields, "messages"]


class ChatStatisticsSerializer(serializers.ModelSerializer):
    metrics = serializers.SerializerMethodField()
    performance_percentiles = serializers.SerializerMethodField()

    class Meta:
        model = ChatStatistics
        fields = [
            "period", "period_start", "date", "hour", "channel", "collection_name", "metrics",
            "performance_percentiles", "top_queries", "computed_at",
        ]  # fmt: skip

    def get_metrics(self, obj) -> dict:
        return {
            "total_queries": obj.total_queries,
            "unique_sessions": obj.unique_sessions,
            "active_users": obj.active_users,
            "avg_response_time_ms": obj.avg_response_time_ms,
            "total_tokens": obj.total_tokens,
            "error_count": obj.error_count,
            "error_rate": obj.error_rate,
            "partial_count": obj.partial_count,
            "regeneration_count": obj.regeneration_count,
            "no_answer_count": obj.no_answer_count,
        }

    def get_performance_percentiles(self, obj) -> dict:
        return {"p50": obj.p50_response_time_ms, "p95": obj.p95_response_time_ms, "p99": obj.p99_response_time_ms}


class RangeQuerySerializer(serializers.Serializer):
    """The query of the summary, timeline, top-queries and knowledge-gaps endpoints.

    `validate` resolves it into `reports.Range` (key `range`): the last `days`, or the local days
    `date_from`..`date_to`. A reversed range, or an hourly one longer than 31 days, is refused.
    """

    period = serializers.ChoiceField(choices=[reports.HOURLY, reports.DAILY], default=reports.DAILY)
    days = serializers.IntegerField(required=False, min_value=1, max_value=reports.MAX_DAYS)
    date_from = serializers.DateField(
        required=False, help_text="first local day, YYYY-MM-DD", validators=DAY_VALIDATORS
    )
    date_to = serializers.DateField(required=False, help_text="last local day, YYYY-MM-DD", validators=DAY_VALIDATORS)
    collection = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="rag_key, chatbot or partner id"
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        attrs["range"] = reports.resolve_range(
            period=attrs["period"], days=attrs.get("days"), date_from=attrs.get("date_from"),
            date_to=attrs.get("date_to"),
        )  # fmt: skip
        return attrs


_COLLECTION_NEEDED = gettext_lazy("The search-quality report is per collection: name one.")


class SearchQualityQuerySerializer(RangeQuerySerializer):
    """The search-quality report is per collection, so `collection` is required there."""

    collection = serializers.CharField(
        help_text="rag_key, chatbot or partner id",
        error_messages={"required": _COLLECTION_NEEDED, "blank": _COLLECTION_NEEDED},
    )


class ResponseTimeSerializer(serializers.Serializer):
    avg = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class ScoreBucketSerializer(serializers.Serializer):
    lower = serializers.FloatField(help_text="lower edge of the 0.05 wide bucket")
    count = serializers.IntegerField()


class TopScoreSerializer(serializers.Serializer):
    avg = serializers.FloatField(allow_null=True)
    histogram = ScoreBucketSerializer(many=True)


class MetricsSerializer(serializers.Serializer):
    queries = serializers.IntegerField(help_text="questions answered; a regeneration is not a new question")
    answers = serializers.IntegerField(help_text="answers given, regenerations included")
    response_time_ms = ResponseTimeSerializer(help_text="percentiles from merged histograms, within 1 %")
    tokens = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField(allow_null=True)
    partial_answers = serializers.IntegerField(help_text="answers cut short by a client disconnect (not errors)")
    partial_rate = serializers.FloatField(allow_null=True)
    regenerations = serializers.IntegerField()
    regeneration_ratio = serializers.FloatField(allow_null=True, help_text="regenerations per query")
    no_answers = serializers.IntegerField()
    no_answer_rate = serializers.FloatField(allow_null=True)


class CollectionMetricsSerializer(MetricsSerializer):
    channel = serializers.CharField()
    collection_name = serializers.CharField()
    top_score = TopScoreSerializer()


class FeedbackSerializer(serializers.Serializer):
    thumbs_up = serializers.IntegerField(allow_null=True)
    thumbs_down = serializers.IntegerField(allow_null=True)
    feedback_rate = serializers.FloatField(allow_null=True)


class RangeSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SummarySerializer(MetricsSerializer):
    range = RangeSerializer()
    collection = serializers.CharField()
    channel = serializers.CharField()
    top_score = TopScoreSerializer()
    unique_sessions = serializers.IntegerField(help_text="exact for one rollup row, else HyperLogLog (1.6 %)")
    active_users = serializers.IntegerField(help_text="exact for one rollup row, else HyperLogLog (1.6 %)")
    avg_session_length = serializers.FloatField(allow_null=True, help_text="answers per session")
    feedback = FeedbackSerializer(help_text="null until thumbs are logged with the messages")
    by_collection = CollectionMetricsSerializer(many=True)


class TimelinePointSerializer(MetricsSerializer):
    start = serializers.DateTimeField()
    unique_sessions = serializers.IntegerField()
    active_users = serializers.IntegerField()


class TimelineSerializer(serializers.Serializer):
    range = RangeSerializer()
    points = TimelinePointSerializer(many=True)


class TopQuerySerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    sessions = serializers.IntegerField()
    last_asked_at = serializers.DateTimeField()


class GapReasonsSerializer(serializers.Serializer):
    no_answer = serializers.IntegerField()
    error = serializers.IntegerField()
    low_score = serializers.IntegerField()
    regenerated = serializers.IntegerField()


class KnowledgeGapSerializer(serializers.Serializer):
    question = serializers.CharField()
    count = serializers.IntegerField()
    reasons = GapReasonsSerializer()
    last_asked_at = serializers.DateTimeField()
    collections = serializers.ListField(child=serializers.CharField())


class ExportQuerySerializer(serializers.Serializer):
    output = serializers.ChoiceField(choices=exports.FORMATS, default=exports.CSV, help_text="csv or json")


class ArchiveQuerySerializer(ExportQuerySerializer):
    """Which days to read from live rows and archives alike."""

    date_from = serializers.DateField(help_text="first local day, YYYY-MM-DD", validators=DAY_VALIDATORS)
    date_to = serializers.DateField(help_text="last local day, YYYY-MM-DD", validators=DAY_VALIDATORS)
    collection = serializers.CharField(required=False, default="", allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": _("date_from is after date_to.")})
        if (attrs["date_to"] - attrs["date_from"]).days >= reports.MAX_DAYS:
            message = _("At most %(limit)d days at a time.") % {"limit": reports.MAX_DAYS}
            raise serializers.ValidationError({"date_to": message})
        return attrs


class CitedDocumentSerializer(serializers.Serializer):
    doc_id = serializers.CharField()
    document_id = serializers.IntegerField(allow_null=True)
    filename = serializers.CharField()
    times = serializers.IntegerField()
    mean_score = serializers.FloatField(allow_null=True)


class UnretrievedDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    doc_id = serializers.CharField()
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()


class SearchQualitySerializer(serializers.Serializer):
    range = RangeSerializer()
    collection = serializers.CharField()
    answers = serializers.IntegerField()
    no_answer_rate = serializers.FloatField(allow_null=True)
    top_score = TopScoreSerializer()
    most_cited = CitedDocumentSerializer(many=True)
    never_retrieved = UnretrievedDocumentSerializer(many=True, help_text="the first 100, oldest first")
