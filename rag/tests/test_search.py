"""Search quality on a small in-repo Korean corpus, completeness for few-document users, shared cache."""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Chunk
from rag.services import search as search_service
from rag.services.search import search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

CORPUS = json.loads((Path(__file__).parent / "data" / "korean_corpus.json").read_text(encoding="utf-8"))


@pytest.fixture
def corpus():
    for item in CORPUS["documents"]:
        add_document(item["content"], rag_key="guide", doc_id=item["doc_id"])


def ranks(mode: str) -> list[int | None]:
    result = []
    for question in CORPUS["questions"]:
        hits = search(user=None, rag_key="guide", rag_type="chatbot_shared", query=question["query"], limit=5,
                      mode=mode)
        doc_ids = [hit.doc_id for hit in hits]
        result.append(doc_ids.index(question["answer"]) + 1 if question["answer"] in doc_ids else None)
    return result


def test_hybrid_search_answers_every_question_in_the_top_3(corpus):
    found = ranks("hybrid")

    misses = [(rank, q["query"]) for rank, q in zip(found, CORPUS["questions"], strict=True) if not rank or rank > 3]
    assert misses == []
    assert sum(rank == 1 for rank in found) >= 10, found


def test_hybrid_is_never_worse_than_either_retriever_alone(corpus):
    def mrr(found):
        return sum(1 / rank for rank in found if rank) / len(found)

    hybrid = mrr(ranks("hybrid"))

    assert hybrid >= mrr(ranks("text")) - 1e-9
    assert hybrid >= mrr(ranks("vector")) - 1e-9


def test_bm25_prefers_rare_terms_over_common_ones():
    # "급식카드" is in every document, "재발급" in one: IDF must make the rare term decide.
    add_document("급식카드 급식카드 급식카드 이용 안내", doc_id="common")
    add_document("급식카드 재발급 절차 안내", doc_id="rare")
    add_document("급식카드 가맹점 안내", doc_id="other")

    hits = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="급식카드 재발급", mode="text")

    assert hits[0].doc_id == "rare"


def test_metadata_filters_narrow_the_results():
    add_document("공지: 급식 일정", doc_id="a", metadata={"batch_id": 1, "tags": ["공지"]}, source_type="board_post")
    add_document("공지: 급식 일정 변경", doc_id="b", metadata={"batch_id": 2, "tags": ["일정"]})

    def doc_ids(filters):
        hits = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="급식 일정", filters=filters)
        return {hit.doc_id for hit in hits}

    assert doc_ids({"batch_id": 2}) == {"b"}
    assert doc_ids({"tags": "공지"}) == {"a"}
    assert doc_ids({"source_type": "board_post"}) == {"a"}


def test_user_with_few_chunks_gets_all_of_them_even_on_the_hnsw_path(django_user_model, monkeypatch):
    # Many other users' chunks fill the table; the HNSW neighbours of the query are theirs, not carol's.
    others = [django_user_model.objects.create_user(f"user{i}") for i in range(3)]
    for i in range(24):
        add_document(f"다른 사용자의 급식 메모 {i}번: 점심 메뉴와 잔액 기록", owner=others[i % 3], doc_id=f"m{i}")
    carol = django_user_model.objects.create_user("carol")
    for i in range(3):
        add_document(f"캐롤의 여행 일정 {i}: 제주도 숙소 예약", owner=carol, doc_id=f"c{i}")
    monkeypatch.setattr(search_service, "EXACT_SCAN_MAX_ROWS", 0)  # force the HNSW branch
    scope = search_service.visible_chunks(user=carol, rag_key="kb", rag_type="user_isolated")
    vector = search_service.embed_query("급식 메모 점심 메뉴")

    post_filtered = search_service.hnsw_vector_scan(scope, vector, k=5, fetch=5)
    complete = search_service.vector_candidates(scope, vector, k=5, scope_rows=3)

    assert len(post_filtered) < 3  # the pitfall: a filtered index scan comes back short
    assert len(complete) == 3
    hits = search(user=carol, rag_key="kb", rag_type="user_isolated", query="급식 메모 점심 메뉴", mode="vector")
    assert len(hits) == 3


def test_shared_results_are_cached_until_shared_documents_change(django_capture_on_commit_callbacks):
    add_document("도서관 운영시간은 오전 9시부터입니다.", doc_id="library")
    first = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="도서관 운영시간")
    Chunk.objects.update(content="캐시를 거치지 않으면 보이는 변경")  # a write that bypasses the services

    cached = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="도서관 운영시간")
    with django_capture_on_commit_callbacks(execute=True):  # the version bump runs on commit
        add_document("도서관 휴관일은 매주 월요일입니다.", doc_id="library-closed")
    fresh = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="도서관 운영시간")

    assert cached == first
    assert "캐시를 거치지 않으면 보이는 변경" in [hit.content for hit in fresh]


def test_user_results_are_never_cached(django_user_model):
    dave = django_user_model.objects.create_user("dave")
    add_document("데이브의 메모: 도서관", owner=dave)
    search(user=dave, rag_key="kb", rag_type="user_isolated", query="도서관")
    Chunk.objects.update(content="바뀐 메모")

    hits = search(user=dave, rag_key="kb", rag_type="user_isolated", query="도서관")

    assert hits[0].content == "바뀐 메모"


