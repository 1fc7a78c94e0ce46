"""Serving the re-ranker in the dining chat: champion / sticky challenger, the hand-tuned ranking without a
version, hard filters that the model cannot undo, attribution on every turn, and a tampered artifact."""

import numpy as np
import pytest

from chat.models import Conversation, RecommendationLog
from chat.tests.dining_factories import CLOSED_ALL_WEEK, chat_turn, make_card, make_chat_user, make_menu, make_shop
from ml_training.services import recommendation_model, registry, serving
from ml_training.tests.registry_factories import recommendation_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("model_store")]

QUALITY_ONLY = {"quality": 1.0}
LUNCH = "5천원으로 점심 뭐 먹지?"


@pytest.fixture(autouse=True)
def refresh_every_call(monkeypatch):
    monkeypatch.setattr(serving, "CHECK_INTERVAL_S", 0.0)


@pytest.fixture
def street():
    """Two shops that pass every filter - the hand-tuned ranking puts the near, popular one first, a
    quality-only model the far, good one - and three excellent ones that must never be shown."""
    shops = {
        "popular": make_shop("가까운 인기집", north_m=50, popularity="0.950", quality="0.100"),
        "good": make_shop("먼 맛집", north_m=700, popularity="0.100", quality="0.950"),
        "over_budget": make_shop("비싼 맛집", north_m=60, quality="1.000"),
        "closed": make_shop("닫은 맛집", north_m=60, quality="1.000", hours=CLOSED_ALL_WEEK),
        "no_card": make_shop("카드 안 받는 맛집", north_m=60, quality="1.000", food_card="N"),
    }
    for key, shop in shops.items():
        make_menu(shop, f"{shop.shop_name} 정식", 20000 if key == "over_budget" else 4500)
    return shops


def diner():
    """A chat user with an active meal card (so the meal-card rule applies) and money on it."""
    user = make_chat_user()
    make_card(user, balance=20000)
    return user


def shown(body) -> list[str]:
    return [shop["shop_name"] for shop in body["recommendations"]]


def activate(version, capture):
    with capture(execute=True):
        registry.activate(version, by="staff")


def test_without_a_registry_version_the_ranking_is_the_hand_tuned_one(street):
    body = chat_turn(diner(), LUNCH)

    assert shown(body)[:2] == ["가까운 인기집", "먼 맛집"]
    log = RecommendationLog.objects.get(pk=body["session_info"]["recommendation_id"])
    assert all("model_score" not in item for item in log.recommendations)
    assert Conversation.objects.get().model_versions["recommendation"] == {
        "version_id": None, "version": "builtin", "group": "champion"
    }  # fmt: skip


def test_a_user_in_the_challenger_bucket_gets_the_re_ranked_order_and_the_others_the_champion(
    street, django_capture_on_commit_callbacks
):
    version = recommendation_version(QUALITY_ONLY)
    with django_capture_on_commit_callbacks(execute=True):
        registry.start_ab(version, 50, by="staff")
    users = [diner() for _ in range(12)]
    inside = [u for u in users if serving.serve("recommendation", u.pk)[1] == "challenger"]
    outside = [u for u in users if serving.serve("recommendation", u.pk)[1] == "champion"]
    assert inside and outside

    for user in (inside[0], inside[0], outside[0]):
        body = chat_turn(user, LUNCH)
        expected = ["먼 맛집", "가까운 인기집"] if user in inside else ["가까운 인기집", "먼 맛집"]
        assert shown(body)[:2] == expected

    rows = list(Conversation.objects.order_by("pk"))
    assert [row.model_versions["recommendation"] for row in rows] == [
        {"version_id": version.pk, "version": version.version, "group": "challenger"},
        {"version_id": version.pk, "version": version.version, "group": "challenger"},
        {"version_id": None, "version": "builtin", "group": "champion"},
    ]
    log = RecommendationLog.objects.filter(user=inside[0]).first()
    scores = {item["shop_name"]: item["model_score"] for item in log.recommendations}
    assert scores["먼 맛집"] == pytest.approx(0.95) and scores["가까운 인기집"] == pytest.approx(0.1)
    assert all(item["score"] != item["model_score"] for item in log.recommendations)  # the hand-tuned score is kept


