"""The OpenAI-compatible API (/v1/), driven by the official `openai` package against a live ASGI server."""

import json

import httpx
import openai
import pytest

from analytics.models import ChatStatistics, MessageLog
from analytics.services.message_logs import flush_log_outbox
from analytics.services.statistics import roll_up
from chat.models import (
    Conversation,
    KnowledgeConversation,
    KnowledgeMessage,
    PartnerApiKey,
    PartnerChatTuningLog,
)
from chat.tests.conftest import KNOWLEDGE_KEY, add_document
from chat.tests.dining_factories import KONDAE, make_menu, make_shop
from chat.tests.router_support import catalogue  # noqa: F401  (a fixture)
from chat.tests.test_knowledge_sql_route import llm
from chat.tests.test_knowledge_streaming import WORDS, wait_for

MODEL = f"rag:{KNOWLEDGE_KEY}"
QUESTION = "환불은 며칠 안에 신청할 수 있나요?"
HERE = {"latitude": KONDAE.latitude, "longitude": KONDAE.longitude}


def sdk(server, credential) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=credential, max_retries=0, timeout=10)


def token_of(client) -> str:
    return client.token


@pytest.fixture
def alice(live_asgi_server, alice_client):
    return sdk(live_asgi_server, token_of(alice_client))


@pytest.fixture
def kimbap(db):
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 3500)
    return shop


def ask(client, content=QUESTION, *, history=(), model=MODEL, **options):
    return client.chat.completions.create(
        model=model, messages=[*history, {"role": "user", "content": content}], **options
    )


# --- models ---------------------------------------------------------------------------------------


def test_models_list_the_callers_knowledge_bases_and_dining(alice, bob_client, knowledge_corpus):
    add_document(owner=bob_client.user, filename="bob.txt", content="밥의 비밀 메모", rag_key="bob-only")

    ids = [model.id for model in alice.models.list()]

    assert ids == [MODEL, "dining"]


def test_a_users_own_documents_make_their_knowledge_base_a_model(live_asgi_server, bob_client, knowledge_corpus):
    add_document(owner=bob_client.user, filename="bob.txt", content="밥의 비밀 메모", rag_key="bob-only")

    ids = [model.id for model in sdk(live_asgi_server, token_of(bob_client)).models.list()]

    assert ids == ["rag:bob-only", MODEL, "dining"]


