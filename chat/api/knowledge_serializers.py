from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from chat.models import KnowledgeConversation, KnowledgeMessage, RagType
from chat.services import knowledge_chat
from config.api.serializers import NumberField


class GenerationParamsSerializer(serializers.Serializer):
    """Generation parameters within the allowed bounds (all optional; defaults apply)."""

    temperature = NumberField(
        required=False, min_value=knowledge_chat.TEMPERATURE_RANGE[0], max_value=knowledge_chat.TEMPERATURE_RANGE[1]
    )
    top_p = NumberField(
        required=False, min_value=knowledge_chat.TOP_P_RANGE[0], max_value=knowledge_chat.TOP_P_RANGE[1]
    )
    max_tokens = serializers.IntegerField(
        required=False, min_value=knowledge_chat.MAX_TOKENS_RANGE[0], max_value=knowledge_chat.MAX_TOKENS_RANGE[1]
    )
    reasoning_level = serializers.ChoiceField(choices=knowledge_chat.REASONING_LEVELS, required=False)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "새 대화",
            summary="a new conversation: omit conversation_id; send back the one the answer returns to continue",
            value={"message": "급식카드는 어디서 쓸 수 있어?", "rag_key": "dining-guide", "rag_type": "both"},
            request_only=True,
        )
    ]
)
class KnowledgeChatRequestSerializer(GenerationParamsSerializer):
    message = serializers.CharField(max_length=4000, trim_whitespace=True)
    rag_key = serializers.CharField(max_length=255, required=False, help_text="Required for a new conversation")
    rag_type = serializers.ChoiceField(
        choices=RagType.choices, required=False, help_text="Default for a new conversation: both"
    )
    conversation_id = serializers.UUIDField(required=False, allow_null=True, help_text="Omit to start a conversation")

    def validate(self, attrs):
        if not attrs.get("conversation_id") and not attrs.get("rag_key"):
            raise serializers.ValidationError({"rag_key": _("This field is required to start a conversation.")})
        return attrs


class RegenerateRequestSerializer(GenerationParamsSerializer):
    conversation_id = serializers.UUIDField()


def params_of(validated: dict) -> dict:
    return {name: validated[name] for name in GenerationParamsSerializer().fields if name in validated}


class SourceSerializer(serializers.Serializer):
    document_id = serializers.IntegerField()
    doc_id = serializers.CharField()
    chunk_id = serializers.IntegerField()
    score = serializers.FloatField()
    filename = serializers.CharField()


class KnowledgeChatResponseSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    message_id = serializers.IntegerField(allow_null=True)
    answer = serializers.CharField()
    sources = SourceSerializer(many=True)
    usage = serializers.DictField()
    route = serializers.ChoiceField(choices=["rag", "sql"])


class ServerSentEventSerializer(serializers.Serializer):
    """One Server-Sent Event of an answer stream (OpenAPI 3.0: the schema of text/event-stream is per event)."""

    event = serializers.ChoiceField(["token", "done", "error"])
    data = serializers.CharField(help_text="the event's payload as JSON")


class KnowledgeMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = KnowledgeMessage
        fields = [
            "id",
            "role",
            "content",
            "sources",
            "llm_model",
            "llm_params",
            "usage",
            "status",
            "route",
            "latency_ms",
            "created_at",
        ]


class KnowledgeConversationSerializer(serializers.ModelSerializer):
    message_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = KnowledgeConversation
        fields = [
            "id",
            "rag_key",
            "rag_type",
            "title",
            "regeneration_count",
            "message_count",
            "created_at",
            "updated_at",
        ]


class KnowledgeConversationDetailSerializer(KnowledgeConversationSerializer):
    messages = KnowledgeMessageSerializer(many=True, read_only=True)

    class Meta(KnowledgeConversationSerializer.Meta):
        fields = [*KnowledgeConversationSerializer.Meta.fields, "messages"]
