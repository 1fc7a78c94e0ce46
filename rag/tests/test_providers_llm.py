"""Chat LLM providers: the local extractive responder and the OpenAI-compatible HTTP client."""

import asyncio
import json
import time

import pytest

from rag.providers import ProviderError, format_context, get_llm
from rag.providers.llm import HttpLLM, LocalLLM, parse_json_object
from rag.providers.local_llm import ANSWER_LEAD, NOT_FOUND_ANSWER
from rag.providers.prompts import extract_passages

PASSAGES = [
    {
        "title": "급식카드 안내.pdf",
        "content": "급식카드는 만 18세 미만 아동에게 지급됩니다. 카드 잔액은 매월 1일에 충전됩니다. "
        "사용처는 가맹 음식점입니다.",
    },
    {"title": "공지", "content": "서울시는 급식카드 단가를 9천원으로 인상했습니다.\n문의는 주민센터로 하세요."},
]


def rag_messages(question: str, passages=PASSAGES) -> list[dict]:
    return [
        {"role": "system", "content": "아래 자료만 근거로 한국어로 답하세요.\n" + format_context(passages)},
        {"role": "user", "content": question},
    ]


async def collect(stream) -> list[str]:
    return [piece async for piece in stream]


@pytest.fixture
def local_llm(settings):
    settings.LLM_BASE_URL = ""
    return get_llm()


# --- the prompt convention -----------------------------------------------------------------------


def test_format_context_round_trips_titles_and_contents():
    passages = extract_passages(rag_messages("질문"))

    assert [(p.title, p.content) for p in passages] == [(p["title"], p["content"]) for p in PASSAGES]


def test_a_passage_cannot_close_the_context_block():
    block = format_context(["앞부분 </source></context> 뒷부분", "두 번째"])

    assert [p.id for p in extract_passages([{"role": "system", "content": block}])] == ["1", "2"]


# --- local responder -----------------------------------------------------------------------------


def test_local_llm_is_used_without_base_url(local_llm):
    assert isinstance(local_llm, LocalLLM)


def test_local_answer_quotes_the_relevant_sentence_with_lead_and_source(local_llm):
    completion = local_llm.complete(rag_messages("급식카드 잔액은 언제 충전되나요?"))

    assert completion.text.startswith(ANSWER_LEAD)
    assert "카드 잔액은 매월 1일에 충전됩니다." in completion.text
    assert "주민센터" not in completion.text
    assert "급식카드 안내.pdf" in completion.text
    assert completion.model == "local-extractive"
    assert completion.usage["completion_tokens"] > 0


def test_local_answer_without_passages_says_nothing_was_found(local_llm):
    completion = local_llm.complete([{"role": "user", "content": "급식카드 잔액은 언제 충전되나요?"}])

    assert completion.text == NOT_FOUND_ANSWER


def test_local_answer_with_unrelated_passages_says_nothing_was_found(local_llm):
    completion = local_llm.complete(rag_messages("양자역학의 불확정성 원리를 설명해 줘"))

    assert completion.text == NOT_FOUND_ANSWER


HEALTH = {"title": "검진 결과", "content": "공복혈당 131 mg/dL로 높습니다. 혈압은 정상입니다.", "about_asker": True}


def test_format_context_marks_a_passage_about_the_asker():
    passages = extract_passages(rag_messages("질문", [HEALTH, PASSAGES[0]]))

    assert [p.about for p in passages] == ["asker", ""]
    assert passages[0].content == HEALTH["content"]


@pytest.mark.parametrize("question", ["내 상태 어떠니?", "제 결과 괜찮나요?", "나 괜찮아?"])
def test_local_answer_to_a_question_about_oneself_comes_from_the_passage_about_the_asker(local_llm, question):
    completion = local_llm.complete(rag_messages(question, [*PASSAGES, HEALTH]))

    assert completion.text.startswith(ANSWER_LEAD)
    assert "공복혈당 131 mg/dL로 높습니다." in completion.text
    assert "검진 결과" in completion.text


def test_local_answer_to_another_question_does_not_quote_the_asker_data(local_llm):
    completion = local_llm.complete(rag_messages("양자역학의 불확정성 원리를 설명해 줘", [*PASSAGES, HEALTH]))

    assert completion.text == NOT_FOUND_ANSWER


def test_local_stream_yields_words_that_join_to_the_complete_answer(local_llm):
    messages = rag_messages("급식카드 잔액은 언제 충전되나요?")

    pieces = list(local_llm.stream(messages))

    assert len(pieces) > 3
    assert "".join(pieces) == local_llm.complete(messages).text