def test_another_users_knowledge_base_is_an_unknown_model(alice, bob_client, knowledge_corpus):
    add_document(owner=bob_client.user, filename="bob.txt", content="밥의 비밀 메모", rag_key="bob-only")

    with pytest.raises(openai.NotFoundError) as raised:
        ask(alice, model="rag:bob-only")

    assert raised.value.body == {
        "message": "`rag:bob-only` 모델이 없거나 접근 권한이 없습니다.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert not KnowledgeConversation.objects.exists()


def test_a_model_can_be_retrieved_by_id(alice, knowledge_corpus):
    model = alice.models.retrieve(MODEL)

    assert (model.id, model.object, model.owned_by) == (MODEL, "model", "chatbots")
    assert model.created == int(knowledge_corpus["refund.txt"].created_at.timestamp())


# --- knowledge models -----------------------------------------------------------------------------


def test_plain_completion_is_a_knowledge_chat_turn(alice, alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = "7일 이내에 신청하세요."

    completion = ask(alice)

    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "7일 이내에 신청하세요."
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra["knowledge"]
    answer = KnowledgeMessage.objects.get(pk=extra["message_id"])
    question = answer.conversation.messages.get(role="user")
    assert completion.id == f"chatcmpl-rag-{question.pk}"
    assert (answer.content, answer.status, answer.route) == ("7일 이내에 신청하세요.", "complete", "rag")
    assert answer.conversation.user == alice_client.user
    assert str(answer.conversation_id) == extra["conversation_id"]
    assert extra["sources"][0]["filename"] == "refund.txt"
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_generation_parameters_reach_the_model(alice, knowledge_corpus, openai_server):
    ask(alice, temperature=0.2, top_p=0.5, max_tokens=64)

    sent = openai_server.requests_to("/chat/completions")[-1].json
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.5, 64)


def test_system_messages_are_added_to_the_instructions(alice, knowledge_corpus, openai_server):
    ask(alice, history=[{"role": "system", "content": "항상 존댓말로 짧게 답하세요."}])

    system = openai_server.requests_to("/chat/completions")[-1].json["messages"][0]
    assert system["role"] == "system"
    assert "항상 존댓말로 짧게 답하세요." in system["content"]
    assert "<context>" in system["content"]  # the knowledge chat's own grounding is kept


def test_a_multi_turn_history_continues_the_stored_conversation(alice, knowledge_corpus, openai_server):
    openai_server.chat_reply = "7일 이내입니다."
    first = ask(alice)
    openai_server.chat_reply = "3일 안에 돌려드립니다."
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "7일 이내입니다."}]

    second = ask(alice, "환불 금액은 언제 들어오나요?", history=history)

    conversation_id = first.model_extra["knowledge"]["conversation_id"]
    assert second.model_extra["knowledge"]["conversation_id"] == conversation_id
    stored = KnowledgeMessage.objects.filter(conversation_id=conversation_id).order_by("id")
    follow_up = "환불 금액은 언제 들어오나요?"
    assert [m.content for m in stored] == [QUESTION, "7일 이내입니다.", follow_up, "3일 안에 돌려드립니다."]
    sent = openai_server.requests_to("/chat/completions")[-1].json["messages"]
    assert [m["content"] for m in sent[1:]] == [QUESTION, "7일 이내입니다.", follow_up]


def test_a_history_the_server_never_saw_is_still_the_models_context(alice, knowledge_corpus, openai_server):
    history = [{"role": "user", "content": "배송은 언제 돼요?"}, {"role": "assistant", "content": "당일 출고됩니다."}]

    completion = ask(alice, history=history)

    conversation = KnowledgeConversation.objects.get(pk=completion.model_extra["knowledge"]["conversation_id"])
    assert conversation.messages.count() == 2  # a new conversation: only this exchange is stored
    sent = openai_server.requests_to("/chat/completions")[-1].json["messages"]
    assert [m["content"] for m in sent[1:]] == ["배송은 언제 돼요?", "당일 출고됩니다.", QUESTION]


def test_retrieval_keeps_each_users_documents_to_themselves(alice, private_notes, openai_server):
    completion = ask(alice, "우리 프로젝트의 코드명은 뭐야?")

    filenames = {source["filename"] for source in completion.model_extra["knowledge"]["sources"]}
    assert "alice_notes.txt" in filenames
    assert "bob_notes.txt" not in filenames
    prompt = openai_server.requests_to("/chat/completions")[-1].json["messages"][0]["content"]
    assert "붉은여우" not in prompt


def test_streaming_sends_chunks_then_the_finish_and_usage(alice, knowledge_corpus, openai_server):
    openai_server.chat_reply = " ".join(WORDS[:6])

    chunks = list(ask(alice, stream=True, stream_options={"include_usage": True}))

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == " ".join(WORDS[:6])
    finish, usage = chunks[-2], chunks[-1]
    assert finish.choices[0].finish_reason == "stop"
    answer = KnowledgeMessage.objects.get(pk=finish.model_extra["knowledge"]["message_id"])
    assert (answer.content, answer.status) == (text, "complete")
    assert usage.choices == [] and usage.usage.completion_tokens > 0
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_a_stream_ends_with_done(live_asgi_server, alice_client, knowledge_corpus, openai_server):
    body = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": True}

    response = httpx.post(
        f"{live_asgi_server.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {token_of(alice_client)}"},
        timeout=10,
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    messages = [line for line in response.text.split("\n\n") if line]
    assert messages[-1] == "data: [DONE]"
    assert "usage" not in json.loads(messages[-2].removeprefix("data: "))  # include_usage was not asked for


