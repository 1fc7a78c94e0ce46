"""POST /api/v1/recommendations/{id}/clicks: an opened shop card becomes one `clicked` recommendation_feedback
row (training data for the re-ranker), once per shop of a recommendation, only on the caller's own ones."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from chat.models import RecommendationLog
from chat.services.selections import record_click
from chat.tests.dining_factories import HERE, make_menu, make_shop
from ml_training.models import DataQueueItem, RecommendationFeedback

pytestmark = pytest.mark.django_db


@pytest.fixture
def shops():
    """Two snack bars near 건대입구, both recommended for a 5,000 won lunch."""
    made = []
    for name, menu, price, north_m in (("김밥천국", "참치김밥", 3500, 200), ("라면집", "신라면", 4000, 350)):
        made.append(make_shop(name, category="분식", north_m=north_m))
        make_menu(made[-1], menu, price)
    return tuple(made)


def recommendation(client) -> RecommendationLog:
    response = client.post("/api/v1/chat", {"message": "5천원으로 점심 뭐 먹지?", "location": HERE}, format="json")
    return RecommendationLog.objects.get(pk=response.json()["session_info"]["recommendation_id"])


def click(client, log, **body):
    return client.post(f"/api/v1/recommendations/{log.pk}/clicks", body, format="json")


def test_a_click_is_stored_as_one_clicked_feedback_row_naming_the_shop(alice_client, shops):
    log = recommendation(alice_client)
    ramen = shops[1]

    response = click(alice_client, log, shop_id=ramen.pk, time_to_action_ms=3100)

    assert response.status_code == 201
    feedback = RecommendationFeedback.objects.get()
    assert response.json() == {
        "feedback_id": feedback.pk,
        "recommendation_id": log.pk,
        "shop_id": ramen.pk,
        "clicked_at": response.json()["clicked_at"],
        "time_to_action_ms": 3100,
    }
    assert (feedback.user_action, feedback.interaction_details, feedback.selected_shop_id) == (
        "clicked",
        {"shop_id": ramen.pk},
        None,
    )
    assert (feedback.recommendation_log_id, feedback.user_id, feedback.time_to_action_ms) == (log.pk, log.user_id, 3100)
    assert [shop["shop_id"] for shop in feedback.recommended_shops] == [item["shop_id"] for item in log.recommendations]
    assert {"rank", "score", "reason_codes", "features"} <= set(feedback.recommended_shops[0])
    assert feedback.context_features["intent"] == log.request_intent
    assert feedback.user_features["has_profile"] is True


def test_a_click_without_a_time_counts_the_time_since_the_recommendation(alice_client, shops):
    log = recommendation(alice_client)

    click(alice_client, log, shop_id=shops[0].pk)

    feedback = RecommendationFeedback.objects.get()
    expected = (feedback.action_timestamp - log.timestamp).total_seconds() * 1000
    assert feedback.time_to_action_ms == pytest.approx(expected, abs=1)


def test_a_click_queues_no_training_sample_and_leaves_the_choice_open(alice_client, shops):
    log = recommendation(alice_client)

    click(alice_client, log, shop_id=shops[0].pk)

    assert not DataQueueItem.objects.filter(model_type="recommendation").exists()
    log.refresh_from_db()
    assert log.user_final_selection_id is None


def test_clicking_the_same_shop_again_answers_200_with_the_first_click(alice_client, shops):
    log = recommendation(alice_client)
    first = click(alice_client, log, shop_id=shops[0].pk, time_to_action_ms=1000)

    again = click(alice_client, log, shop_id=shops[0].pk, time_to_action_ms=9000)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert RecommendationFeedback.objects.count() == 1


def test_each_shop_of_a_recommendation_gets_its_own_click(alice_client, shops):
    log = recommendation(alice_client)

    responses = [click(alice_client, log, shop_id=shop.pk) for shop in shops]

    assert [response.status_code for response in responses] == [201, 201]
    clicked = RecommendationFeedback.objects.values_list("interaction_details__shop_id", flat=True)
    assert sorted(clicked) == sorted(shop.pk for shop in shops)


def test_clicks_and_the_selection_of_one_recommendation_are_all_kept(alice_client, shops):
    kimbap, ramen = shops
    log = recommendation(alice_client)
    click(alice_client, log, shop_id=kimbap.pk)
    click(alice_client, log, shop_id=ramen.pk)

    selection = alice_client.post(f"/api/v1/recommendations/{log.pk}/selection", {"shop_id": kimbap.pk}, format="json")
    late_click = click(alice_client, log, shop_id=kimbap.pk)

    assert (selection.status_code, late_click.status_code) == (200, 200)
    actions = RecommendationFeedback.objects.values_list("user_action", "selected_shop_id")
    assert sorted(actions, key=str) == sorted([("clicked", None), ("clicked", None), ("selected", kimbap.pk)], key=str)


@pytest.mark.django_db(transaction=True)
def test_20_concurrent_clicks_on_one_shop_store_one_row(alice_client, shops):
    log = recommendation(alice_client)
    barrier = threading.Barrier(20)

    def open_card(_):
        try:
            barrier.wait(timeout=20)
            return record_click(log, shop_id=shops[0].pk, time_to_action_ms=500).feedback_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        feedback_ids = set(pool.map(open_card, range(20)))

    assert feedback_ids == {RecommendationFeedback.objects.get().pk}


def test_a_shop_that_was_not_recommended_is_refused_with_422(alice_client, shops):
    log = recommendation(alice_client)

    response = click(alice_client, log, shop_id=make_shop("먼 식당", north_m=50_000).pk)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_recommended"
    assert not RecommendationFeedback.objects.exists()


def test_the_refusal_is_in_the_requests_language(alice_client, shops):
    log = recommendation(alice_client)

    response = alice_client.post(
        f"/api/v1/recommendations/{log.pk}/clicks", {"shop_id": 999999}, format="json", HTTP_ACCEPT_LANGUAGE="ko"
    )

    assert response.json()["error"]["message"] == "999999번 가게는 이 추천에 포함되지 않았습니다."


def test_someone_elses_recommendation_is_refused_like_a_selection(alice_client, bob_client, shops):
    log = recommendation(alice_client)

    response = click(bob_client, log, shop_id=shops[0].pk)

    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    assert not RecommendationFeedback.objects.exists()


def test_an_unknown_recommendation_is_404(alice_client, shops):
    response = alice_client.post("/api/v1/recommendations/999999/clicks", {"shop_id": shops[0].pk}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize("body", [{}, {"shop_id": "kimbap"}, {"shop_id": 0}, {"shop_id": 1, "time_to_action_ms": -1}])
def test_a_bad_body_is_a_400_in_the_error_format(alice_client, shops, body):
    log = recommendation(alice_client)

    response = click(alice_client, log, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"] and error["details"]
    assert not RecommendationFeedback.objects.exists()


def test_with_collection_switched_off_a_click_stores_nothing(alice_client, shops, settings):
    log = recommendation(alice_client)
    settings.ML_TRAINING_COLLECT = False

    response = click(alice_client, log, shop_id=shops[0].pk, time_to_action_ms=700)

    assert response.status_code == 200
    assert response.json()["feedback_id"] is None
    assert not RecommendationFeedback.objects.exists()