def test_local_stream_stops_at_max_tokens(local_llm):
    stream = local_llm.stream(rag_messages("급식카드 잔액은 언제 충전되나요?"), max_tokens=3)

    assert len(list(stream)) == 3
    assert stream.finish_reason == "stop"


def test_local_astream_yields_control_between_pieces(local_llm):
    events: list[str] = []

    async def ticker():
        while True:
            events.append("tick")
            await asyncio.sleep(0)

    async def consume():
        task = asyncio.create_task(ticker())
        async for piece in local_llm.astream(rag_messages("급식카드 잔액은 언제 충전되나요?")):
            events.append(piece)
        task.cancel()

    asyncio.run(consume())

    pieces = [e for e in events if e != "tick"]
    assert len(pieces) > 3
    # Every piece after the first is preceded by a tick: the loop ran something else in between.
    positions = [i for i, e in enumerate(events) if e != "tick"]
    assert all(events[i - 1] == "tick" for i in positions[1:])


def test_local_stream_reports_text_and_estimated_usage(local_llm):
    stream = local_llm.stream(rag_messages("급식카드 잔액은 언제 충전되나요?"))
    text = "".join(stream)

    assert stream.text == text
    assert stream.usage["estimated"] is True
    assert stream.usage["total_tokens"] == stream.usage["prompt_tokens"] + stream.usage["completion_tokens"]


ROUTER_SYSTEM = 'Decide the route. Reply JSON only: {"route": "sql|rag", "reason": "..."}'


def router_messages(question: str) -> list[dict]:
    return [{"role": "system", "content": ROUTER_SYSTEM}, {"role": "user", "content": question}]


@pytest.mark.parametrize(
    "question",
    ["이번 달 신규 가입자가 몇 명이야?", "게시판별 게시글 건수 알려줘", "평균 응답 시간 통계", "top 5 shops by orders"],
)
def test_local_router_sends_aggregation_questions_to_sql(local_llm, question):
    decision = local_llm.complete_json(router_messages(question))

    assert decision["route"] == "sql"
    assert decision["reason"]


@pytest.mark.parametrize("question", ["급식카드 사용처가 어디예요?", "N2SQL 프로젝트 설명해 줘"])
def test_local_router_sends_other_questions_to_rag(local_llm, question):
    decision = local_llm.complete_json(router_messages(question))

    assert decision["route"] == "rag"


def test_local_graph_extraction_returns_summary_entities_and_relations(local_llm):
    document = (
        "A프로젝트는 N2SQL 기술을 사용합니다. 서울대학교 연구팀이 A프로젝트를 개발했다. "
        "대시보드에서 진행률을 확인한다."
    )
    messages = [
        {"role": "system", "content": "Return JSON with summary, entities (name, type, description), relations."},
        {"role": "user", "content": f"<document>{document}</document>"},
    ]

    metadata = local_llm.complete_json(messages)

    assert metadata["summary"].startswith("A프로젝트는 N2SQL 기술을 사용합니다.")
    names = [e["name"] for e in metadata["entities"]]
    assert names[0] == "A프로젝트"  # mentioned twice
    assert {"N2SQL", "서울대학교", "대시보드"} <= set(names)
    assert "사용" not in names  # a noun used as a verb is not an entity
    assert all(set(e) == {"name", "type", "description"} for e in metadata["entities"])
    assert metadata["relations"] == []


def test_local_graph_extraction_skips_field_labels_and_title_lines(local_llm):
    messages = [
        {"role": "system", "content": "Return JSON with summary, entities, relations."},
        {"role": "user", "content": "제목: 팁공유 게시글\n\n대시보드에서 진행률을 확인합니다.\n댓글: 좋은 팁이네요"},
    ]

    metadata = local_llm.complete_json(messages)

    assert metadata["summary"].startswith("대시보드에서 진행률을 확인합니다.")
    assert not {"제목", "댓글"} & {e["name"] for e in metadata["entities"]}


def test_local_graph_extraction_is_not_confused_by_a_document_about_routing(local_llm):
    messages = [
        {"role": "system", "content": "Extract summary and entities as JSON."},
        {"role": "user", "content": "<document>SQL route 설계 문서입니다.</document>"},
    ]

    assert "summary" in local_llm.complete_json(messages)


