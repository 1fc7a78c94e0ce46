"""Requests and responses of the partner chat API (seed 000)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from chat.api.knowledge_serializers import GenerationParamsSerializer, params_of
from chat.models import PartnerChatTuningLog

MAX_MESSAGE_LENGTH = 4000


class ClientInfoSerializer(serializers.Serializer):
    """What the partner may tell about its end user's client; every other key is dropped (seed 000 §4)."""

    client_ip = serializers.IPAddressField(required=False, allow_blank=True)
    referer = serializers.CharField(required=False, allow_blank=True, max_length=2000, trim_whitespace=True)


class InitialDataSerializer(serializers.Serializer):
    """Warm-up data. Only a summary of it is stored: never the health data itself."""

    health_data = serializers.JSONField(required=False, help_text="checkup results (text or object)")
    health_summary = serializers.JSONField(required=False, help_text="alias of health_data")
    patient_info = serializers.DictField(required=False, help_text="only the key names are stored")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "세션 시작",
            summary="session_id is yours to choose: a new one per end-user session (a reused id continues it)",
            value={
                "session_id": "<a new id for this session>",
                "hospital_id": "h-001",
                "client_info": {"client_ip": "203.0.113.7", "referer": "https://example.com/checkup"},
                "initial_data": {"health_data": "총콜레스테롤 210 mg/dL, 공복혈당 98 mg/dL"},
            },
            request_only=True,
        )
    ]
)
class PartnerWarmupSerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=255)
    hospital_id = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    user_uuid = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    client_info = ClientInfoSerializer(required=False)
    initial_data = InitialDataSerializer(required=False)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "질문",
            summary="the session_id of your warm-up",
            value={"session_id": "<the id you warmed up>", "message": "내 상태 어떠니?"},
            request_only=True,
        )
    ]
)
class PartnerMessageSerializer(GenerationParamsSerializer):
    """A message plus the knowledge chat's generation parameters (partners may ask for longer answers)."""

    session_id = serializers.CharField(max_length=255)
    message = serializers.CharField(max_length=MAX_MESSAGE_LENGTH)
    max_tokens = serializers.IntegerField(required=False, min_value=1, max_value=8192)

    def generation_params(self) -> dict:
        return params_of(self.validated_data)


class PartnerSessionSerializer(serializers.ModelSerializer):
    partner_id = serializers.CharField(read_only=True)

    class Meta:
        model = PartnerChatTuningLog
        fields = [
            "id", "partner_id", "hospital_id", "user_uuid", "session_id", "client_info", "initial_data",
            "conversation", "message_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class PartnerWarmupSessionSerializer(PartnerSessionSerializer):
    class Meta(PartnerSessionSerializer.Meta):
        fields = [name for name in PartnerSessionSerializer.Meta.fields if name != "conversation"]
        read_only_fields = fields


class PartnerWarmupResponseSerializer(serializers.Serializer):
    """A `WarmupResult`: whether this call created the session, and the session without its conversation."""

    created = serializers.BooleanField()
    session = PartnerWarmupSessionSerializer()
