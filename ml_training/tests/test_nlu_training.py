"""The NLU data splits, the trainers (the exported TF-IDF model scores exactly like scikit-learn) and
the promotion gate's decisions."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from chat.services.nlu.tokenizer import tokenize
from ml_training.models import NluTrainingData
from ml_training.services import gate, jobs, nlu_model, nlu_trainer
from ml_training.services.augmentation import augment
from ml_training.services.nlu_data import Row, build_splits, curated_frozen, is_frozen

CONFIG = jobs.validate_config("nlu", {"epochs": 60, "max_iter": 300})


def label(text, intent, source="corrected"):
    row = NluTrainingData.objects.create(input_text=text, normalized_text=text, true_intent=intent,
                                         label_source=source)  # fmt: skip
    return row


def test_the_frozen_split_is_the_curated_test_set_plus_a_stable_hash_share(db):
    texts = [f"{food} 먹을 각 {n}" for food in ("떡볶이", "김밥", "라면") for n in range(40)]
    for text in texts:
        label(text, "FOOD_REQUEST")

    first, second = build_splits(), build_splits()

    frozen = {row.text for row in first.frozen}
    assert frozen == {row.text for row in second.frozen}
    assert {row.text for row in curated_frozen()} <= frozen
    assert {t for t in texts if is_frozen(t)} == frozen - {row.text for row in curated_frozen()}
    trained = {row.text for row in first.train + first.validation + first.test}
    assert not trained & frozen


def test_the_rest_is_split_70_20_10_within_each_intent(db):
    splits = build_splits()
    counts = splits.counts()
    total = counts["train"] + counts["validation"] + counts["test"]

    assert abs(counts["train"] / total - 0.7) < 0.03 and abs(counts["validation"] / total - 0.2) < 0.03
    intents = {row.intent for row in splits.train}
    assert intents == {row.intent for row in splits.validation} == {row.intent for row in splits.test}


def test_augmented_rows_only_ever_enter_training(db):
    foods = ("떡볶이", "김밥", "라면", "순대", "쫄면", "우동", "만두", "피자")
    originals = [label(f"5천원으로 {food} 먹을래", "BUDGET_INQUIRY") for food in foods]
    for original in originals:
        augment(original)

    splits = build_splits()

    augmented = set(NluTrainingData.objects.filter(is_augmented=True).values_list("normalized_text", flat=True))
    assert augmented
    assert not augmented & {row.text for row in splits.validation + splits.test + splits.frozen}
    train_texts = {row.text for row in splits.train}
    for original in originals:
        variants = set(original.augmentations.values_list("normalized_text", flat=True))
        assert variants <= train_texts if original.normalized_text in train_texts else not variants & train_texts


def test_weak_labels_are_left_out_by_default_and_down_weighted_on_request(db):
    label("배고픈데 머 먹지 ㅎ", "FOOD_REQUEST", source="auto")

    assert "배고픈데 머 먹지 ㅎ" not in {row.text for row in build_splits().train + build_splits().validation}
    weighted = build_splits(weak_label_weight=0.3)
    weak = [row for row in weighted.train + weighted.validation + weighted.test + weighted.frozen
            if row.text == "배고픈데 머 먹지 ㅎ"]  # fmt: skip
    assert [(row.source, row.weight) for row in weak] == [("weak", 0.3)]


def test_a_human_label_overrides_the_curated_one_for_the_same_text(db):
    curated = next(row for row in build_splits().train if row.intent == "FOOD_REQUEST")
    label(curated.text, "GENERAL_CHAT")

    splits = build_splits()
    rows = [row for row in splits.train + splits.validation + splits.test + splits.frozen
            if row.text == curated.text]  # fmt: skip  (a human label may hash into the frozen split)
    assert [(row.intent, row.source) for row in rows] == [("GENERAL_CHAT", "human")]


ROWS = [Row(text, intent, "curated") for text, intent in [
    ("점심 뭐 먹지", "FOOD_REQUEST"), ("배고파 밥 추천해줘", "FOOD_REQUEST"), ("저녁 메뉴 골라줘", "FOOD_REQUEST"),
    ("카드 잔액 얼마야", "BALANCE_CHECK"), ("남은 돈 알려줘", "BALANCE_CHECK"), ("잔고 확인", "BALANCE_CHECK"),
    ("쿠폰 있어?", "COUPON_INQUIRY"), ("할인 되는 곳", "COUPON_INQUIRY"), ("이벤트 쿠폰 줘", "COUPON_INQUIRY"),
]]  # fmt: skip


def test_the_exported_tfidf_model_scores_like_scikit_learn():
    model = nlu_trainer.train_tfidf(ROWS, CONFIG)
    vectorizer = TfidfVectorizer(analyzer=nlu_trainer._features, binary=True, norm="l2")
    reference = LogisticRegression(C=CONFIG["C"], max_iter=CONFIG["max_iter"])
    reference.fit(vectorizer.fit_transform([row.text for row in ROWS]), [row.intent for row in ROWS])

    for text in ("점심 추천 좀", "잔액 알려줘", "쿠폰 할인", "아무 말"):
        expected = reference.predict_proba(vectorizer.transform([text]))[0]
        actual = model.probabilities(text, tokenize(text))
        np.testing.assert_allclose(actual, expected, atol=1e-6)
        assert list(model.intents) == list(reference.classes_)


def test_both_model_kinds_round_trip_through_their_artifact():
    for name in nlu_trainer.CANDIDATES:
        model = nlu_trainer.TRAINERS[name](ROWS, CONFIG)
        manifest, arrays = nlu_model.to_artifact(model)
        loaded = nlu_model.from_artifact(manifest, arrays)
        for row in ROWS:
            assert loaded.predict(row.text, tokenize(row.text)) == model.predict(row.text, tokenize(row.text))


def test_metrics_have_per_intent_scores_confusions_and_calibration():
    model = nlu_trainer.train_linear(ROWS, CONFIG)
    scores = nlu_trainer.evaluate(model, ROWS + [Row("쿠폰 잔액", "BALANCE_CHECK", "curated", 1.0, None)])

    assert scores["examples"] == 10 and 0 < scores["accuracy"] <= 1
    assert set(scores["per_intent"]["FOOD_REQUEST"]) == {"precision", "recall", "f1", "support"}
    assert len(scores["confusion_matrix"]["matrix"]) == len(scores["confusion_matrix"]["labels"])
    assert 0 <= scores["ece"] <= 1 and scores["budget_exact_match"] == 1.0


def test_expected_calibration_error_of_a_calibrated_and_an_overconfident_model():
    assert nlu_trainer.expected_calibration_error(np.array([0.75] * 4), np.array([1, 1, 1, 0.0])) == 0.0
    assert nlu_trainer.expected_calibration_error(np.array([0.95] * 4), np.array([1, 0, 0, 0.0])) == pytest.approx(0.7)


def test_mcnemar_exact_p_values():
    assert gate.mcnemar_p(0, 0) == 1.0
    assert gate.mcnemar_p(6, 0) == pytest.approx(0.03125)
    assert gate.mcnemar_p(5, 0) == pytest.approx(0.0625)


def _decide(candidate_right: int, champion_right: int, *, gain: float, min_gain=0.01):
    truth = ["A"] * (candidate_right + champion_right)
    candidate = ["A"] * candidate_right + ["B"] * champion_right
    champion = ["B"] * candidate_right + ["A"] * champion_right
    return gate.decide(truth=truth, champion=champion, candidate=candidate, champion_f1=0.8,
                       candidate_f1=0.8 + gain, min_gain=min_gain)  # fmt: skip


def test_the_gate_accepts_a_significant_gain_above_delta():
    decision = _decide(12, 1, gain=0.05)
    assert decision.decision == "accepted" and "McNemar p" in decision.reason


def test_a_gain_that_is_not_significant_or_below_delta_is_inconclusive():
    assert _decide(3, 1, gain=0.05).decision == "inconclusive"
    below = _decide(12, 1, gain=0.005)
    assert below.decision == "inconclusive" and "δ 0.01 미만" in below.reason


def test_the_gate_refuses_a_candidate_that_is_not_better():
    decision = _decide(1, 12, gain=-0.05)
    assert decision.decision == "refused" and "챔피언보다 낫지 않습니다" in decision.reason
