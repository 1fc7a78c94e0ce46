import base64
import binascii

from django.utils.translation import gettext as _
from rest_framework import serializers

from config.api.serializers import JsonObjectField
from rag.models import Document, RagType
from rag.services.access import SEARCH_RAG_TYPES
from rag.services.composition import BOARD_POST, COACHING_NOTE, DOC_SCHEMAS, EVENT_TYPES, PROJECT_DOCUMENT
from rag.services.search import MAX_LIMIT, MODES


class DocumentSerializer(serializers.ModelSerializer):
    chunk_count = serializers.IntegerField(read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)  # null: a shared document

    class Meta:
        model = Document
        fields = [
            "id", "doc_id", "rag_key", "rag_type", "owner_id", "filename", "source_type", "doc_schema", "event_type",
            "status", "status_message", "chunk_count", "content_hash", "embedding_model", "metadata",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "content"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    rag_key = serializers.CharField(max_length=255)
    rag_type = serializers.ChoiceField(choices=RagType.choices, default=RagType.USER_ISOLATED)
    tags = serializers.CharField(required=False, allow_blank=True, default="", help_text="comma separated")
    doc_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)

    def validate_tags(self, value):
        return [tag.strip() for tag in value.split(",") if tag.strip()]


class SearchSerializer(serializers.Serializer):
    rag_key = serializers.CharField(max_length=255)
    rag_type = serializers.ChoiceField(choices=SEARCH_RAG_TYPES, default="both")
    query = serializers.CharField(max_length=2000)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=5)
    mode = serializers.ChoiceField(choices=MODES, default="hybrid")
    filters = JsonObjectField(required=False, default=dict)


class SearchHitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    doc_id = serializers.CharField()
    filename = serializers.CharField()
    content = serializers.CharField()
    score = serializers.FloatField()
    rag_type = serializers.CharField()
    metadata = serializers.DictField()


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)
    notice = serializers.CharField(
        allow_null=True, help_text="set when the rag_key holds no documents the caller can search (e.g. a typo)"
    )


# --- seed 001 sync -----------------------------------------------------------------------------------


class CommentSerializer(serializers.Serializer):
    comment_id = serializers.IntegerField(required=False)
    author_id = serializers.IntegerField(required=False, allow_null=True)
    author_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(required=False, allow_null=True)
    is_coach_only = serializers.BooleanField(default=False)


class AttachmentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    url = serializers.CharField(required=False, allow_blank=True)


class ImageSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, allow_blank=True, default="")
    data = serializers.CharField(help_text="base64 image bytes")

    def validate_data(self, value):
        try:
            return base64.b64decode(value.split(",", 1)[-1] if value.startswith("data:") else value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError(_("Not valid base64.")) from exc


class ImageDescriptionSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, allow_blank=True, default="")
    caption = serializers.CharField()


class _RecordBase(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    content = serializers.CharField(required=False, allow_blank=True, default="")
    batch_id = serializers.IntegerField(required=False, allow_null=True)
    batch_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    author_id = serializers.IntegerField(required=False, allow_null=True)
    updated_at = serializers.DateTimeField(required=False, allow_null=True)
    image_urls = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    comments = CommentSerializer(many=True, required=False, default=list)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for key, value in list(values.items()):  # JSON-ready metadata
            if hasattr(value, "isoformat"):
                values[key] = value.isoformat()
        for comment in values.get("comments", []):
            if comment.get("created_at"):
                comment["created_at"] = comment["created_at"].isoformat()
        return values


class BoardPostRecord(_RecordBase):
    post_id = serializers.IntegerField()
    board_id = serializers.IntegerField(required=False, allow_null=True)
    board_type = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    board_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class CoachingNoteRecord(_RecordBase):
    note_id = serializers.IntegerField()
    project_id = serializers.IntegerField(required=False, allow_null=True)
    project_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    week_number = serializers.IntegerField(required=False, allow_null=True)
    coaching_date = serializers.DateField(required=False, allow_null=True)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if values.get("coaching_date"):
            values["coaching_date"] = values["coaching_date"].isoformat()
        return values


class ProjectDocumentRecord(_RecordBase):
    document_id = serializers.IntegerField()
    doc_type = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    doc_type_label = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    project_id = serializers.IntegerField(required=False, allow_null=True)
    project_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, required=False, default=list)


RECORD_SERIALIZERS = {
    BOARD_POST: BoardPostRecord,
    COACHING_NOTE: CoachingNoteRecord,
    PROJECT_DOCUMENT: ProjectDocumentRecord,
}


class SyncSerializer(serializers.Serializer):
    rag_key = serializers.CharField(max_length=255)
    rag_type = serializers.ChoiceField(choices=RagType.choices, default=RagType.CHATBOT_SHARED)
    doc_schema = serializers.ChoiceField(choices=DOC_SCHEMAS)
    event_type = serializers.CharField(max_length=50)
    record = serializers.DictField()
    images = ImageSerializer(many=True, required=False, default=list)
    image_descriptions = ImageDescriptionSerializer(many=True, required=False, default=list)

    def validate(self, attrs):
        schema = attrs["doc_schema"]
        if attrs["event_type"] not in EVENT_TYPES[schema]:
            raise serializers.ValidationError(
                {
                    "event_type": _("Must be one of %(choices)s for %(schema)s.")
                    % {"choices": ", ".join(EVENT_TYPES[schema]), "schema": schema}
                }
            )
        record = RECORD_SERIALIZERS[schema](data=attrs["record"])
        if not record.is_valid():
            raise serializers.ValidationError({"record": record.errors})
        attrs["record"] = record.validated_data
        return attrs


class SyncResultSerializer(serializers.Serializer):
    doc_id = serializers.CharField()
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged", "deleted", "not_found"])
    document = DocumentSerializer(allow_null=True)
