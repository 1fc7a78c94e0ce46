"""NLU training data (seed 003 §9.7): labelled utterances with the model's prediction beside the
true label, where the label came from, and augmentation provenance."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from chat.models import Conversation, Intent
from ml_training.models.choices import LabelSource, between_0_and_1, one_of
from ml_training.models.queue import DataQueueItem


class NluTrainingData(models.Model):
    conversation = models.ForeignKey(
        Conversation,
        verbose_name="대화",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="nlu_training_data",
    )
    data_queue = models.ForeignKey(
        DataQueueItem,
        verbose_name="학습 데이터 큐 항목",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="nlu_training_data",
    )
    input_text = models.TextField("입력 문장", help_text="개인정보 가림")
    normalized_text = models.TextField("정규화 문장", blank=True, default="")
    true_intent = models.CharField("정답 의도", max_length=50, choices=Intent.choices)
    true_entities = models.JSONField("정답 엔티티", null=True, blank=True)
    predicted_intent = models.CharField("예측 의도", max_length=50, blank=True, default="")
    predicted_entities = models.JSONField("예측 엔티티", null=True, blank=True)
    prediction_confidence = models.DecimalField("예측 신뢰도", max_digits=4, decimal_places=3, null=True, blank=True)
    label_source = models.CharField("라벨 출처", max_length=50, choices=LabelSource.choices)
    labeler_id = models.CharField(
        "라벨 작성자", max_length=100, blank=True, default="", help_text="직원 사용자 이름 또는 system"
    )
    text_quality_score = models.DecimalField("문장 품질 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    label_confidence = models.DecimalField("라벨 신뢰도", max_digits=4, decimal_places=3, null=True, blank=True)
    text_features = models.JSONField("문장 특징", null=True, blank=True)
    is_used_for_training = models.BooleanField("학습에 사용됨", default=False)
    training_job_ids = ArrayField(models.IntegerField(), verbose_name="학습 작업 ID", default=list, blank=True)
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now, help_text="BEFORE UPDATE 트리거가 갱신")
    is_augmented = models.BooleanField(
        "증강 데이터", default=False, help_text="만들어 낸 변형: 테스트 데이터로 쓰지 않음"
    )
    augmentation_method = models.CharField("증강 방법", max_length=50, blank=True, default="")
    original_data = models.ForeignKey(
        "self", verbose_name="원본 예문", on_delete=models.CASCADE, null=True, blank=True, related_name="augmentations"
    )

    class Meta:
        db_table = "ml_training_nlu_training_data"
        ordering = ["-created_at"]
        verbose_name = "NLU 학습 예문"
        verbose_name_plural = "NLU 학습 예문"
        constraints = [
            models.CheckConstraint(condition=one_of("true_intent", Intent.values), name="ml_nlu_true_intent_valid"),
            models.CheckConstraint(
                condition=one_of("predicted_intent", Intent.values, blank=True), name="ml_nlu_predicted_intent_valid"
            ),
            models.CheckConstraint(
                condition=one_of("label_source", LabelSource.values), name="ml_nlu_label_source_valid"
            ),
            models.CheckConstraint(
                condition=between_0_and_1("prediction_confidence")
                & between_0_and_1("text_quality_score")
                & between_0_and_1("label_confidence"),
                name="ml_nlu_scores_0_1",
            ),
            # An augmented row says how it was made and from what; an original row has neither.
            models.CheckConstraint(
                condition=Q(is_augmented=True, original_data__isnull=False) & ~Q(augmentation_method="")
                | Q(is_augmented=False, original_data__isnull=True, augmentation_method=""),
                name="ml_nlu_augmentation_provenance",
            ),
            # One label per reviewed queue item (a double-submitted review form stores one).
            models.UniqueConstraint(
                fields=["data_queue"], condition=Q(is_augmented=False), name="ml_nlu_one_label_per_queue_item"
            ),
            models.UniqueConstraint(
                fields=["original_data", "augmentation_method", "input_text"],
                condition=Q(is_augmented=True),
                name="ml_nlu_augmentation_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["true_intent"], name="ml_nlu_true_intent"),
            models.Index(
                F("text_quality_score").desc(),
                F("label_confidence").desc(),
                condition=Q(text_quality_score__gt=0.5),
                name="ml_nlu_quality",
            ),
            models.Index(
                fields=["is_used_for_training"], condition=Q(is_used_for_training=False), name="ml_nlu_unused"
            ),
            # Entity containment lookups (true_entities @> {"budget": 5000}).
            GinIndex(fields=["true_entities"], name="ml_nlu_entities_gin"),
        ]

    def __str__(self):
        return f"{self.true_intent}: {self.input_text[:40]}"
