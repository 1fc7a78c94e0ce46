"""Variants of a human-labelled utterance (seed 003 §9.7 data augmentation), stored as
nlu_training_data rows with `is_augmented`, `augmentation_method` and `original_data` (the row they
came from). They are never test data: the splits of the next issue keep augmented rows in training.

Methods: `spacing` (spaces removed, as children often type), `number_format` (each budget in the
other ways Koreans write it: 5천원 / 오천원 / 5,000원 / 5000원), `typo` (common chat misspellings).
"""

from django.db import transaction

from chat.services.nlu.budget import find_amounts
from chat.services.nlu.normalize import normalize
from ml_training.models import NluTrainingData

SPACING = "spacing"
NUMBER_FORMAT = "number_format"
TYPO = "typo"
_HANGUL_DIGITS = "영일이삼사오육칠팔구"
# Common misspellings in Korean chat messages: (correct, as typed).
TYPOS = (
    ("뭐", "머"),
    ("먹지", "먹찌"),
    ("있어", "잇어"),
    ("싶어", "시퍼"),
    ("추천", "추쳔"),
    ("해줘", "해조"),
    ("주세요", "주세여"),
    ("어디", "어디야"),
    ("얼마", "얼마나"),
    ("없어", "업어"),
)


def amount_forms(value: int) -> list[str]:
    """5000 -> ["5천원", "오천원", "5,000원", "5000원"]; 15000 -> ["1만5천원", "만오천원", "15,000원", "15000원"]."""
    forms = [f"{value:,}원", f"{value}원"]
    if value % 1000 == 0:
        man, thousands = divmod(value // 1000, 10)
        digits = (f"{man}만" if man else "") + (f"{thousands}천" if thousands else "")
        hangul = ("만" if man == 1 else f"{_HANGUL_DIGITS[man]}만" if 1 < man < 10 else "") + (
            ("천" if thousands == 1 else f"{_HANGUL_DIGITS[thousands]}천") if thousands else ""
        )
        forms[:0] = [digits + "원"] + ([hangul + "원"] if man < 10 else [])
    return forms


def variants(text: str) -> list[tuple[str, str]]:
    """(method, variant) pairs of `text`, each different from it and from one another."""
    base = normalize(text)
    found: list[tuple[str, str]] = []
    if " " in base:
        found.append((SPACING, base.replace(" ", "")))
    for amount in find_amounts(base):
        written = base[amount.start : amount.end]
        for form in amount_forms(amount.value):
            if form.rstrip("원") != written.rstrip("원").replace(" ", ""):
                found.append((NUMBER_FORMAT, base[: amount.start] + form + base[amount.end :]))
    for correct, typed in TYPOS:
        if correct in base:
            found.append((TYPO, base.replace(correct, typed, 1)))
    unique, seen = [], {base}
    for method, variant in found:
        if variant not in seen:
            seen.add(variant)
            unique.append((method, variant))
    return unique


def augment(original: NluTrainingData) -> list[NluTrainingData]:
    """Store the variants of a labelled (non-augmented) row; re-running adds nothing new."""
    if original.is_augmented:
        raise ValueError("augmented rows are not augmented again")
    rows = [
        NluTrainingData(
            conversation_id=original.conversation_id,
            input_text=variant,
            normalized_text=variant,
            true_intent=original.true_intent,
            true_entities=original.true_entities,
            label_source=original.label_source,
            labeler_id=f"augment:{method}",
            text_quality_score=original.text_quality_score,
            label_confidence=original.label_confidence,
            is_augmented=True,
            augmentation_method=method,
            original_data=original,
        )
        for method, variant in variants(original.input_text)
    ]
    with transaction.atomic():
        NluTrainingData.objects.bulk_create(rows, ignore_conflicts=True)
    return list(original.augmentations.all())