def test_a_client_that_disconnects_stops_generation(alice, knowledge_corpus, openai_server):
    openai_server.chat_reply = " ".join(WORDS)
    openai_server.stream_delay = 0.1  # three seconds for the whole answer

    stream = ask(alice, stream=True)
    for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    stream.close()

    answer = wait_for(lambda: KnowledgeMessage.objects.filter(role="assistant").first())
    assert answer.status == "partial"
    assert len(answer.content.split()) < len(WORDS)


def test_a_provider_failure_mid_stream_is_an_error_event(alice, knowledge_corpus, openai_server):
    openai_server.fail_next(20, status=503)

    with pytest.raises(openai.APIError) as raised:
        list(ask(alice, stream=True))

    assert raised.value.body["code"] == "generation_failed"
    assert KnowledgeMessage.objects.get(role="assistant").status == "error"


def test_staff_questions_go_through_the_sql_router(live_asgi_server, staff_client, knowledge_corpus, catalogue, openai_server):  # noqa: E501, F811
    openai_server.chat_reply = llm(sql='SELECT count(*) AS "가게 수" FROM shops')

    completion = ask(sdk(live_asgi_server, token_of(staff_client)), "가게가 몇 개야?")

    assert completion.model_extra["knowledge"]["route"] == "sql"
    assert "가게 수" in completion.choices[0].message.content


# --- dining ---------------------------------------------------------------------------------------


def test_dining_answers_with_recommendations_in_the_extra_field(alice, alice_client, kimbap):
    completion = ask(alice, "5천원으로 점심 뭐 먹지?", model="dining", extra_body={"location": HERE})

    assert "김밥천국" in completion.choices[0].message.content
    dining = completion.model_extra["dining"]
    assert dining["recommendations"][0]["shop_name"] == "김밥천국"
    turn = Conversation.objects.get(pk=dining["conversation_id"])
    assert completion.id == f"chatcmpl-dining-{turn.pk}"
    assert (turn.user.auth_user, turn.response_text) == (alice_client.user, completion.choices[0].message.content)
    assert str(turn.session_id) == dining["session_id"]


def test_dining_streams_the_answer(alice, kimbap):
    chunks = list(
        ask(
            alice,
            "5천원으로 점심 뭐 먹지?",
            model="dining",
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"location": HERE},
        )
    )

    assert "김밥천국" in "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-2].model_extra["dining"]["recommendations"][0]["shop_name"] == "김밥천국"
    assert chunks[-1].usage.total_tokens > 0


def test_a_dining_history_continues_the_session(alice, kimbap):
    first = ask(alice, "5천원으로 점심 뭐 먹지?", model="dining", extra_body={"location": HERE})
    history = [
        {"role": "user", "content": "5천원으로 점심 뭐 먹지?"},
        {"role": "assistant", "content": first.choices[0].message.content},
    ]

    second = ask(alice, "그럼 8천원이면?", model="dining", history=history, extra_body={"location": HERE})

    assert second.model_extra["dining"]["session_id"] == first.model_extra["dining"]["session_id"]
    assert second.model_extra["dining"]["session_info"]["conversation_turn"] == 2


# --- partner keys ---------------------------------------------------------------------------------


@pytest.fixture
def medilinx(live_asgi_server, partner_client):
    """The OpenAI client of partner medilinx, whose own knowledge base holds one shared document."""
    add_document(owner=None, filename="checkup.txt", content="공복 혈당 100 미만은 정상입니다.", rag_key="medilinx")
    _, key = PartnerApiKey.issue(partner_client.partner)
    return sdk(live_asgi_server, key)


def test_a_partner_key_lists_only_its_own_knowledge_base(medilinx, knowledge_corpus):
    assert [model.id for model in medilinx.models.list()] == ["rag:medilinx"]


