"""Quality guard on the labelled NLU data set: the baseline must keep its measured test-split accuracy."""

import pytest

from chat.services.nlu import INTENTS, LinearIntentClassifier, tokenize
from chat.services.nlu.dataset import load_examples
from chat.services.nlu.evaluation import evaluate

# Measured with `manage.py eval_nlu` (286 train / 137 test utterances): accuracy 0.956, macro-F1 0.962,
# budget exact-match 1.000 (it was 0.918 / 0.916 on the first 98 test utterances with 219 train).
# The floors leave room for small data/rule changes but catch real regressions.
ACCURACY_FLOOR = 0.92
MACRO_F1_FLOOR = 0.92
BUDGET_EXACT_MATCH_FLOOR = 0.95


@pytest.fixture(scope="module")
def train():
    return load_examples("train")


@pytest.fixture(scope="module")
def test_split():
    return load_examples("test")


@pytest.fixture(scope="module")
def report(train, test_split):
    classifier = LinearIntentClassifier.train(
        (ex.normalized_text, tokenize(ex.normalized_text), ex.intent) for ex in train
    )
    return evaluate(classifier, test_split)


def test_data_set_has_at_least_150_utterances_split_about_70_30(train, test_split):
    total = len(train) + len(test_split)

    assert total >= 150
    assert 0.25 <= len(test_split) / total <= 0.35


def test_every_intent_is_in_both_splits(train, test_split):
    assert {ex.intent for ex in train} == set(INTENTS)
    assert {ex.intent for ex in test_split} == set(INTENTS)


def test_no_utterance_is_in_both_splits(train, test_split):
    assert not {ex.normalized_text for ex in train} & {ex.normalized_text for ex in test_split}


def test_budget_labels_are_won_or_null(train, test_split):
    for example in train + test_split:
        budget = example.entities["budget"]
        assert budget is None or isinstance(budget, int) and budget > 0, example


def test_test_split_accuracy_stays_above_the_floor(report):
    assert report.accuracy >= ACCURACY_FLOOR, report.errors


def test_test_split_macro_f1_stays_above_the_floor(report):
    assert report.macro_f1 >= MACRO_F1_FLOOR


def test_budget_extraction_exact_match_stays_above_the_floor(report):
    assert report.budget_exact_match >= BUDGET_EXACT_MATCH_FLOOR
    assert report.budget_stated > 0