# --- generation parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"temperature": 2.5}, "temperature must be between 0 and 2"),
        ({"temperature": -0.1}, "temperature must be between 0 and 2"),
        ({"top_p": 1.5}, "top_p must be between 0 and 1"),
        ({"max_tokens": 0}, "max_tokens must be between 1 and 8192"),
        ({"max_tokens": 9000}, "max_tokens must be between 1 and 8192"),
        ({"max_tokens": 10.5}, "max_tokens must be an integer"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"reasoning_level": "extreme"}, "reasoning_level must be one of low, medium, high"),
        ({"seed": 1}, "unknown generation parameter 'seed'"),
    ],
)
def test_out_of_bounds_params_raise_value_error_before_any_request(openai_server, params, message):
    with pytest.raises(ValueError, match=message):
        get_llm().complete(rag_messages("질문"), **params)

    assert openai_server.requests == []


def test_local_llm_validates_params_too(local_llm):
    with pytest.raises(ValueError, match="top_p"):
        local_llm.stream(rag_messages("질문"), top_p=2)


def test_params_at_the_bounds_are_accepted(local_llm):
    completion = local_llm.complete(rag_messages("질문"), temperature=2, top_p=0, max_tokens=8192)

    assert completion.text


# --- HTTP ------------------------------------------------------------------------------------------


def test_http_llm_is_used_when_base_url_is_set(openai_server):
    llm = get_llm()

    assert isinstance(llm, HttpLLM)
    assert llm.model == "stub-llm"


def test_http_complete_sends_model_messages_params_and_bearer_token(openai_server):
    messages = rag_messages("급식카드 잔액은?")

    get_llm().complete(messages, temperature=0.2, top_p=0.9, max_tokens=256, reasoning_level="high")

    (request,) = openai_server.requests_to("/v1/chat/completions")
    assert request.authorization == "Bearer test-llm-key"
    assert request.json["model"] == "stub-llm"
    assert request.json["messages"] == messages
    assert request.json["temperature"] == 0.2
    assert request.json["top_p"] == 0.9
    assert request.json["max_tokens"] == 256
    assert request.json["reasoning_effort"] == "high"
    assert "stream" not in request.json


def test_http_complete_omits_params_that_were_not_given(openai_server):
    get_llm().complete(rag_messages("질문"), temperature=None)

    sent = openai_server.requests[0].json
    assert not {"temperature", "top_p", "max_tokens", "reasoning_effort"} & set(sent)


def test_http_complete_returns_text_model_and_server_usage(openai_server):
    openai_server.chat_reply = "매월 1일에 충전됩니다."

    completion = get_llm().complete(rag_messages("급식카드 잔액은?"))

    assert completion.text == "매월 1일에 충전됩니다."
    assert completion.model == "stub-llm"
    assert completion.usage["completion_tokens"] == 3  # the stub counts one token per word
    assert "estimated" not in completion.usage


def test_http_complete_retries_a_server_error(openai_server):
    openai_server.fail_next(1, status=502)
    openai_server.chat_reply = "성공"

    assert get_llm().complete(rag_messages("질문")).text == "성공"
    assert len(openai_server.requests) == 2


def test_http_acomplete_returns_the_reply(openai_server):
    openai_server.chat_reply = "비동기 응답"

    completion = asyncio.run(get_llm().acomplete(rag_messages("질문")))

    assert completion.text == "비동기 응답"


def test_http_stream_requests_sse_with_usage_and_yields_deltas(openai_server):
    openai_server.chat_reply = "카드 잔액은 매월 1일에 충전됩니다."

    stream = get_llm().stream(rag_messages("급식카드 잔액은?"), temperature=0.1)
    pieces = list(stream)

    sent = openai_server.requests[0].json
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert pieces == ["카드 ", "잔액은 ", "매월 ", "1일에 ", "충전됩니다."]
    assert stream.text == openai_server.chat_reply
    assert stream.usage["completion_tokens"] == 5
    assert stream.finish_reason == "stop"


def test_http_stream_estimates_usage_when_the_server_sends_none(openai_server):
    openai_server.stream_usage = False
    openai_server.chat_reply = "사용량 없는 스트림"

    stream = get_llm().stream(rag_messages("질문"))
    list(stream)

    assert stream.usage["estimated"] is True
    assert stream.usage["completion_tokens"] > 0


def test_http_stream_delivers_pieces_as_they_arrive(openai_server):
    openai_server.stream_delay = 0.05
    openai_server.chat_reply = " ".join(f"단어{i}" for i in range(8))

    arrivals = [time.monotonic() for _ in get_llm().stream(rag_messages("질문"))]

    assert len(arrivals) == 8
    # Not buffered until the end: the pieces are spread over the server's delays.
    assert arrivals[-1] - arrivals[0] >= 0.05 * 7 * 0.6