def test_a_partner_key_cannot_use_another_knowledge_base_or_dining(medilinx, knowledge_corpus):
    with pytest.raises(openai.NotFoundError):
        ask(medilinx, model=MODEL)
    with pytest.raises(openai.PermissionDeniedError) as raised:
        ask(medilinx, model="dining")

    assert raised.value.body["type"] == "permission_error"


def test_a_partner_completion_is_a_partner_chat_turn_in_a_new_session(medilinx, openai_server):
    openai_server.chat_reply = "정상 범위입니다."

    completion = ask(medilinx, "공복 혈당 95면 괜찮아?", model="rag:medilinx", user="patient-7")

    assert completion.choices[0].message.content == "정상 범위입니다."
    extra = completion.model_extra["partner"]
    session = PartnerChatTuningLog.objects.get(partner_id="medilinx", session_id=extra["session_id"])
    assert (session.user_uuid, session.message_count, extra["message_count"]) == ("patient-7", 1, 1)
    assert [entry["content"] for entry in session.conversation] == ["공복 혈당 95면 괜찮아?", "정상 범위입니다."]
    assert extra["sources"][0]["filename"] == "checkup.txt"
    flush_log_outbox()
    log = MessageLog.objects.get(session_id=extra["session_id"], message_type="assistant")
    assert (log.channel, log.collection_name) == ("openai", "medilinx")


def test_a_partner_thread_continues_its_session_when_streamed(medilinx, openai_server):
    openai_server.chat_reply = "정상 범위입니다."
    first = ask(medilinx, "공복 혈당 95면 괜찮아?", model="rag:medilinx")
    history = [
        {"role": "user", "content": "공복 혈당 95면 괜찮아?"},
        {"role": "assistant", "content": "정상 범위입니다."},
    ]
    openai_server.chat_reply = "네, 그렇습니다."

    chunks = list(ask(medilinx, "공복 혈당 110이면 괜찮아?", model="rag:medilinx", history=history, stream=True))

    extra = chunks[-1].model_extra["partner"]
    assert extra["session_id"] == first.model_extra["partner"]["session_id"]
    assert extra["message_count"] == 2
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "네, 그렇습니다."


# --- logging and analytics ------------------------------------------------------------------------


def test_every_turn_is_logged_and_counted_under_the_openai_channel(alice, knowledge_corpus, kimbap, openai_server):
    rag = ask(alice)
    dining = ask(alice, "5천원으로 점심 뭐 먹지?", model="dining", extra_body={"location": HERE})

    roll_up()  # flushes the log outbox first

    logs = MessageLog.objects.filter(channel="openai", message_type="assistant")
    assert sorted(logs.values_list("session_id", flat=True)) == sorted(
        [rag.model_extra["knowledge"]["conversation_id"], dining.model_extra["dining"]["session_id"]]
    )
    counted = ChatStatistics.objects.filter(period="hour", channel="openai")
    assert dict(counted.values_list("collection_name", "total_queries")) == {KNOWLEDGE_KEY: 1, "dining": 1}


# --- errors ---------------------------------------------------------------------------------------


def test_a_wrong_token_is_a_401(live_asgi_server, db):
    with pytest.raises(openai.AuthenticationError) as raised:
        sdk(live_asgi_server, "not-a-token").models.list()

    assert raised.value.body["type"] == "authentication_error"
    assert raised.value.response.headers["www-authenticate"] == "Bearer"


def test_n_other_than_one_is_a_400_naming_the_parameter(alice, knowledge_corpus):
    with pytest.raises(openai.BadRequestError) as raised:
        ask(alice, n=2)

    assert raised.value.body == {
        "message": "n: n=1만 지원합니다.",
        "type": "invalid_request_error",
        "param": "n",
        "code": "invalid",
    }


