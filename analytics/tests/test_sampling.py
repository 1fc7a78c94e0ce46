import pytest

from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import flush_log_outbox, is_randomly_sampled, sample_bucket
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample_nothing(settings):
    settings.CONVERSATION_SAMPLE_RATE = 0.0


def history():
    return ConversationHistory.objects.get()


def test_with_full_sample_rate_every_conversation_is_kept(settings):
    settings.CONVERSATION_SAMPLE_RATE = 1.0

    exchange()

    assert history().is_sampled


def test_an_ordinary_conversation_is_not_sampled_at_rate_zero(sample_nothing):
    exchange()

    assert not history().is_sampled
    assert history().retention_priority == "low"


def test_message_logs_are_kept_even_when_the_conversation_is_not_sampled(sample_nothing):
    exchange()

    assert MessageLog.objects.count() == 2


def test_a_conversation_with_an_error_is_always_kept(sample_nothing):
    exchange(error="LLM timeout")

    assert history().is_sampled
    assert history().retention_priority == "high"


def test_a_regenerated_conversation_is_always_kept(sample_nothing):
    exchange(regenerated=True)

    assert history().is_sampled


def test_a_poor_retrieval_score_keeps_the_conversation(sample_nothing):
    exchange(retrieval_info={"top_scores": [0.8, 0.42]})

    assert history().is_sampled
    assert history().min_retrieval_score == pytest.approx(0.42)


def test_a_score_of_retrieved_docs_counts_too(sample_nothing):
    exchange(retrieval_info={}, retrieved_docs=[{"doc_id": "d", "score": 0.3}])

    assert history().is_sampled


def test_good_scores_alone_do_not_keep_the_conversation(sample_nothing):
    exchange(retrieval_info={"top_scores": [0.9, 0.5]})

    assert not history().is_sampled


def test_the_fifth_turn_promotes_the_conversation(sample_nothing):
    for _ in range(4):
        exchange()
    assert not history().is_sampled

    exchange()

    assert history().is_sampled
    assert history().retention_priority == "medium"


def test_five_turns_written_in_one_flush_promote_the_conversation_too(sample_nothing):
    for _ in range(5):
        exchange(flush=False)

    flush_log_outbox()

    assert history().total_turns == 5
    assert history().is_sampled
    assert history().retention_priority == "medium"


def test_an_error_anywhere_in_a_flushed_batch_keeps_the_conversation(sample_nothing):
    exchange(flush=False)
    exchange(error="boom", flush=False)
    exchange(flush=False)

    flush_log_outbox()

    assert history().is_sampled
    assert (history().retention_priority, history().has_error) == ("high", True)


def test_a_later_clean_turn_never_unsamples_a_kept_conversation(sample_nothing):
    exchange(error="boom")
    exchange()

    assert history().is_sampled
    assert history().retention_priority == "high"


def test_the_random_decision_is_stable_across_turns(settings):
    settings.CONVERSATION_SAMPLE_RATE = 0.5
    sessions = [f"s-{i}" for i in range(12)]
    for _turn in range(3):
        for session_id in sessions:
            exchange(session_id=session_id, retrieval_info={}, retrieved_docs=[])

    for row in ConversationHistory.objects.all():
        assert row.total_turns == 3
        assert row.is_sampled == is_randomly_sampled("knowledge", "handbook", row.conversation_id)


def test_the_sample_rate_is_the_fraction_of_conversations_kept(settings):
    settings.CONVERSATION_SAMPLE_RATE = 0.3

    kept = sum(is_randomly_sampled("dining", "chatbot", f"session-{i}") for i in range(4000))

    assert 0.27 < kept / 4000 < 0.33


def test_the_bucket_depends_only_on_the_conversation():
    assert sample_bucket("knowledge", "kb", "abc") == sample_bucket("knowledge", "kb", "abc")
    assert 0 <= sample_bucket("knowledge", "kb", "abc") < 1