def test_bad_search_input_is_a_400(alice_client):
    response = alice_client.post(
        "/api/v1/rag/search", {"rag_key": "kb", "rag_type": "everyone", "query": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_search_api_accepts_the_seeds_form_encoding(alice_client):
    add_document("회사 반환 정책: 구매 후 7일 이내 환불", doc_id="policy")

    response = alice_client.post(
        "/api/v1/rag/search", "rag_key=kb&rag_type=chatbot_shared&query=반환 정책&limit=5",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.json()["results"][0]["doc_id"] == "policy"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_filters_in_a_form_body_are_the_objects_json_text(alice_client, content_type):
    add_document("급식 일정 공지", doc_id="notice", metadata={"tags": ["공지"]})
    add_document("급식 일정 안내", doc_id="guide", metadata={"tags": ["안내"]})
    body = {"rag_key": "kb", "rag_type": "chatbot_shared", "query": "급식 일정", "filters": '{"tags": ["공지"]}'}

    response = alice_client.post("/api/v1/rag/search", **form(content_type, body))

    assert response.status_code == 200, response.content
    assert [hit["doc_id"] for hit in response.json()["results"]] == ["notice"]


@pytest.mark.parametrize("filters", ["0", "태그", "[1]"])
def test_form_filters_that_are_not_a_json_object_are_a_400(alice_client, filters):
    body = {"rag_key": "kb", "rag_type": "chatbot_shared", "query": "급식", "filters": filters}

    response = alice_client.post("/api/v1/rag/search", **form("application/x-www-form-urlencoded", body))

    assert response.status_code == 400
    assert response.json()["error"]["details"]["filters"]


def test_form_filters_sent_as_a_file_part_are_a_400(alice_client):
    body = {"rag_key": "kb", "query": "급식", "filters": SimpleUploadedFile("filters.json", b'{"tags": ["x"]}')}

    response = alice_client.post("/api/v1/rag/search", body, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["filters"]


@pytest.mark.parametrize("field", ["rag_type", "limit", "mode", "filters"])
def test_a_blank_optional_field_of_a_search_form_is_read_as_not_given(alice_client, field):
    add_document("급식 일정 공지", doc_id="notice")
    body = {"rag_key": "kb", "query": "급식 일정"}

    without = alice_client.post("/api/v1/rag/search", **form("multipart/form-data", body))
    blank = alice_client.post("/api/v1/rag/search", **form("multipart/form-data", {**body, field: ""}))

    assert without.status_code == 200
    assert (blank.status_code, blank.json()) == (200, without.json())


def form(content_type: str, body: dict) -> dict:
    """Keyword arguments of a test-client POST of `body` in that form encoding."""
    if content_type.startswith("multipart/"):
        return {"data": body, "format": "multipart"}
    return {"data": urlencode(body), "content_type": content_type}


def test_pruned_bm25_top_results_equal_full_evaluation(monkeypatch):
    # Common words in every document, rare ones in a few: the pruned path must rank like scoring everything.
    common = ["학교", "급식", "안내", "학생"]
    rare = ["도서관", "수영장", "체육관", "음악실", "과학실", "미술실"]
    for i in range(24):
        words = common * (1 + i % 3) + [rare[i % len(rare)]] * (1 + i % 2) + ["공지"] * (i % 5)
        add_document(" ".join(words) + " 입니다.", doc_id=f"d{i}")
    monkeypatch.setattr(search_service, "TEXT_CANDIDATE_ROWS", 1)  # only the rarest term at first
    scope = search_service.scope_for(user=None, rag_key="kb", rag_type="chatbot_shared")
    total, avgdl = search_service.collection_stats(scope)

    for query in (["학교", "급식", "도서관"], ["학생", "공지", "수영장", "안내"], ["급식", "공지"]):
        frequencies = search_service.document_frequencies(scope, query)
        weights = {term: search_service.idf(total, df) for term, df in frequencies.items()}
        full = search_service.bm25_candidates(scope, weights, list(weights), 5, avgdl)
        pruned = search_service.bm25_search(scope, query, 5, 5, total, avgdl)

        assert [round(score, 9) for _, score in pruned[:5]] == [round(score, 9) for _, score in full[:5]], query


def test_a_search_of_a_rag_key_with_nothing_to_search_says_so(alice_client):
    response = alice_client.post(
        "/api/v1/rag/search", {"rag_key": "no-such-kb", "query": "급식카드", "rag_type": "both"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["notice"]) == (
        0, "rag_key 'no-such-kb'에는 검색할 수 있는 문서가 없습니다(both).",
    )  # fmt: skip


def test_a_search_that_finds_nothing_in_a_known_rag_key_has_no_notice(alice_client):
    from rag.tests.helpers import add_document

    add_document("급식카드 사용처 안내", owner=alice_client.user, rag_key="kb")

    response = alice_client.post(
        "/api/v1/rag/search",
        {"rag_key": "kb", "query": "우주선", "rag_type": "user_isolated", "mode": "text"},
        format="json",
    )

    assert (response.json()["count"], response.json()["notice"]) == (0, None)