def test_the_last_message_must_be_the_users(alice, knowledge_corpus):
    with pytest.raises(openai.BadRequestError) as raised:
        alice.chat.completions.create(model=MODEL, messages=[{"role": "assistant", "content": "안녕하세요"}])

    assert raised.value.body["param"] == "messages"


def test_the_rate_limit_is_a_429_with_retry_after(alice, knowledge_corpus, settings):
    settings.API_RATE_LIMIT = "1/hour"  # an hourly window: no test straddles its edge
    alice.models.list()

    with pytest.raises(openai.RateLimitError) as raised:
        alice.models.list()

    assert raised.value.body["type"] == "rate_limit_error"
    assert int(raised.value.response.headers["retry-after"]) >= 1


def test_an_unknown_endpoint_is_a_404_in_the_openai_shape(live_asgi_server, db):
    response = httpx.get(f"{live_asgi_server.url}/v1/embeddings", timeout=10)

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def assert_openai_error(response, status: int, code: str, error_type: str = "invalid_request_error") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = json.loads(response.content)["error"]
    assert (error["code"], error["type"]) == (code, error_type)
    assert error["message"]
    return error


def test_a_nul_byte_in_the_url_is_a_400_in_the_openai_shape(client, db):
    assert_openai_error(client.get("/v1/models?owner=a%00b"), 400, "invalid")


def test_a_host_django_refuses_is_a_400_in_the_openai_shape(client, db):
    assert_openai_error(client.get("/v1/models", HTTP_HOST="evil..example"), 400, "bad_request")


def test_a_server_error_under_v1_is_a_500_in_the_openai_shape(rf):
    from config.urls import handler500

    response = handler500(rf.get("/v1/chat/completions"))

    assert_openai_error(response, 500, "server_error", error_type="server_error")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": QUESTION}]}, "model"),
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL, "messages": "질문"}, "messages"),
        ({"model": MODEL, "messages": [{"role": "tool", "content": "x"}]}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "   "}]}, "messages"),
        ({"model": "dining", "messages": [{"role": "user", "content": None}]}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": {"text": "x"}}]}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "temperature": 3}, "temperature"),
        ({"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 0}, "max_tokens"),
        ({"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": "often"}, "stream"),
    ],
)
def test_bad_requests_are_400s_naming_the_field(alice_client, knowledge_corpus, body, param):
    response = alice_client.post("/v1/chat/completions", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert error["message"]
    assert not KnowledgeConversation.objects.exists()


def test_malformed_json_is_a_400_in_the_openai_shape(alice_client):
    response = alice_client.post("/v1/chat/completions", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_text_content_parts_are_joined_into_the_question(alice_client, knowledge_corpus, openai_server):
    parts = [{"type": "text", "text": "환불은 "}, {"type": "text", "text": "며칠 안에 되나요?"}]

    response = alice_client.post(
        "/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": parts}]}, format="json"
    )

    assert response.status_code == 200
    assert KnowledgeMessage.objects.get(role="user").content == "환불은 며칠 안에 되나요?"


# --- feedback on /v1 turns ------------------------------------------------------------------------


def test_a_knowledge_answer_given_through_v1_takes_feedback_by_its_message_id(
    alice, alice_client, knowledge_corpus, openai_server
):
    answer_id = ask(alice).model_extra["knowledge"]["message_id"]

    response = alice_client.post(f"/api/v1/rag/messages/{answer_id}/feedback", {"vote": "down"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["vote"] == "down"


def test_a_dining_turn_given_through_v1_takes_feedback_by_its_conversation_id(alice, alice_client, kimbap):
    completion = ask(alice, "5천원으로 점심 뭐 먹지?", model="dining", extra_body={"location": HERE})
    turn_id = completion.model_extra["dining"]["conversation_id"]

    response = alice_client.post(f"/api/v1/chat/turns/{turn_id}/feedback", {"vote": "up", "rating": 5}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["vote"], response.json()["rating"]) == ("up", 5)
