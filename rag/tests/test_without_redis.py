"""Every RAG API answers while Redis is down: the shared-results cache degrades to uncached search, and
invalidation is part of the database write, so nothing stale is served once Redis is back."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Chunk, Document
from rag.services.search import search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

QUERY = "도서관 운영시간"
BOARD_POST = {"post_id": 7, "board_name": "공지", "title": "도서관 안내", "content": "운영시간은 오전 9시부터입니다."}


@pytest.fixture
def library(partner_client):
    """A shared document in medilinx, the partner's own rag_key."""
    return add_document("도서관 운영시간은 오전 9시부터입니다.", rag_key="medilinx", doc_id="board_post:7")


def shared_contents(rag_key: str = "medilinx") -> list[str]:
    return [hit.content for hit in search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=QUERY)]


@pytest.mark.parametrize("rag_type", ["chatbot_shared", "both", "user_isolated"])
def test_search_answers_uncached_while_redis_is_down(alice_client, library, redis_down, rag_type):
    add_document("앨리스 메모: 도서관 운영시간 확인", owner=alice_client.user, rag_key="medilinx")

    response = alice_client.post(
        "/api/v1/rag/search", {"rag_key": "medilinx", "rag_type": rag_type, "query": QUERY}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["count"] >= 1


def test_sync_of_a_shared_document_answers_while_redis_is_down(partner_client, redis_down):
    body = {"rag_key": "medilinx", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST}

    created = partner_client.post("/api/v1/rag/sync", body, format="json")
    updated = partner_client.post(
        "/api/v1/rag/sync", {**body, "event_type": "update", "record": {**BOARD_POST, "content": "바뀐 시간"}},
        format="json",
    )
    deleted = partner_client.post("/api/v1/rag/sync", {**body, "event_type": "delete"}, format="json")

    assert [created.status_code, updated.status_code, deleted.status_code] == [202, 202, 200]
    assert not Document.objects.exists()


@pytest.mark.parametrize(("client_fixture", "rag_type"), [("alice_client", "user_isolated"),
                                                          ("partner_client", "chatbot_shared")])
def test_upload_answers_while_redis_is_down(request, redis_down, client_fixture, rag_type):
    client = request.getfixturevalue(client_fixture)
    body = {"file": SimpleUploadedFile("memo.txt", "도서관 메모".encode()), "rag_key": "medilinx",
            "rag_type": rag_type}

    response = client.post("/api/v1/rag/upload", body, format="multipart")

    assert response.status_code == 202, response.content


def test_documents_list_detail_and_delete_answer_while_redis_is_down(partner_client, library, redis_down):
    url = f"/api/v1/rag/documents/{library.pk}"

    assert partner_client.get("/api/v1/rag/documents").status_code == 200
    assert partner_client.get(url).status_code == 200
    assert partner_client.delete(url).status_code == 204
    assert not Chunk.objects.exists()


def test_a_delete_during_an_outage_is_not_served_from_the_cache_afterwards(partner_client, library, redis_outage):
    assert shared_contents() == [library.content]  # cached now

    with redis_outage():
        assert partner_client.delete(f"/api/v1/rag/documents/{library.pk}").status_code == 204

    assert shared_contents() == []


def test_an_update_during_an_outage_is_not_served_from_the_cache_afterwards(library, redis_outage):
    shared_contents()  # cached now

    with redis_outage():
        add_document("도서관 운영시간은 오전 10시부터로 바뀌었습니다.", rag_key="medilinx", doc_id="board_post:7")

    assert shared_contents() == ["도서관 운영시간은 오전 10시부터로 바뀌었습니다."]


def test_results_are_cached_again_once_redis_is_back(library, redis_outage, django_assert_num_queries):
    with redis_outage():
        shared_contents()
    shared_contents()  # stored in Redis

    with django_assert_num_queries(1):  # the rag_key's version; the hits come from Redis
        assert shared_contents() == [library.content]
