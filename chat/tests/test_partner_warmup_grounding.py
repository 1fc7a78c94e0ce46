"""Issue 15: the README's partner example - a warm-up with health data, then "내 상태 어떠니?" - is
answered from the warm-up data, whatever the documents score, while the tuning log keeps only its summary."""

import uuid

import pytest

from analytics.models import MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import PartnerChatTuningLog
from chat.services.knowledge_chat import NO_CONTEXT_ANSWER
from chat.tests.conftest import add_document
from chat.tests.partner_helpers import WARMUP, key_client, partner_with_key, stream_message
from rag.providers.local_llm import ANSWER_LEAD

HEALTH = "총콜레스테롤 245 mg/dL로 경계 수준입니다. 공복혈당 98 mg/dL로 정상입니다. 혈압 128/82 mmHg입니다."


@pytest.fixture
def warmed_up(transactional_db, live_asgi_server, settings):
    """The README's example with the local responder: a partner (of its own: the cache outlives each test)
    with one unrelated document, and a session warmed up over HTTP with health data and patient info."""
    settings.LLM_BASE_URL = ""
    partner_id = f"clinic-{uuid.uuid4().hex[:8]}"
    _, key = partner_with_key(partner_id)
    add_document(owner=None, filename="parking.txt", content="주차장은 지하 2층에 있습니다.", rag_key=partner_id)
    response = key_client(key).post(
        WARMUP,
        {"session_id": "s-1", "hospital_id": "h-9", "user_uuid": "u-1",
         "initial_data": {"health_data": HEALTH, "patient_info": {"name": "홍길동", "age": 41}}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return partner_id, key


def test_my_state_is_answered_from_the_warm_up_health_data(live_asgi_server, warmed_up):
    _, key = warmed_up

    *_, (name, done, _) = stream_message(live_asgi_server, key, message="내 상태 어떠니?", session_id="s-1")

    assert name == "done"
    assert done["answer"].startswith(ANSWER_LEAD)
    assert "총콜레스테롤 245 mg/dL로 경계 수준입니다." in done["answer"]
    assert done["sources"] == []  # the document is below the relevance floor; the warm-up data grounds it


def test_a_turn_grounded_on_the_warm_up_data_is_not_a_no_answer(live_asgi_server, warmed_up):
    partner_id, key = warmed_up

    stream_message(live_asgi_server, key, message="내 상태 어떠니?", session_id="s-1")

    flush_log_outbox()
    assert MessageLog.objects.get(collection_name=partner_id, message_type="assistant").retrieval_info[
        "no_answer"
    ] is False


def test_the_tuning_log_keeps_only_the_summary_of_the_warm_up_data(live_asgi_server, warmed_up):
    partner_id, key = warmed_up

    stream_message(live_asgi_server, key, message="내 상태 어떠니?", session_id="s-1")

    session = PartnerChatTuningLog.objects.get(partner_id=partner_id, session_id="s-1")
    assert session.initial_data == {
        "has_health_data": True, "health_summary_length": len(HEALTH), "patient_info_keys": ["age", "name"],
    }  # fmt: skip
    assert "홍길동" not in str(session.initial_data) + str(session.client_info)
    assert session.message_count == 1


def test_an_unrelated_question_gets_the_no_answer_reply_although_the_health_data_grounds_the_prompt(
    live_asgi_server, warmed_up
):
    _, key = warmed_up

    *_, (_, done, _) = stream_message(live_asgi_server, key, message="전혀 관계없는 우주선 질문", session_id="s-1")

    assert done["answer"] == NO_CONTEXT_ANSWER
    assert done["sources"] == []


def test_the_model_abstaining_over_the_health_data_is_logged_as_no_answer(live_asgi_server, warmed_up):
    partner_id, key = warmed_up

    stream_message(live_asgi_server, key, message="전혀 관계없는 우주선 질문", session_id="s-1")

    flush_log_outbox()
    info = MessageLog.objects.get(collection_name=partner_id, message_type="assistant").retrieval_info
    assert info["no_answer"] is True
    assert info["model_abstained"] is True