def test_hard_filters_hold_even_when_the_model_would_rank_the_filtered_shops_first(
    street, django_capture_on_commit_callbacks
):
    user = diner()
    builtin = chat_turn(user, LUNCH)
    activate(recommendation_version(QUALITY_ONLY), django_capture_on_commit_callbacks)

    body = chat_turn(user, LUNCH)

    assert shown(body) == ["먼 맛집", "가까운 인기집"]  # over budget, closed and no meal card: never shown
    assert sorted(shown(body)) == sorted(shown(builtin))  # re-ranking reorders, it never adds
    assert all(shop["final_price"] <= 5000 and shop["foodcard_usable"] for shop in body["recommendations"])


def test_what_costs_nothing_stays_ordered_by_price_with_a_re_ranker_serving(
    street, django_capture_on_commit_callbacks
):
    activate(recommendation_version(QUALITY_ONLY), django_capture_on_commit_callbacks)

    body = chat_turn(diner(), "배고픈데 돈이 하나도 없어")  # the card balance is the budget: 비싼 맛집 fits

    prices = [shop["final_price"] for shop in body["recommendations"]]
    assert "비싼 맛집" in shown(body) and prices == sorted(prices)
    log = RecommendationLog.objects.get(pk=body["session_info"]["recommendation_id"])
    assert all("model_score" not in item for item in log.recommendations)


def test_every_turn_records_the_recommendation_version_that_served_it(street, django_capture_on_commit_callbacks):
    version = recommendation_version(QUALITY_ONLY)
    activate(version, django_capture_on_commit_callbacks)
    user = diner()

    first = chat_turn(user, LUNCH)
    chat_turn(user, "만원으로 저녁 먹을래", session_id=first["session_info"]["session_id"])
    chat_turn(user, "안녕")  # nothing recommended: the user is still served by (and attributed to) the champion

    served = {"version_id": version.pk, "version": version.version, "group": "champion"}
    assert [row.model_versions["recommendation"] for row in Conversation.objects.order_by("pk")] == [served] * 3


def test_a_tampered_artifact_is_refused_and_the_previous_version_keeps_serving(
    street, model_store, django_capture_on_commit_callbacks
):
    first = recommendation_version(QUALITY_ONLY, note="first")
    second = recommendation_version({"popularity": 1.0}, note="second")
    activate(first, django_capture_on_commit_callbacks)
    user = diner()
    assert shown(chat_turn(user, LUNCH))[:2] == ["먼 맛집", "가까운 인기집"]  # the first version serves
    weights = model_store / second.model_path / "weights.npy"
    np.save(weights, np.load(weights) * 2, allow_pickle=False)  # served, it would put the popular shop first

    activate(second, django_capture_on_commit_callbacks)
    body = chat_turn(user, LUNCH)

    assert shown(body)[:2] == ["먼 맛집", "가까운 인기집"]  # still the first version's order
    assert Conversation.objects.latest("pk").model_versions["recommendation"]["version"] == first.version


def test_a_tampered_first_version_leaves_the_hand_tuned_ranking_serving(
    street, model_store, django_capture_on_commit_callbacks
):
    version = recommendation_version(QUALITY_ONLY)
    (model_store / version.model_path / "manifest.json").write_text("{}", "utf-8")

    activate(version, django_capture_on_commit_callbacks)
    body = chat_turn(diner(), LUNCH)

    assert shown(body)[:2] == ["가까운 인기집", "먼 맛집"]
    assert Conversation.objects.get().model_versions["recommendation"]["version"] == "builtin"


def test_the_re_ranker_round_trips_through_its_artifact_and_refuses_another_kind():
    model = recommendation_model.LinearReranker(("quality", "score"), np.array([0.5, 2.0]), 0.1, {"note": "x"})
    manifest, arrays = recommendation_model.to_artifact(model)

    loaded = recommendation_model.from_artifact(manifest, arrays)

    rows = [{"quality": 0.2, "score": 0.4}, {"quality": 1.0}]
    np.testing.assert_allclose(loaded.scores(rows), [0.1 + 0.1 + 0.8, 0.1 + 0.5])
    with pytest.raises(ValueError, match="not a re-ranker"):
        recommendation_model.from_artifact({**manifest, "kind": "linear"}, arrays)
    with pytest.raises(ValueError, match="do not match"):
        recommendation_model.from_artifact(manifest, {**arrays, "weights": np.zeros(3)})
