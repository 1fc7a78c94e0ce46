"""The OpenAI chat completions wire format, as far as the chatbots can honour it.

Fields OpenAI defines that do not apply here (tools, logprobs, penalties, seed, stop...) are
ignored, as OpenAI-compatible servers commonly do; `n` other than 1 is refused.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from chat.api.dining_serializers import ChatContextSerializer, LocationSerializer
from chat.api.knowledge_serializers import GenerationParamsSerializer, params_of
from chat.services import knowledge_chat
from chat.services.openai_compat import CompletionRequest

MAX_MESSAGES = 200
MAX_CONTENT_CHARS = 20_000
ROLES = ("system", "developer", "user", "assistant")
REASONING_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


class ChatMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES)
    content = serializers.JSONField(
        allow_null=True, help_text='A string, or a list of `{"type": "text", "text": ...}` parts'
    )
    name = serializers.CharField(required=False, max_length=100)

    def validate_content(self, content) -> str:
        """The message's text: a string, or the text parts of a list joined (other parts are refused)."""
        if content is None:
            return ""
        if isinstance(content, list):
            texts = []
            for part in content:
                if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise serializers.ValidationError(_("Only text content parts are supported."))
                texts.append(part["text"])
            content = "".join(texts)
        if not isinstance(content, str):
            raise serializers.ValidationError(_("Must be a string or a list of text parts."))
        if len(content) > MAX_CONTENT_CHARS:
            raise serializers.ValidationError(_("Must be at most %(limit)d characters.") % {"limit": MAX_CONTENT_CHARS})
        return content


class StreamOptionsSerializer(serializers.Serializer):
    include_usage = serializers.BooleanField(required=False, default=False)


class ChatCompletionRequestSerializer(GenerationParamsSerializer):
    model = serializers.CharField(max_length=300, help_text="`rag:<rag_key>` or `dining` (see GET /v1/models)")
    messages = ChatMessageSerializer(many=True, allow_empty=False, max_length=MAX_MESSAGES)
    stream = serializers.BooleanField(required=False, default=False)
    stream_options = StreamOptionsSerializer(required=False, allow_null=True)
    n = serializers.IntegerField(required=False, default=1, help_text="Only 1 is supported")
    max_completion_tokens = serializers.IntegerField(
        required=False,
        min_value=knowledge_chat.MAX_TOKENS_RANGE[0],
        max_value=knowledge_chat.MAX_TOKENS_RANGE[1],
        help_text="The same as max_tokens",
    )
    reasoning_effort = serializers.ChoiceField(choices=list(REASONING_EFFORTS), required=False)
    user = serializers.CharField(
        required=False, max_length=128, help_text="Partner keys: the user_uuid of a new session; otherwise ignored"
    )
    location = LocationSerializer(required=False, allow_null=True, help_text="Extension for `dining`")
    context = ChatContextSerializer(required=False, allow_null=True, help_text="Extension for `dining`")

    def validate_n(self, value):
        if value != 1:
            raise serializers.ValidationError(_("Only n=1 is supported."))
        return value

    def to_request(self) -> CompletionRequest:
        data = self.validated_data
        params = params_of(data)
        if "max_completion_tokens" in data:
            params.setdefault("max_tokens", data["max_completion_tokens"])
        if "reasoning_effort" in data:
            params.setdefault("reasoning_level", REASONING_EFFORTS[data["reasoning_effort"]])
        return CompletionRequest(
            model=data["model"],
            messages=[{"role": m["role"], "content": m["content"]} for m in data["messages"]],
            user=data.get("user", ""),
            stream=data["stream"],
            include_usage=bool((data.get("stream_options") or {}).get("include_usage")),
            params=params,
            location=data.get("location"),
            context=data.get("context"),
        )


# --- responses (for the schema) ---------------------------------------------------------------


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="model")
    created = serializers.IntegerField(help_text="Unix time (for rag: the first document)")
    owned_by = serializers.CharField()


class ModelListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = ModelSerializer(many=True)


class AssistantMessageSerializer(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    message = AssistantMessageSerializer()
    finish_reason = serializers.CharField()
    logprobs = serializers.JSONField(allow_null=True)


class UsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class KnowledgeExtraSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    message_id = serializers.IntegerField(allow_null=True, help_text="The answer's message (knowledge feedback)")
    sources = serializers.ListField(child=serializers.DictField())
    route = serializers.CharField()


class DiningExtraSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField(allow_null=True, help_text="The turn's conversation row (feedback)")
    session_id = serializers.UUIDField()
    recommendations = serializers.ListField(child=serializers.DictField())
    session_info = serializers.DictField()
    search = serializers.DictField()
    coupons_issued = serializers.ListField(child=serializers.DictField())


class PartnerExtraSerializer(serializers.Serializer):
    session_id = serializers.CharField(help_text="The partner chat session (tuning log) of the thread")
    message_count = serializers.IntegerField(allow_null=True, help_text="This turn's number in the session")
    sources = serializers.ListField(child=serializers.DictField())


class ChatCompletionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="chatcmpl-rag-<question message id> or chatcmpl-dining-<conversation id>")
    object = serializers.CharField(default="chat.completion")
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = ChoiceSerializer(many=True)
    usage = UsageSerializer()
    knowledge = KnowledgeExtraSerializer(required=False, help_text="rag: models only")
    dining = DiningExtraSerializer(required=False, help_text="The dining model only")
    partner = PartnerExtraSerializer(required=False, help_text="A partner key's own model only")


class OpenAIErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    type = serializers.CharField(help_text="invalid_request_error, authentication_error, permission_error, …")
    param = serializers.CharField(allow_null=True, help_text="the request field at fault, if one is")
    code = serializers.CharField(allow_null=True)


class OpenAIErrorSerializer(serializers.Serializer):
    error = OpenAIErrorDetailSerializer()


OPENAI_ERRORS = {
    400: "invalid_request_error: a bad field (`param` names it), `n` other than 1, malformed JSON",
    401: "authentication_error: no or a bad token / partner key",
    403: "permission_error: e.g. a partner key asking for `dining`",
    404: "model_not_found (`param`: model) or an unknown path",
    429: "rate_limit_error, with `Retry-After`",
}


def openai_error_responses(*statuses: int) -> dict:
    """OpenAI-shaped error responses for `extend_schema(responses=...)`."""
    return {status: OpenApiResponse(OpenAIErrorSerializer, description=OPENAI_ERRORS[status]) for status in statuses}
