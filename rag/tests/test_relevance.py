"""The relevance decision: the page that answers a question grounds it; a page on the same topic does not."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rag.models import Chunk
from rag.services.relevance import bigram_coverage, ground
from rag.services.search import search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

QUESTION = "2024년도 한국은행의 대정부 일시대출금 한도는 얼마이며 어떤 조건이 붙었나요?"
ANSWER = (
    "2024년도 한국은행의 대정부 일시대출금 한도는 총 50조 원으로 지난해와 동일한 수준을 유지하였다. 정부는 "
    "일시차입금 평잔이 재정증권 평잔을 넘지 않도록 관리하고, 매주 차입·상환 일정을 한국은행과 사전에 협의하기로 하였다."
)
# The same bank, year, committee and the words "대출", "한도" - but another loan programme.
RELATED = (
    "한국은행은 2024년 1월 금융통화위원회 의견을 거쳐 금융중개지원대출의 총 한도를 9조 원으로 정하였다. "
    "프로그램별 대출 한도와 금리는 지난해 수준을 유지하며, 대출 실적이 부진한 은행의 한도는 줄인다."
)
OTHERS = {
    "base-rate": "한국은행 금융통화위원회는 2월 회의에서 기준금리를 연 3.50%로 유지하였다. 물가상승률은 둔화 추세이다.",
    "shipping": "배송 안내: 평일 오후 2시 이전에 주문하면 당일 출고됩니다. 제주 지역은 배송비가 추가됩니다.",
}


@pytest.fixture
def rag_key():
    """A rag_key of its own: shared results are cached in Redis, which outlives each test's transaction."""
    return f"relevance-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def related_pages(rag_key):
    """A corpus about the bank's loans that lacks the page answering QUESTION."""
    add_document(RELATED, rag_key=rag_key, doc_id="loan-programme")
    for doc_id, text in OTHERS.items():
        add_document(text, rag_key=rag_key, doc_id=doc_id)


def judged(rag_key: str, query: str):
    return ground(query, search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=query, limit=5))


def test_an_unrelated_question_gets_no_answer(rag_key, related_pages):
    grounding = judged(rag_key, "전혀 관계없는 우주선 질문")

    assert grounding.candidates  # the search still returns its nearest chunks ...
    assert grounding.no_answer  # ... but none of them answers
    assert grounding.hits == []


def test_a_question_whose_answer_page_is_present_is_answered_from_it(rag_key, related_pages):
    add_document(ANSWER, rag_key=rag_key, doc_id="loan-limit")

    grounding = judged(rag_key, QUESTION)

    assert not grounding.no_answer
    assert [hit.doc_id for hit in grounding.hits] == ["loan-limit"]  # the related page does not ground it


def test_a_related_page_that_does_not_answer_gets_no_answer(rag_key, related_pages):
    grounding = judged(rag_key, QUESTION)

    assert grounding.candidates[0].doc_id == "loan-programme"  # the best the corpus has: same topic
    assert grounding.no_answer


def test_the_floor_decides_which_hits_ground_an_answer(rag_key, related_pages):
    hits = search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=QUESTION, limit=5)

    strict, lenient = ground(QUESTION, hits, floor=1.0), ground(QUESTION, hits, floor=0.0)

    assert strict.no_answer
    assert lenient.hits == hits
    assert strict.relevance == lenient.relevance


def test_relevance_is_computed_from_the_retrieved_hits_without_a_query(rag_key, related_pages):
    hits = search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=QUESTION, limit=5)

    with CaptureQueriesContext(connection) as queries:
        grounding = ground(QUESTION, hits)

    assert len(queries) == 0 and len(grounding.features) == len(hits)
    stored = dict(Chunk.objects.filter(pk__in=[hit.chunk_id for hit in hits]).values_list("id", "morphemes"))
    assert [hit.morphemes for hit in hits] == [stored[hit.chunk_id] for hit in hits]  # what the features read


def test_no_hits_mean_no_answer_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        grounding = ground(QUESTION, [])

    assert grounding.no_answer
    assert grounding.logged() == ([], [])


def test_word_pairs_count_only_when_adjacent_in_the_chunk():
    question = ["대정부", "일시", "대출금", "한도"]

    assert bigram_coverage(question, ["대정부", "일시", "대출금", "한도", "50조"]) == 1.0
    assert bigram_coverage(question, ["한도", "대출금", "일시", "대정부"]) == 0.0  # the same words, scattered
    assert bigram_coverage(["한도"], ["대출", "한도"]) == 1.0  # one content morpheme: whether the chunk has it
