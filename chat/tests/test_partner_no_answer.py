"""Partner chat knows when neither its documents nor the session's warm-up data answer a question."""

import uuid

import pytest

from analytics.models import MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import PartnerChatTuningLog
from chat.services import partner_chat
from chat.services.knowledge_chat import NO_CONTEXT_ANSWER
from chat.tests.conftest import add_document
from chat.tests.partner_helpers import partner_with_key, stream_message
from rag.providers.prompts import NO_ANSWER_MARK

UNRELATED = ["전혀 관계없는 우주선 질문", "🚀", "은 는 이 가"]
GUIDE = "혈압 관리 안내: 소금 섭취를 줄이고 하루 30분 이상 걷기를 권합니다. 혈압은 아침저녁으로 재세요."


@pytest.fixture
def partner(transactional_db):
    """A partner of its own (shared results are cached in Redis, which outlives each test) with one guide
    document, and a session warmed up without health data."""
    partner_id = f"clinic-{uuid.uuid4().hex[:8]}"
    _, key = partner_with_key(partner_id)
    add_document(owner=None, filename="bp-guide.txt", content=GUIDE, rag_key=partner_id)
    partner_chat.warm_up(partner_id=partner_id, session_id="s-1")
    return partner_id, key


@pytest.mark.parametrize("question", UNRELATED)
def test_an_unrelated_question_gets_the_no_answer_reply_without_an_llm_call(
    live_asgi_server, partner, openai_server, question  # the guide is ingested before the stub stands in
):
    partner_id, key = partner

    events = stream_message(live_asgi_server, key, message=question, session_id="s-1")

    name, done, _ = events[-1]
    assert name == "done"
    assert done["answer"] == NO_CONTEXT_ANSWER
    assert done["sources"] == []
    assert openai_server.requests_to("/chat/completions") == []
    session = PartnerChatTuningLog.objects.get(partner_id=partner_id, session_id="s-1")
    assert [entry["content"] for entry in session.conversation] == [question, NO_CONTEXT_ANSWER]


def test_an_unrelated_question_is_logged_as_no_answer(live_asgi_server, partner, settings):
    partner_id, key = partner
    settings.LLM_BASE_URL = ""

    stream_message(live_asgi_server, key, message=UNRELATED[0], session_id="s-1")

    flush_log_outbox()
    info = MessageLog.objects.get(collection_name=partner_id, message_type="assistant").retrieval_info
    assert info["no_answer"] is True
    assert info["retrieved_count"] == 0
    assert all(relevance < settings.RAG_RELEVANCE_FLOOR for relevance in info["relevance"])


def test_a_question_the_documents_cover_is_answered_from_them(live_asgi_server, partner, settings):
    partner_id, key = partner
    settings.LLM_BASE_URL = ""

    *_, (_, done, _) = stream_message(live_asgi_server, key, message="혈압 관리는 어떻게 하나요?", session_id="s-1")

    assert [source["filename"] for source in done["sources"]] == ["bp-guide.txt"]
    assert "소금 섭취를 줄이고" in done["answer"]


def test_a_model_that_abstains_over_the_documents_gets_the_no_answer_reply(live_asgi_server, partner, openai_server):
    partner_id, key = partner
    openai_server.chat_reply = NO_ANSWER_MARK

    events = stream_message(live_asgi_server, key, message="혈압 관리는 어떻게 하나요?", session_id="s-1")

    assert "".join(data["text"] for name, data, _ in events if name == "token") == NO_CONTEXT_ANSWER
    name, done, _ = events[-1]
    assert name == "done"
    assert done["answer"] == NO_CONTEXT_ANSWER
    assert done["sources"] == []
    session = PartnerChatTuningLog.objects.get(partner_id=partner_id, session_id="s-1")
    assert [entry["content"] for entry in session.conversation] == ["혈압 관리는 어떻게 하나요?", NO_CONTEXT_ANSWER]


def test_a_model_that_abstains_is_logged_as_no_answer(live_asgi_server, partner, openai_server):
    partner_id, key = partner
    openai_server.chat_reply = NO_ANSWER_MARK

    stream_message(live_asgi_server, key, message="혈압 관리는 어떻게 하나요?", session_id="s-1")

    flush_log_outbox()
    info = MessageLog.objects.get(collection_name=partner_id, message_type="assistant").retrieval_info
    assert info["no_answer"] is True
    assert info["model_abstained"] is True
    assert len(openai_server.requests_to("/chat/completions")) == 1
