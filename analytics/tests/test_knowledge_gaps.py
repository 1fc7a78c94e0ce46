"""The knowledge-gap job on a fixture with known groups, FAQ candidates, and curated answers in the chat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import FAQCandidate, MessageLog
from analytics.services import curated_answers, knowledge_gaps, question_clusters
from analytics.tests.test_statistics import answer
from chat.services.knowledge_chat import NO_CONTEXT_ANSWER

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def bad_week():
    """Two known gaps in 'handbook': VPN trouble (4 ways of asking, no answer / errors) and the
    parking question (asked twice, rephrased in the same session); one well answered question."""
    at = NOW - timedelta(days=1)
    for number, question in enumerate(
        ["VPN 접속이 안 돼요", "vpn 연결이 안됩니다", "VPN 접속 오류", "ＶＰＮ 접속이 안 돼요"]
    ):
        answer(at=at + timedelta(minutes=number * 30), session=f"v{number}", question=question, ms=100,
               scores=(), error="timeout" if number == 3 else "")  # fmt: skip
    answer(at=at, session="p", question="주차 등록은 어디서 하나요?", ms=100, scores=(0.9,))
    answer(at=at + timedelta(minutes=2), session="p", question="주차 등록 어디서 해요", ms=100, scores=(0.9,))
    answer(at=at, session="ok", question="연차는 며칠인가요?", ms=100, scores=(0.9,))


def test_badly_answered_questions_carry_their_reasons(bad_week):
    found = {e.question: e.reasons for e in knowledge_gaps.badly_answered(NOW - timedelta(days=7), NOW)}

    assert found["VPN 접속이 안 돼요"] == {"no_answer"}
    assert found["ＶＰＮ 접속이 안 돼요"] == {"error"}
    assert found["주차 등록은 어디서 하나요?"] == {"rephrased"}  # asked again in other words right after
    assert "연차는 며칠인가요?" not in found


def test_the_no_context_answer_counts_as_a_bad_answer():
    assert NO_CONTEXT_ANSWER.startswith(knowledge_gaps.NO_CONTEXT_ANSWER)
    answer(at=NOW - timedelta(hours=1), session="n", question="사내 동호회 있나요?", ms=100, scores=(0.9,))
    MessageLog.objects.filter(message_type="assistant").update(content=NO_CONTEXT_ANSWER)

    [exchange] = knowledge_gaps.badly_answered(NOW - timedelta(days=1), NOW)

    assert exchange.reasons == {"no_context"}


def test_the_job_groups_a_gap_into_one_candidate_scored_by_badness_times_frequency(bad_week):
    knowledge_gaps.find_gaps(NOW)

    vpn = FAQCandidate.objects.get(representative__icontains="vpn")
    assert vpn.question_count == 4
    assert vpn.reasons == {"no_answer": 3, "error": 1}
    assert vpn.score == pytest.approx(vpn.badness * 4) == pytest.approx(4.0)
    assert FAQCandidate.objects.order_by("-score").first() == vpn
    assert FAQCandidate.objects.get(representative__startswith="주차").badness == pytest.approx(0.6)


def test_running_the_job_again_keeps_the_staff_decision(bad_week):
    knowledge_gaps.find_gaps(NOW)
    FAQCandidate.objects.update(status=FAQCandidate.Status.REJECTED)

    knowledge_gaps.find_gaps(NOW)

    assert set(FAQCandidate.objects.values_list("status", flat=True)) == {"rejected"}


def test_near_duplicates_share_a_group_and_different_needs_do_not():
    labels = question_clusters.cluster_questions(
        ["VPN 접속이 안 돼요", "vpn 접속이 안돼요", "VPN 접속 오류", "연차는 며칠인가요?", "연차 며칠이에요"]
    )

    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] != labels[0]


def test_a_curated_answer_matches_similar_questions_only(settings):
    settings.FAQ_MATCH_THRESHOLD = 0.8
    candidate = FAQCandidate.objects.create(
        collection_name="handbook", channel="knowledge", representative="VPN 접속이 안 돼요",
        normalized="vpn 접속이 안 돼요", example_questions=["vpn 연결이 안됩니다"],
    )  # fmt: skip
    source = {"document_id": 7, "doc_id": "it-7", "chunk_id": 0, "score": 1.0, "filename": "vpn.md"}
    curated_answers.apply_curated_answer(candidate, "VPN은 사내망 포털에서 재설치하세요.", [source])

    match = curated_answers.match_curated_answer("handbook", "VPN 접속이 안 돼요!")

    assert (match.answer, match.sources) == ("VPN은 사내망 포털에서 재설치하세요.", [source])
    assert curated_answers.match_curated_answer("handbook", "연차는 며칠인가요?") is None
    assert curated_answers.match_curated_answer("other-collection", "VPN 접속이 안 돼요") is None


def test_a_curated_answer_without_text_is_refused():
    candidate = FAQCandidate.objects.create(
        collection_name="h", channel="knowledge", representative="q", normalized="q"
    )

    with pytest.raises(ValueError):
        curated_answers.apply_curated_answer(candidate, "  ")
    with pytest.raises(ValueError):
        curated_answers.apply_curated_answer(candidate, "답", [{"filename": "no ids"}])


def test_a_thumbs_down_on_a_knowledge_answer_is_a_bad_answer(alice_client):
    from chat.models import KnowledgeConversation, KnowledgeMessage
    from ml_training.models import AnswerFeedback

    conversation = KnowledgeConversation.objects.create(user=alice_client.user, rag_key="handbook")
    asked_at = NOW - timedelta(hours=2)
    KnowledgeMessage.objects.create(conversation=conversation, role="user", content="복지 포인트 언제 들어와요?",
                                    created_at=asked_at)  # fmt: skip
    reply = KnowledgeMessage.objects.create(conversation=conversation, role="assistant", content="답",
                                            created_at=asked_at + timedelta(seconds=1))  # fmt: skip
    AnswerFeedback.objects.create(channel="knowledge", source_table="chat_knowledgemessage", source_id=str(reply.pk),
                                  voter="user:1", vote="down", knowledge_message=reply)  # fmt: skip
    answer(at=asked_at, session=str(conversation.pk), question="복지 포인트 언제 들어와요?", ms=100, scores=(0.9,))

    [exchange] = knowledge_gaps.badly_answered(NOW - timedelta(days=1), NOW)

    assert exchange.reasons == {"negative_feedback"}
