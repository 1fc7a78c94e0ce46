"""The model's own no-answer: NO_ANSWER_MARK at the start of an answer, whole or streamed (rag.providers.prompts)."""

import asyncio

import pytest

from rag.providers import format_context
from rag.providers.local_llm import NOT_FOUND_ANSWER, answer
from rag.providers.prompts import NO_ANSWER_INSTRUCTION, NO_ANSWER_MARK, NoAnswerWatch, abstains

GUIDE = {"title": "환불 안내", "content": "상품을 받은 날부터 7일 이내에 환불을 신청할 수 있습니다."}


def watched(deltas: list[str]) -> tuple[str, bool]:
    """What a stream of `deltas` passes on through a NoAnswerWatch, and whether it abstained."""
    watch = NoAnswerWatch()
    passed = "".join(watch.feed(delta) for delta in deltas) + watch.flush()
    return passed, watch.abstained


def prompt(question: str, passages, *, instructed: bool = True) -> list[dict]:
    instructions = "자료만 근거로 답하세요. " + (NO_ANSWER_INSTRUCTION if instructed else "")
    system = instructions + "\n" + format_context(passages)
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


@pytest.mark.parametrize("text", [NO_ANSWER_MARK, f"  {NO_ANSWER_MARK}", f"{NO_ANSWER_MARK} 자료에 없습니다."])
def test_an_answer_starting_with_the_mark_abstains(text):
    assert abstains(text)


@pytest.mark.parametrize("text", ["환불은 7일 이내입니다 [1]", "[1] 환불은 7일 이내", f"답: {NO_ANSWER_MARK}", ""])
def test_an_answer_with_the_mark_elsewhere_or_none_does_not_abstain(text):
    assert not abstains(text)


def test_a_mark_split_over_deltas_is_held_back_and_abstains():
    assert watched(["[NO", "_ANS", "WER]", " 이후 문장"]) == ("", True)


def test_an_answer_opening_with_a_bracket_is_passed_on_whole_once_it_cannot_be_the_mark():
    assert watched(["[", "1", "] 환불은 ", "7일 이내입니다."]) == ("[1] 환불은 7일 이내입니다.", False)


def test_an_ordinary_answer_is_passed_on_delta_by_delta():
    watch = NoAnswerWatch()

    assert [watch.feed(delta) for delta in ["환불은 ", "7일 ", "이내입니다."]] == ["환불은 ", "7일 ", "이내입니다."]


def test_a_stream_ending_inside_a_possible_mark_gives_back_what_it_held():
    assert watched(["[NO_"]) == ("[NO_", False)


def test_the_local_responder_abstains_with_the_mark_when_asked_and_nothing_answers():
    assert answer(prompt("양자역학의 불확정성 원리를 설명해 줘", [GUIDE])) == NO_ANSWER_MARK


def test_the_local_responder_still_answers_what_the_passages_cover_when_asked_for_the_mark():
    assert "7일 이내" in answer(prompt("환불은 언제까지 신청하나요?", [GUIDE]))


def test_a_passage_quoting_the_mark_is_not_the_instruction():
    quoting = {"title": "문서", "content": f"모델은 {NO_ANSWER_MARK} 로 답하지 않음을 알린다."}

    assert answer(prompt("양자역학의 불확정성 원리를 설명해 줘", [quoting], instructed=False)) == NOT_FOUND_ANSWER


def test_a_watched_stream_stops_reading_once_the_model_abstains():
    read = []

    async def deltas():
        for delta in ["[NO_", "ANSWER]", " 더 생성된 문장", " 그리고 또"]:
            read.append(delta)
            yield delta

    async def passed():
        return [piece async for piece in NoAnswerWatch().passed(deltas())]

    assert asyncio.run(passed()) == []
    assert read == ["[NO_", "ANSWER]"]  # the rest is left for the caller to stop by closing the stream
