from django.utils.translation import gettext as _
from rest_framework import serializers

from ml_training.models import AnswerFeedback, FeedbackVote, ModelType
from ml_training.services.export import FORMATS

COMMENT_MAX = 2000


class FeedbackSerializer(serializers.Serializer):
    """What a user says about an answer; at least one field."""

    vote = serializers.ChoiceField(choices=FeedbackVote.choices, required=False, help_text="thumbs up / down")
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    comment = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True, trim_whitespace=True)

    def validate(self, attrs):
        if not any(attrs.get(name) not in (None, "") for name in self.fields):
            raise serializers.ValidationError(
                _("Give at least one of: %(fields)s.") % {"fields": ", ".join(self.fields)}
            )
        return attrs


class HelpfulSourceSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(help_text="document_id of one of the answer's sources")
    chunk_id = serializers.IntegerField(required=False)


class KnowledgeFeedbackSerializer(FeedbackSerializer):
    """No rating: knowledge answers take a vote (seed 002 quality), a comment and the source that helped."""

    rating = None
    helpful_source = HelpfulSourceSerializer(required=False)


class FeedbackResultSerializer(serializers.ModelSerializer):
    turn = serializers.CharField(
        source="source_id", help_text="the rated turn (conversation id, message id, session:turn)"
    )

    class Meta:
        model = AnswerFeedback
        fields = [
            "id",
            "channel",
            "turn",
            "vote",
            "rating",
            "comment",
            "helpful_source",
            "is_implicit",
            "created_at",
            "updated_at",
        ]


class ExportQuerySerializer(serializers.Serializer):
    model_type = serializers.ChoiceField(choices=ModelType.choices)
    # not `format`: DRF reads ?format= as the response renderer
    file_format = serializers.ChoiceField(choices=FORMATS, default="jsonl")
    days = serializers.IntegerField(min_value=1, max_value=3650, default=30)
    min_quality = serializers.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, default="0.7")
