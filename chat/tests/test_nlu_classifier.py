"""The intent classifier is swappable: a model file named by NLU_INTENT_MODEL_PATH replaces the baseline."""

import json
import logging

import numpy as np
import pytest

from chat.services.nlu import (
    IntentClassifier,
    LinearIntentClassifier,
    ModelFileError,
    get_classifier,
    load_classifier,
    normalize,
    register_model_kind,
    reset_classifier_cache,
    tokenize,
    train_intent_model,
    understand,
)
from chat.services.nlu.classifier import MODEL_FORMAT, MODEL_VERSION


@pytest.fixture
def model_path(tmp_path, settings):
    """A model file path that `understand` will use; its cache entry is dropped afterwards."""
    path = tmp_path / "intent-model.json"
    settings.NLU_INTENT_MODEL_PATH = str(path)
    yield path
    reset_classifier_cache(str(path))


def linear_model(**overrides):
    """A hand-written model file: every message is COUPON_INQUIRY unless it mentions 치킨."""
    data = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "kind": "linear",
        "intents": ["COUPON_INQUIRY", "FOOD_REQUEST"],
        "features": {"morpheme_ngrams": [1], "char_ngrams": [], "entity_signals": False},
        "vocabulary": ["m:치킨"],
        "weights": [[0.0, 10.0]],
        "bias": [3.0, 0.0],
        "rule_weight": 0.0,
        "min_confidence": 0.0,
        "metadata": {"trainer": "hand-written test model"},
    }
    data.update(overrides)
    return data


def examples(*pairs):
    return [(normalize(text), tokenize(normalize(text)), intent) for text, intent in pairs]


SMALL_TRAINING_SET = examples(
    ("치킨 먹고 싶어", "FOOD_REQUEST"),
    ("피자 먹을래", "FOOD_REQUEST"),
    ("쿠폰 있어?", "COUPON_INQUIRY"),
    ("할인 쿠폰 보여줘", "COUPON_INQUIRY"),
    ("잔액 얼마야", "BALANCE_CHECK"),
    ("카드에 돈 얼마 남았어", "BALANCE_CHECK"),
)


def test_baseline_implements_the_protocol():
    assert isinstance(get_classifier(), IntentClassifier)


def test_model_file_named_in_settings_is_used_by_understand(model_path):
    model_path.write_text(json.dumps(linear_model()), encoding="utf-8")

    assert understand("급식카드 잔액 얼마야?").intent == "COUPON_INQUIRY"
    assert understand("치킨 먹고 싶어").intent == "FOOD_REQUEST"


def test_saved_baseline_round_trips_through_its_model_file(tmp_path):
    trained = LinearIntentClassifier.train(SMALL_TRAINING_SET, epochs=50)
    path = trained.save(tmp_path / "model.json")

    loaded = load_classifier(path)

    assert loaded.to_dict() == trained.to_dict()
    for text in ("치킨 먹고 싶어", "쿠폰 있나", "잔액 알려줘", "안녕"):
        expected = trained.probabilities(normalize(text), tokenize(normalize(text)))
        actual = loaded.probabilities(normalize(text), tokenize(normalize(text)))
        assert actual == pytest.approx(expected, abs=1e-5)


def test_model_file_written_later_replaces_the_baseline_without_restart(model_path):
    assert understand("쿠폰 있어?").intent == "COUPON_INQUIRY"  # no file yet: the baseline answers
    model_path.write_text(json.dumps(linear_model(bias=[0.0, 3.0])), encoding="utf-8")

    assert understand("쿠폰 있어?").intent == "FOOD_REQUEST"


def test_model_file_is_json_with_the_documented_fields(tmp_path):
    path = LinearIntentClassifier.train(SMALL_TRAINING_SET, epochs=10).save(tmp_path / "model.json")

    data = json.loads(path.read_text(encoding="utf-8"))

    assert data["format"] == MODEL_FORMAT and data["version"] == MODEL_VERSION and data["kind"] == "linear"
    assert data["intents"] == ["FOOD_REQUEST", "COUPON_INQUIRY", "BALANCE_CHECK"]
    assert np.array(data["weights"]).shape == (len(data["vocabulary"]), len(data["intents"]))
    assert len(data["bias"]) == len(data["intents"])
    assert data["metadata"]["examples"] == 6


def test_training_is_deterministic():
    first = LinearIntentClassifier.train(SMALL_TRAINING_SET, epochs=30).to_dict()
    second = LinearIntentClassifier.train(SMALL_TRAINING_SET, epochs=30).to_dict()

    assert first["weights"] == second["weights"]
    assert first["bias"] == second["bias"]


def test_new_model_kind_can_be_registered(model_path):
    class AlwaysGroupDining:
        def predict(self, text, tokens):
            return "GROUP_DINING", 0.77

    register_model_kind("always-group-test", lambda data: AlwaysGroupDining())
    model_path.write_text(
        json.dumps({"format": MODEL_FORMAT, "version": MODEL_VERSION, "kind": "always-group-test"}),
        encoding="utf-8",
    )

    result = understand("잔액 얼마야")

    assert (result.intent, result.confidence) == ("GROUP_DINING", 0.77)


def test_unusable_model_file_falls_back_to_the_baseline(model_path, caplog):
    model_path.write_text("{not json", encoding="utf-8")

    with caplog.at_level(logging.ERROR, logger="chat.services.nlu.classifier"):
        result = understand("급식카드 잔액 얼마 남았어?")

    assert result.intent == "BALANCE_CHECK"
    assert "falling back to the baseline" in caplog.text


def test_min_confidence_turns_unsure_predictions_into_unknown(model_path):
    model_path.write_text(json.dumps(linear_model(bias=[0.0, 0.0], min_confidence=0.9)), encoding="utf-8")

    assert understand("잔액 얼마야").intent == "UNKNOWN"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"format": "something-else", "version": MODEL_VERSION, "kind": "linear"}, "is not a"),
        ({"format": MODEL_FORMAT, "version": 99, "kind": "linear"}, "unsupported model file version"),
        ({"format": MODEL_FORMAT, "version": MODEL_VERSION, "kind": "nope"}, "unknown model kind"),
    ],
)
def test_load_rejects_foreign_files(tmp_path, content, message):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(content), encoding="utf-8")

    with pytest.raises(ModelFileError, match=message):
        load_classifier(path)


def test_load_rejects_weights_that_do_not_match_the_vocabulary(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(linear_model(weights=[[1.0, 2.0], [3.0, 4.0]])), encoding="utf-8")

    with pytest.raises(ModelFileError):
        load_classifier(path)


def test_load_rejects_intents_outside_the_taxonomy(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(linear_model(intents=["COUPON_INQUIRY", "ORDER_PIZZA"])), encoding="utf-8")

    with pytest.raises(ModelFileError, match="unknown intents"):
        load_classifier(path)


def test_pipeline_trains_a_model_file_from_raw_labelled_texts(model_path):
    rows = [("치킨 먹고 싶어", "FOOD_REQUEST"), ("피자 먹을래", "FOOD_REQUEST"), ("쿠폰 있어?", "COUPON_INQUIRY")]

    train_intent_model(rows, epochs=50, rule_weight=0.0, metadata={"model_version": "test-v1"}).save(model_path)

    assert get_classifier().metadata["model_version"] == "test-v1"
    assert understand("잔액 얼마야").intent in {"FOOD_REQUEST", "COUPON_INQUIRY"}  # only what it was taught


def test_training_refuses_labels_outside_the_taxonomy():
    with pytest.raises(ValueError, match="ORDER_PIZZA"):
        train_intent_model([("피자 시켜줘", "ORDER_PIZZA")])
