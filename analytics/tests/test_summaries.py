"""Conversation summaries: extractive offline, the LLM's when one is configured, filled in by a daily job."""

import pytest

from analytics.models import ConversationHistory
from analytics.services import summaries

pytestmark = pytest.mark.django_db

MESSAGES = [
    {"role": "user", "content": "연차는 며칠 쓸 수 있나요?"},
    {"role": "assistant",
     "content": "입사 첫해에는 매달 하루씩 생깁니다. 연차는 1년에 15일 쓸 수 있어요. 문의는 인사팀으로 하세요."},
    {"role": "user", "content": "반차도 되나요?"},
    {"role": "assistant", "content": "네, 반차는 오전이나 오후로 쓸 수 있어요."},
]  # fmt: skip


def history(messages=MESSAGES, **fields):
    return ConversationHistory.objects.create(
        conversation_id=fields.pop("conversation_id", "c1"), channel="knowledge", collection_name="handbook",
        messages=messages, total_turns=len(messages) // 2, **fields,
    )  # fmt: skip


def test_the_extractive_summary_says_what_was_asked_and_the_answer_sentences_about_it():
    summary = summaries.extractive_summary(MESSAGES)

    assert summary.startswith("질문: 연차는 며칠 쓸 수 있나요? 외 1개 질문 / 답: ")
    assert "연차는 1년에 15일 쓸 수 있어요." in summary and "반차는 오전이나 오후로" in summary
    assert "인사팀" not in summary  # shares no word with the questions


def test_a_conversation_without_a_question_has_no_summary():
    assert summaries.extractive_summary([{"role": "assistant", "content": "안녕하세요"}]) == ""


def test_with_an_llm_configured_the_summary_is_the_llms(openai_server):
    openai_server.chat_reply = "사용자가 연차와 반차를 물었고 15일과 반차 가능을 안내받았다."

    assert summaries.summarize(MESSAGES) == "사용자가 연차와 반차를 물었고 15일과 반차 가능을 안내받았다."
    assert "연차는 며칠" in openai_server.requests[-1].json["messages"][1]["content"]


def test_an_llm_failure_falls_back_to_the_extractive_summary(settings, openai_server):
    settings.PROVIDER_MAX_RETRIES = 0
    openai_server.fail_next(5, status=500)

    assert summaries.summarize(MESSAGES) == summaries.extractive_summary(MESSAGES)


def test_the_daily_job_fills_in_missing_summaries_only():
    empty = history()
    written = history(conversation_id="c2", summary="이미 있음")

    assert summaries.summarize_recent() == 1
    empty.refresh_from_db(), written.refresh_from_db()
    assert empty.summary.startswith("질문: 연차는") and written.summary == "이미 있음"
