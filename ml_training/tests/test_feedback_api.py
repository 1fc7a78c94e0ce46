"""Feedback on answers: dining turns, knowledge answers, partner turns (ownership, validation,
one per voter and turn) and what it feeds (review queue, document quality)."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connections
from django.utils import timezone

from chat.models import Conversation, KnowledgeMessage, PartnerChatTuningLog
from chat.services.partner_chat import append_exchange
from chat.tests.partner_helpers import key_client, partner_with_key
from ml_training.models import AnswerFeedback, DataQueueItem, RagEmbeddingQueueItem
from ml_training.services.feedback import FeedbackInput, check_dining_turn, give_feedback
from ml_training.tests.conftest import dining_turn, knowledge_answer

pytestmark = pytest.mark.django_db


def dining_url(conversation_id):
    return f"/api/v1/chat/turns/{conversation_id}/feedback"


def knowledge_url(message_id):
    return f"/api/v1/rag/messages/{message_id}/feedback"


def partner_url(session_id, turn):
    return f"/api/v1/partners/chat/sessions/{session_id}/turns/{turn}/feedback"


@pytest.fixture
def turn(alice_client, kimbap) -> Conversation:
    dining_turn(alice_client)
    return Conversation.objects.get()


class TestDiningFeedback:
    def test_thumbs_rating_and_comment_are_stored(self, alice_client, turn):
        response = alice_client.post(
            dining_url(turn.pk), {"vote": "up", "rating": 5, "comment": "좋아요"}, format="json"
        )

        assert response.status_code == 201, response.content
        assert (
            response.json() | {"vote": "up", "rating": 5, "comment": "좋아요", "channel": "dining"} == response.json()
        )
        row = AnswerFeedback.objects.get()
        assert (row.conversation_id, row.voter) == (turn.pk, f"user:{alice_client.user.pk}")

    def test_giving_feedback_again_updates_the_same_row(self, alice_client, turn):
        alice_client.post(dining_url(turn.pk), {"vote": "up"}, format="json")

        response = alice_client.post(dining_url(turn.pk), {"vote": "down", "rating": 2}, format="json")

        assert response.status_code == 200
        assert AnswerFeedback.objects.count() == 1
        assert (AnswerFeedback.objects.get().vote, AnswerFeedback.objects.get().rating) == ("down", 2)

    def test_negative_feedback_puts_the_turn_on_the_review_queue_at_top_priority(self, alice_client, turn):
        alice_client.post(dining_url(turn.pk), {"vote": "down"}, format="json")

        item = DataQueueItem.objects.get()  # the auto sample of the turn, now waiting for a human
        assert (item.source_id, item.review_reason, item.priority) == (str(turn.pk), "negative_feedback", 95)

    def test_a_low_rating_counts_as_negative(self, alice_client, turn):
        alice_client.post(dining_url(turn.pk), {"rating": 1}, format="json")

        assert DataQueueItem.objects.open().count() == 1

    def test_positive_feedback_queues_no_review(self, alice_client, turn):
        alice_client.post(dining_url(turn.pk), {"vote": "up", "rating": 4}, format="json")

        assert not DataQueueItem.objects.open().exists()

    def test_personal_data_in_a_comment_is_masked(self, alice_client, turn):
        alice_client.post(dining_url(turn.pk), {"comment": "010-1234-5678로 연락 주세요"}, format="json")

        assert AnswerFeedback.objects.get().comment == "[PHONE]로 연락 주세요"

    def test_someone_elses_turn_is_404(self, bob_client, turn):
        response = bob_client.post(dining_url(turn.pk), {"vote": "up"}, format="json")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_an_unknown_turn_is_404(self, alice_client, db):
        assert alice_client.post(dining_url(999999), {"vote": "up"}, format="json").status_code == 404

    @pytest.mark.parametrize(
        "body", [{}, {"vote": "meh"}, {"rating": 0}, {"rating": 6}, {"rating": "five"}, {"comment": "x" * 2001}]
    )
    def test_bad_values_are_400(self, alice_client, turn, body):
        response = alice_client.post(dining_url(turn.pk), body, format="json")

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"

    def test_anonymous_is_401(self, api_client, turn):
        assert api_client.post(dining_url(turn.pk), {"vote": "up"}, format="json").status_code == 401


class TestKnowledgeFeedback:
    def test_a_vote_moves_the_sources_quality_and_a_changed_vote_moves_it_back(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)
        refund = knowledge_corpus["refund.txt"]

        alice_client.post(knowledge_url(answer["message_id"]), {"vote": "up"}, format="json")
        item = RagEmbeddingQueueItem.objects.get(document_id=str(refund.pk))
        assert (item.positive_feedback, item.negative_feedback) == (1, 0)

        alice_client.post(knowledge_url(answer["message_id"]), {"vote": "down"}, format="json")
        item.refresh_from_db()
        assert (item.positive_feedback, item.negative_feedback, str(item.quality_score)) == (0, 1, "0.333")

    def test_the_source_that_helped_is_counted_as_a_click(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)
        helped = answer["sources"][0]["document_id"]

        response = alice_client.post(
            knowledge_url(answer["message_id"]), {"helpful_source": {"document_id": helped}}, format="json"
        )

        assert response.status_code == 201, response.content
        assert RagEmbeddingQueueItem.objects.get(document_id=str(helped)).click_count == 1

    def test_a_helpful_source_that_was_not_shown_is_400(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)

        response = alice_client.post(
            knowledge_url(answer["message_id"]), {"helpful_source": {"document_id": 999999}}, format="json"
        )

        assert response.status_code == 400

    def test_negative_feedback_queues_a_masked_review_item(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client, "김민수님이 물어봐요: 환불은 며칠 안에 신청할 수 있나요?")

        alice_client.post(knowledge_url(answer["message_id"]), {"vote": "down"}, format="json")

        item = DataQueueItem.objects.open().get()
        assert (item.model_type, item.channel, item.review_reason) == ("rag", "knowledge", "negative_feedback")
        assert item.raw_data["input_text"].startswith("[NAME]님이 물어봐요")

    def test_someone_elses_answer_and_a_question_are_404(self, alice_client, bob_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)
        question = KnowledgeMessage.objects.get(role="user")

        assert bob_client.post(knowledge_url(answer["message_id"]), {"vote": "up"}, format="json").status_code == 404
        assert alice_client.post(knowledge_url(question.pk), {"vote": "up"}, format="json").status_code == 404

    def test_a_regeneration_is_implicit_negative_feedback_on_the_replaced_answer(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)

        alice_client.post("/api/v1/rag/chat/regenerate", {"conversation_id": answer["conversation_id"]}, format="json")

        row = AnswerFeedback.objects.get()
        assert (row.vote, row.is_implicit, row.source_id) == ("down", True, str(answer["message_id"]))
        assert row.knowledge_message_id is None  # the answer itself was replaced
        assert DataQueueItem.objects.open().get().review_reason == "regenerated"
        assert RagEmbeddingQueueItem.objects.filter(negative_feedback=1).exists()

    def test_a_regeneration_keeps_an_explicit_vote(self, alice_client, knowledge_corpus):
        answer = knowledge_answer(alice_client)
        alice_client.post(knowledge_url(answer["message_id"]), {"vote": "up"}, format="json")

        alice_client.post("/api/v1/rag/chat/regenerate", {"conversation_id": answer["conversation_id"]}, format="json")

        assert AnswerFeedback.objects.get().vote == "up"


class TestPartnerFeedback:
    @pytest.fixture
    def session(self, db):
        partner, key = partner_with_key("medilinx")
        session = PartnerChatTuningLog.objects.create(partner=partner, session_id="s-1")
        now = timezone.now()
        append_exchange(
            partner_id="medilinx",
            session_id="s-1",
            user_message="내 상태 어때?",
            assistant_message="좋아요",
            asked_at=now,
            answered_at=now,
        )
        return session, key_client(key)

    def test_a_partner_rates_a_turn_of_its_session(self, session):
        _, client = session

        response = client.post(partner_url("s-1", 1), {"vote": "down", "comment": "부정확"}, format="json")

        assert response.status_code == 201, response.content
        assert AnswerFeedback.objects.get().voter == "partner:medilinx"
        assert DataQueueItem.objects.open().get().channel == "partner"

    def test_a_turn_beyond_the_session_is_404(self, session):
        _, client = session

        assert client.post(partner_url("s-1", 2), {"vote": "up"}, format="json").status_code == 404

    def test_another_partners_session_is_404(self, session):
        _, other_key = partner_with_key("kindhabit")

        response = key_client(other_key).post(partner_url("s-1", 1), {"vote": "up"}, format="json")

        assert response.status_code == 404

    def test_an_end_user_token_is_refused(self, session, alice_client):
        assert alice_client.post(partner_url("s-1", 1), {"vote": "up"}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_feedback_on_one_turn_stores_one_row(alice_client, turn):
    barrier = Barrier(10)

    def vote(index):
        try:
            barrier.wait(timeout=20)
            target = check_dining_turn(user=alice_client.user, conversation_id=turn.pk)
            give_feedback(target, FeedbackInput(vote="up" if index % 2 else "down"))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(vote, range(10)))

    assert AnswerFeedback.objects.count() == 1
