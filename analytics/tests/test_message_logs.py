import hashlib
from datetime import datetime

import pytest

from analytics.models import ConversationHistory, MessageLog
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


def test_exchange_writes_a_user_and_an_assistant_log_with_the_seed_fields():
    exchange()

    user, assistant = MessageLog.objects.order_by("created_at")
    assert (user.message_type, user.content) == ("user", "연차는 며칠인가요?")
    assert (assistant.message_type, assistant.content) == ("assistant", "연차는 15일입니다.")
    for row in (user, assistant):
        assert (row.channel, row.collection_name, row.session_id) == ("knowledge", "handbook", "session-1")
        assert row.llm_model == "local-extractive"
        assert row.llm_params == {"temperature": 0.7, "max_tokens": 2000, "top_p": 0.9}
        assert row.reasoning_level == "medium"
        assert row.log_id is not None
    assert assistant.retrieval_info["top_scores"] == [0.91, 0.84]
    assert assistant.performance == {"response_time_ms": 420, "token_count": 55, "retrieval_time_ms": 35}
    assert assistant.error == ""
    assert user.log_id != assistant.log_id


def test_the_user_message_is_timed_before_the_answer_by_the_response_time():
    exchange(performance={"response_time_ms": 1500})

    user, assistant = MessageLog.objects.order_by("created_at")
    assert (assistant.created_at - user.created_at).total_seconds() == pytest.approx(1.5)


def test_conversation_history_hashes_the_user_id_with_the_salt(settings):
    settings.USER_HASH_SALT = "pepper"

    exchange(user_id=42)

    history = ConversationHistory.objects.get()
    assert history.user_hash == hashlib.sha256(b"42pepper").hexdigest()
    assert "42" not in history.user_hash


def test_anonymous_turns_have_an_empty_user_hash():
    exchange(user_id=None)

    assert ConversationHistory.objects.get().user_hash == ""


def test_history_keeps_messages_with_retrieved_docs_and_seoul_timestamps():
    exchange()

    history = ConversationHistory.objects.get()
    user, assistant = history.messages
    assert (user["role"], assistant["role"]) == ("user", "assistant")
    assert assistant["retrieved_docs"] == [{"doc_id": "hr-1", "chunk_id": 3, "score": 0.91}]
    assert datetime.fromisoformat(assistant["timestamp"]).utcoffset().total_seconds() == 9 * 3600
    assert history.metadata == {
        "total_turns": 1,
        "is_sampled": True,
        "retention_priority": "low",
        "summary": "연차는 며칠인가요?",
    }


def test_later_turns_append_to_the_same_history_and_count_turns():
    exchange(user_message="첫 질문")
    exchange(user_message="두 번째 질문")

    history = ConversationHistory.objects.get()
    assert history.total_turns == 2
    assert [m["content"] for m in history.messages if m["role"] == "user"] == ["첫 질문", "두 번째 질문"]
    assert history.summary == "첫 질문"


def test_same_session_id_in_another_collection_is_another_conversation():
    exchange(collection_name="handbook")
    exchange(collection_name="medilinx", channel="partner")

    assert ConversationHistory.objects.count() == 2


def test_error_and_regeneration_are_flagged_on_log_and_history():
    exchange(error="provider timeout", regenerated=True)

    assistant = MessageLog.objects.get(message_type="assistant")
    history = ConversationHistory.objects.get()
    assert assistant.error == "provider timeout" and assistant.regenerated
    assert history.has_error and history.regenerated
    assert history.messages[-1]["error"] == "provider timeout"


def test_values_postgres_cannot_store_are_made_safe_instead_of_dropping_the_row():
    exchange(
        user_message="nul\x00byte",
        llm_params={"temperature": float("nan"), "stop": {"a"}, "client": object()},
    )

    user = MessageLog.objects.get(message_type="user")
    assert user.content == "nul\ufffdbyte"
    assert user.llm_params["temperature"] is None
    assert user.llm_params["stop"] == ["a"]
    assert isinstance(user.llm_params["client"], str)
