"""Variants of labelled utterances, with their provenance."""

import pytest
from django.db import IntegrityError, transaction

from ml_training.models import NluTrainingData
from ml_training.services.augmentation import amount_forms, augment, variants

pytestmark = pytest.mark.django_db


def labelled(text="5천원으로 점심 뭐 먹지?") -> NluTrainingData:
    return NluTrainingData.objects.create(
        input_text=text, true_intent="BUDGET_INQUIRY", true_entities={"budget": 5000}, label_source="verified"
    )


def test_budgets_are_written_every_usual_way():
    assert amount_forms(5000) == ["5천원", "오천원", "5,000원", "5000원"]
    assert amount_forms(15000) == ["1만5천원", "만오천원", "15,000원", "15000원"]


def test_variants_cover_spacing_number_formats_and_typos():
    found = dict((variant, method) for method, variant in variants("5천원으로 점심 뭐 먹지?"))

    assert found["5천원으로점심뭐먹지?"] == "spacing"
    assert found["오천원으로 점심 뭐 먹지?"] == found["5,000원으로 점심 뭐 먹지?"] == "number_format"
    assert found["5천원으로 점심 머 먹지?"] == "typo"
    assert "5천원으로 점심 뭐 먹지?" not in found


def test_augmented_rows_keep_the_label_and_point_at_their_original():
    original = labelled()

    rows = augment(original)

    assert len(rows) >= 5
    for row in rows:
        assert (row.is_augmented, row.original_data_id, row.true_intent) == (True, original.pk, "BUDGET_INQUIRY")
        assert row.augmentation_method in {"spacing", "number_format", "typo"}
        assert row.true_entities == {"budget": 5000}


def test_augmenting_again_adds_nothing():
    original = labelled()
    first = augment(original)

    assert len(augment(original)) == len(first)
    assert NluTrainingData.objects.filter(is_augmented=True).count() == len(first)


def test_the_database_refuses_an_augmented_row_without_provenance():
    with pytest.raises(IntegrityError, match="ml_nlu_augmentation_provenance"), transaction.atomic():
        NluTrainingData.objects.create(
            input_text="x", true_intent="FOOD_REQUEST", label_source="manual", is_augmented=True
        )


def test_an_augmented_row_is_not_augmented_again():
    variant = augment(labelled())[0]

    with pytest.raises(ValueError):
        augment(variant)
