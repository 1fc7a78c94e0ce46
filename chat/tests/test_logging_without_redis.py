"""Logging needs neither Redis nor the worker: with both gone every chat channel answers and its log lands."""

import httpx
import pytest

from analytics.models import LogOutboxRecord, MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.services import partner_chat
from chat.services.dining_chat import handle_turn
from chat.tests.conftest import KNOWLEDGE_KEY
from chat.tests.dining_factories import KONDAE, make_chat_user, make_menu, make_shop
from chat.tests.partner_helpers import MESSAGE, auth, partner_with_key, read_events


def logged_sessions() -> set[str]:
    flush_log_outbox()  # what the worker's next flush does once it runs again
    return set(MessageLog.objects.values_list("session_id", flat=True))


def test_a_knowledge_chat_turn_answers_and_is_logged_while_redis_is_down(alice_client, knowledge_corpus, redis_down):
    response = alice_client.post(
        "/api/v1/rag/chat", {"message": "환불은 며칠 안에 신청할 수 있나요?", "rag_key": KNOWLEDGE_KEY}, format="json"
    )

    assert response.status_code == 200, response.content
    assert LogOutboxRecord.objects.count() == 1  # stored with the answer, in the chat's transaction
    assert logged_sessions() == {response.json()["conversation_id"]}


@pytest.mark.django_db
def test_a_dining_chat_turn_answers_and_is_logged_while_redis_is_down(redis_down):
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 3500)
    user = make_chat_user(data_completeness="0.80", preferred_categories=["분식"], average_budget=6000)

    body = handle_turn(
        chat_user=user,
        message="5천원으로 점심 뭐 먹지?",
        session_id=None,
        location={"latitude": KONDAE.latitude, "longitude": KONDAE.longitude},
        context=None,
    )

    assert "김밥천국" in body["response"]
    assert logged_sessions() == {body["session_info"]["session_id"]}


def test_a_partner_message_streams_and_is_logged_while_redis_is_down(live_asgi_server, redis_down, settings):
    settings.LLM_BASE_URL = ""  # the local responder
    _, key = partner_with_key("medilinx", "Medilinx")
    partner_chat.warm_up(partner_id="medilinx", session_id="sess-1", initial_data={"health_data": "LDL 160"})

    with httpx.stream(
        "POST", live_asgi_server.url + MESSAGE, json={"session_id": "sess-1", "message": "콜레스테롤은 어때요?"},
        headers=auth(key), timeout=20,
    ) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        events = read_events(response.iter_lines())

    assert events[-1][0] == "done"
    assert logged_sessions() == {"sess-1"}