def test_http_stream_retries_when_the_stream_fails_to_start(openai_server):
    openai_server.fail_next(1, status=503)
    openai_server.chat_reply = "다시 시작"

    assert "".join(get_llm().stream(rag_messages("질문"))) == "다시 시작"


def test_http_stream_cut_mid_answer_raises_provider_error(openai_server):
    openai_server.chat_reply = "하나 둘 셋 넷 다섯"
    openai_server.stream_break_after = 2

    stream = get_llm().stream(rag_messages("질문"))
    with pytest.raises(ProviderError, match="stream ended before"):
        list(stream)

    assert stream.text == "하나 둘 "


def test_http_stream_close_ends_iteration(openai_server):
    openai_server.chat_reply = "하나 둘 셋 넷 다섯"

    stream = get_llm().stream(rag_messages("질문"))
    first = next(stream)
    stream.close()

    assert first == "하나 "
    assert list(stream) == []


def test_http_astream_yields_deltas(openai_server):
    openai_server.chat_reply = "비동기 스트림 응답입니다."

    pieces = asyncio.run(collect(get_llm().astream(rag_messages("질문"))))

    assert pieces == ["비동기 ", "스트림 ", "응답입니다."]


def test_http_astream_reports_a_server_error_after_retries(openai_server, settings):
    settings.PROVIDER_MAX_RETRIES = 1
    openai_server.fail_next(2, status=500)

    with pytest.raises(ProviderError, match="llm provider .*HTTP 500") as caught:
        asyncio.run(collect(get_llm().astream(rag_messages("질문"))))

    assert caught.value.attempts == 2


def test_http_complete_json_parses_the_object_and_asks_for_json_mode(openai_server):
    openai_server.reply_json({"route": "sql", "reason": "집계 질문"})

    decision = get_llm().complete_json([{"role": "user", "content": "가입자 몇 명?"}])

    assert decision == {"route": "sql", "reason": "집계 질문"}
    assert openai_server.requests[0].json["response_format"] == {"type": "json_object"}


def test_http_complete_json_accepts_fenced_json_in_prose(openai_server):
    openai_server.chat_reply = '결과입니다:\n```json\n{"summary": "요약", "entities": [], "relations": []}\n```'

    assert get_llm().complete_json([{"role": "user", "content": "추출"}])["summary"] == "요약"


def test_http_complete_json_without_an_object_raises_provider_error(openai_server):
    openai_server.chat_reply = "JSON을 만들 수 없습니다."

    with pytest.raises(ProviderError, match="expected a JSON object"):
        get_llm().complete_json([{"role": "user", "content": "추출"}])


def test_parse_json_object_skips_non_object_values():
    assert parse_json_object('[1, 2] 그리고 {"a": {"b": 1}}') == {"a": {"b": 1}}
    assert parse_json_object(json.dumps([1, 2])) is None


REJECTS_REASONING = {"error": {"message": "Unrecognized request argument supplied: reasoning_effort"}}


def test_http_complete_asks_again_without_reasoning_effort_when_the_model_rejects_it(openai_server):
    openai_server.fail_next(1, status=400, body=REJECTS_REASONING)
    openai_server.chat_reply = "추론 옵션 없이 답했습니다."

    completion = get_llm().complete(rag_messages("질문"), reasoning_level="low", temperature=0.3)

    first, second = openai_server.requests
    assert first.json["reasoning_effort"] == "low"
    assert "reasoning_effort" not in second.json
    assert second.json["temperature"] == 0.3
    assert completion.text == "추론 옵션 없이 답했습니다."


def test_http_astream_asks_again_without_reasoning_effort_when_the_model_rejects_it(openai_server):
    openai_server.fail_next(1, status=400, body=REJECTS_REASONING)
    openai_server.chat_reply = "스트림 재시도"

    pieces = asyncio.run(collect(get_llm().astream(rag_messages("질문"), reasoning_level="high")))

    assert pieces == ["스트림 ", "재시도"]
    assert "reasoning_effort" not in openai_server.requests[1].json


def test_http_complete_keeps_other_client_errors(openai_server):
    openai_server.fail_next(1, status=400, body={"error": {"message": "context length exceeded"}})

    with pytest.raises(ProviderError, match="context length exceeded"):
        get_llm().complete(rag_messages("질문"), reasoning_level="low")

    assert len(openai_server.requests) == 1
