"""Search scores are absolute: they depend on the query and the chunk, not on the other candidates."""

import uuid

import pytest

from rag.services.search import search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

QUESTION = "급식카드 재발급은 어떻게 하나요?"


@pytest.fixture
def rag_key():
    """A rag_key of its own: shared results are cached in Redis, which outlives each test's transaction."""
    return f"scores-{uuid.uuid4().hex[:12]}"


def scores(rag_key: str, query: str = QUESTION, **options) -> dict[str, float]:
    hits = search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=query, **options)
    return {hit.doc_id: hit.score for hit in hits}


@pytest.fixture
def guide(rag_key):
    for doc_id, part, text in (
        ("reissue", 1, "급식카드를 잃어버리면 주민센터에서 재발급을 신청합니다."),
        ("balance", 2, "급식카드 잔액은 문자로 안내됩니다."),
        ("shops", 2, "가맹점 목록은 구청 누리집에 있습니다."),
    ):
        add_document(text, rag_key=rag_key, doc_id=doc_id, metadata={"part": part})


@pytest.mark.parametrize("mode", ["hybrid", "vector", "text"])
def test_a_lone_hit_scores_above_zero(rag_key, mode):
    add_document("급식카드를 잃어버리면 주민센터에서 재발급을 신청합니다.", rag_key=rag_key, doc_id="only")

    found = scores(rag_key, mode=mode)

    assert list(found) == ["only"]
    assert 0 < found["only"] <= 1


def test_the_last_candidate_does_not_score_zero(rag_key, guide):
    found = scores(rag_key, limit=3)

    assert len(found) == 3
    assert min(found.values()) > 0


@pytest.mark.parametrize("mode", ["hybrid", "vector", "text"])
def test_a_chunk_scores_the_same_whatever_else_is_a_candidate(rag_key, guide, mode):
    # Filters narrow the candidates but not the BM25 statistics; the limit changes the candidate pools.
    everything = scores(rag_key, mode=mode, limit=10)

    alone = scores(rag_key, mode=mode, filters={"part": 1})
    top_only = scores(rag_key, mode=mode, limit=1)

    assert alone == {"reissue": everything["reissue"]}
    assert top_only == {"reissue": everything["reissue"]}


def test_an_unrelated_question_scores_far_below_a_related_one(rag_key, guide):
    related = scores(rag_key)["reissue"]

    unrelated = scores(rag_key, "전혀 관계없는 우주선 질문")

    assert max(unrelated.values()) < related / 10


@pytest.mark.parametrize("query", ["은 는 이 가", "을를에서", "을 를"])
def test_a_query_of_particles_only_finds_nothing(rag_key, guide, query):
    assert scores(rag_key, query) == {}
