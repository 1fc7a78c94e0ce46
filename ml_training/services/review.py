"""Staff review of queued turns (the daily labelling workflow): confirm or correct the intent and
entities; the result is an `nlu_training_data` row with the prediction and the true label side by
side and `label_source` verified (the prediction was right), corrected (it was not) or manual
(there was no prediction, e.g. a knowledge question labelled by hand).

Each label is augmented at once (`augmentation.augment`). Labelling an item twice (a
double-submitted form, two staff at once) stores one row: the item is locked and an already
reviewed item returns its existing label.
"""

import re
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Intent
from chat.services.nlu.normalize import normalize
from ml_training.models import DataQueueItem, LabelSource, NluTrainingData
from ml_training.services.augmentation import augment
from ml_training.services.masking import mask_data

HUMAN_LABEL_CONFIDENCE = Decimal("1.000")
_PRICE = re.compile(r"\d|[일이삼사오육칠팔구십백천만]\s*원")


def text_features(text: str) -> dict:
    return {
        "length": len(text),
        "word_count": len(text.split()),
        "has_question": "?" in text or text.rstrip().endswith(("까", "나요", "니", "어", "야")),
        "has_price": bool(_PRICE.search(text)),
    }


def label_source_for(item: DataQueueItem, intent: str, entities: dict | None) -> str:
    predicted = item.raw_data.get("intent") or ""
    if not predicted:
        return LabelSource.MANUAL
    same_entities = entities is None or entities == (item.raw_data.get("entities") or {})
    return LabelSource.VERIFIED if intent == predicted and same_entities else LabelSource.CORRECTED


def label_item(item_id: int, *, intent: str, entities: dict | None, reviewer) -> NluTrainingData:
    """Record the reviewer's label for one queue item; `entities` None keeps the predicted ones."""
    if intent not in Intent.values:
        raise ValueError(f"unknown intent {intent!r}")
    with transaction.atomic():
        item = DataQueueItem.objects.select_for_update().get(pk=item_id)
        existing = item.nlu_training_data.filter(is_augmented=False).first()
        if existing is not None:
            return existing
        raw = item.raw_data
        true_entities = mask_data(entities) if entities is not None else raw.get("entities") or {}
        text = raw.get("input_text", "")
        confidence = raw.get("confidence")
        row = NluTrainingData.objects.create(
            conversation_id=int(item.source_id) if item.source_table == Conversation._meta.db_table else None,
            data_queue=item,
            input_text=text,
            normalized_text=normalize(text),
            true_intent=intent,
            true_entities=true_entities,
            predicted_intent=raw.get("intent") or "",
            predicted_entities=raw.get("entities"),
            prediction_confidence=Decimal(str(round(confidence, 3))) if confidence is not None else None,
            label_source=label_source_for(item, intent, entities),
            labeler_id=reviewer.get_username(),
            text_quality_score=Decimal(str(raw["quality"])) if raw.get("quality") is not None else None,
            label_confidence=HUMAN_LABEL_CONFIDENCE,
            text_features=text_features(text),
        )
        item.label_intent = intent
        item.label_entities = true_entities
        item.reviewed_at = timezone.now()
        item.reviewed_by = reviewer
        item.save(update_fields=["label_intent", "label_entities", "reviewed_at", "reviewed_by"])
        augment(row)
    return row


def confirm_predictions(items, *, reviewer) -> tuple[int, int]:
    """Bulk confirm: each open item with a predicted intent gets it as its label (verified).
    Returns (labelled, skipped: no prediction to confirm or already reviewed)."""
    labelled = skipped = 0
    for item in items:
        predicted = item.raw_data.get("intent") or ""
        if item.reviewed_at is not None or predicted not in Intent.values:
            skipped += 1
            continue
        label_item(item.pk, intent=predicted, entities=None, reviewer=reviewer)
        labelled += 1
    return labelled, skipped
