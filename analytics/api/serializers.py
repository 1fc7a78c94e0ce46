from rest_framework import serializers

from analytics.models import ChatStatistics, ConversationHistory, MessageLog


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
            "id", "conversation_id", "channel", "collection_name", "user_hash", "metadata", "has_error",
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
