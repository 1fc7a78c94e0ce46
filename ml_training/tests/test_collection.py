"""Each collection path fills the training-data queue exactly once, off the chat's critical path."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.test import override_settings

from analytics.services.message_logs import flush_log_outbox
from chat.models import Conversation, RecommendationLog
from chat.services.selections import record_selection
from config.api.exceptions import ApiError
from ml_training.models import DataQueueItem, RagEmbeddingQueueItem, RecommendationFeedback
from ml_training.services.collection import bump_documents
from ml_training.services.preparation import prepare_daily_training_data
from ml_training.tests.conftest import dining_turn, knowledge_answer
from rag.models import Document

pytestmark = pytest.mark.django_db


def test_a_confident_dining_turn_queues_one_auto_nlu_sample(alice_client, kimbap):
    dining_turn(alice_client)

    conversation = Conversation.objects.get()
    item = DataQueueItem.objects.get()
    assert (item.model_type, item.source_table, item.source_id) == ("nlu", "conversations", str(conversation.pk))
    assert item.quality_score == conversation.intent_confidence > 0.7
    assert (item.review_reason, item.priority, item.status) == ("", 0, "pending")
    assert item.raw_data["intent"] == conversation.extracted_intent
    assert item.raw_data["response_text"] == conversation.response_text


def test_personal_data_in_a_turn_is_masked_before_it_enters_raw_data(alice_client, kimbap):
    dining_turn(alice_client, "김민수님인데 010-1234-5678 번호로 5천원 점심 추천해줘")

    raw = DataQueueItem.objects.get().raw_data
    assert raw["input_text"] == "[NAME]님인데 [PHONE] 번호로 5천원 점심 추천해줘"
    assert "010" not in str(raw)


@pytest.mark.parametrize(
    ("message", "reason", "priority"), [("어", "low_confidence", 80), ("내일 비온대", "unknown_intent", 90)]
)
def test_a_low_confidence_or_unknown_turn_becomes_a_review_item(alice_client, message, reason, priority):
    dining_turn(alice_client, message)

    item = DataQueueItem.objects.get()
    assert (item.review_reason, item.priority) == (reason, priority)
    assert list(DataQueueItem.objects.open()) == [item]


def test_a_turn_of_middling_confidence_is_not_queued(alice_client):
    dining_turn(alice_client, "ㅋㅋ")

    assert Conversation.objects.count() == 1
    assert not DataQueueItem.objects.exists()


@override_settings(ML_TRAINING_COLLECT=False)
def test_collection_can_be_switched_off(alice_client, kimbap):
    dining_turn(alice_client)

    assert Conversation.objects.count() == 1
    assert not DataQueueItem.objects.exists()


def test_when_collection_fails_the_turn_is_still_answered_and_logged_and_preparation_queues_it(
    alice_client, monkeypatch
):
    # The queue INSERT is refused by the database (an invalid priority).
    from ml_training.services import collection

    monkeypatch.setitem(collection.REVIEW_PRIORITY, "low_confidence", 101)
    body = dining_turn(alice_client, "어")

    assert body["response"]
    assert Conversation.objects.count() == 1
    assert not DataQueueItem.objects.exists()

    monkeypatch.setitem(collection.REVIEW_PRIORITY, "low_confidence", 80)
    prepare_daily_training_data()

    assert DataQueueItem.objects.get().source_id == str(Conversation.objects.get().pk)


class TestSelection:
    def select(self, client, kimbap, **body):
        recommendation_id = dining_turn(client)["session_info"]["recommendation_id"]
        url = f"/api/v1/recommendations/{recommendation_id}/selection"
        response = client.post(url, {"shop_id": kimbap.pk, "time_to_decision_ms": 4200, **body}, format="json")
        return recommendation_id, url, response

    def test_a_selection_queues_a_recommendation_sample_and_its_feedback_row(self, alice_client, kimbap):
        recommendation_id, _, response = self.select(alice_client, kimbap, rating=4)

        assert response.status_code == 200
        item = DataQueueItem.objects.get(model_type="recommendation")
        assert (item.source_table, item.source_id) == ("recommendations_log", str(recommendation_id))
        assert item.quality_score == Decimal("0.900")  # decided in under 5 s
        assert item.raw_data["user_selection"]["shop_id"] == kimbap.pk
        feedback = RecommendationFeedback.objects.get()
        assert (feedback.user_action, feedback.selected_shop_id, feedback.explicit_rating) == ("selected", kimbap.pk, 4)
        assert feedback.recommended_shops[0]["shop_id"] == kimbap.pk
        assert {"rank", "score", "reason_codes", "features"} <= set(feedback.recommended_shops[0])
        assert feedback.context_features["intent"] == "BUDGET_INQUIRY"
        assert feedback.user_features["has_profile"] is True

    def test_a_retried_selection_request_adds_nothing(self, alice_client, kimbap):
        _, url, _ = self.select(alice_client, kimbap)

        retry = alice_client.post(url, {"shop_id": kimbap.pk, "time_to_decision_ms": 4200}, format="json")

        assert retry.status_code == 409
        assert DataQueueItem.objects.filter(model_type="recommendation").count() == 1
        assert RecommendationFeedback.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_selections_are_collected_once(alice_client, kimbap):
    log = RecommendationLog.objects.get(pk=dining_turn(alice_client)["session_info"]["recommendation_id"])
    barrier = threading.Barrier(50)

    def select(_):
        try:
            barrier.wait(timeout=20)
            record_selection(log, shop_id=kimbap.pk, time_to_decision_ms=1000)
            return "ok"
        except ApiError as exc:
            return exc.error_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(select, range(50)))

    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "already_selected"}
    assert DataQueueItem.objects.filter(model_type="recommendation").count() == 1
    assert RecommendationFeedback.objects.count() == 1


def test_knowledge_retrievals_are_counted_per_document_when_the_logs_are_flushed(alice_client, knowledge_corpus):
    answer = knowledge_answer(alice_client)
    source_ids = {source["document_id"] for source in answer["sources"]}
    assert not RagEmbeddingQueueItem.objects.exists()  # nothing on the chat's path

    flush_log_outbox()
    flush_log_outbox()  # a second flush finds nothing left to count

    rows = RagEmbeddingQueueItem.objects.all()
    assert {int(row.document_id) for row in rows} == source_ids
    assert {row.search_count for row in rows} == {1}
    refund = RagEmbeddingQueueItem.objects.get(document_id=str(knowledge_corpus["refund.txt"].pk))
    assert (refund.content, refund.content_hash) == (
        knowledge_corpus["refund.txt"].content,
        knowledge_corpus["refund.txt"].content_hash,
    )


def test_a_changed_document_needs_reembedding_but_negative_feedback_does_not(alice_client, knowledge_corpus):
    refund = knowledge_corpus["refund.txt"]
    bump_documents({refund.pk: Counter(searches=1)})
    bump_documents({refund.pk: Counter(negative=3)})
    assert RagEmbeddingQueueItem.objects.get().needs_reembedding is False

    Document.objects.filter(pk=refund.pk).update(content_hash="0" * 64)
    bump_documents({refund.pk: Counter(searches=1)})

    item = RagEmbeddingQueueItem.objects.get()
    assert (item.needs_reembedding, item.reembedding_reason, item.search_count) == (True, "content changed", 2)


def test_a_document_updated_in_place_needs_reembedding_at_once(alice_client, knowledge_corpus):
    refund = knowledge_corpus["refund.txt"]
    bump_documents({refund.pk: Counter(searches=1)})

    Document.objects.filter(pk=refund.pk).update(content_hash="1" * 64)  # no retrieval or vote since

    item = RagEmbeddingQueueItem.objects.get()
    assert (item.needs_reembedding, item.reembedding_reason) == (True, "content changed")


def test_a_new_embedding_model_needs_reembedding_at_once(alice_client, knowledge_corpus):
    refund = knowledge_corpus["refund.txt"]
    bump_documents({refund.pk: Counter(searches=1)})

    Document.objects.filter(pk=refund.pk).update(embedding_model="another-embedder")

    item = RagEmbeddingQueueItem.objects.get()
    assert (item.needs_reembedding, item.reembedding_reason) == (True, "embedding model changed")


def test_a_turn_the_user_corrects_next_is_queued_for_review_by_the_preparation(alice_client, kimbap):
    first = dining_turn(alice_client, "5천원으로 점심 뭐 먹지?")
    dining_turn(alice_client, "아니 그게 아니라 쿠폰 물어본 거야", session_id=first["session_info"]["session_id"])

    prepare_daily_training_data()

    corrected = Conversation.objects.get(conversation_turn=1)
    item = DataQueueItem.objects.get(source_id=str(corrected.pk))
    assert (item.review_reason, item.priority, item.reviewed_at) == ("user_correction", 88, None)
