"""GET/DELETE /api/v1/rag/documents: own documents for users, shared for partners, all for staff."""

import pytest

from rag.models import Chunk, Document
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def documents(alice_client, bob_client):
    return {
        "alice": add_document("앨리스 문서", owner=alice_client.user, rag_key="kb"),
        "alice_other": add_document("앨리스 다른 키", owner=alice_client.user, rag_key="other"),
        "bob": add_document("밥 문서", owner=bob_client.user, rag_key="kb"),
        "shared": add_document("공용 문서", rag_key="kb", source_type="board_post"),
    }


def ids(response):
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_user_lists_only_own_documents(alice_client, documents):
    response = alice_client.get("/api/v1/rag/documents")

    assert ids(response) == {documents["alice"].pk, documents["alice_other"].pk}
    assert response.json()["results"][0]["chunk_count"] == 1


def test_list_filters_by_rag_key_type_status_and_source(staff_client, documents):
    assert ids(staff_client.get("/api/v1/rag/documents?rag_key=other")) == {documents["alice_other"].pk}
    assert ids(staff_client.get("/api/v1/rag/documents?rag_type=chatbot_shared")) == {documents["shared"].pk}
    assert ids(staff_client.get("/api/v1/rag/documents?source_type=board_post")) == {documents["shared"].pk}
    assert ids(staff_client.get("/api/v1/rag/documents?status=pending")) == set()


def test_invalid_filter_value_is_400(staff_client, documents):
    response = staff_client.get("/api/v1/rag/documents?status=finished")

    assert response.status_code == 400


def test_staff_list_every_document(staff_client, documents):
    assert ids(staff_client.get("/api/v1/rag/documents")) == {doc.pk for doc in documents.values()}


def test_partner_lists_the_shared_documents_of_its_own_rag_key_only(partner_client, documents):
    own = add_document("메디링스 문서", rag_key="medilinx")

    assert ids(partner_client.get("/api/v1/rag/documents")) == {own.pk}


def test_detail_includes_content_and_status(alice_client, documents):
    response = alice_client.get(f"/api/v1/rag/documents/{documents['alice'].pk}")

    assert response.status_code == 200
    assert (response.json()["content"], response.json()["status"]) == ("앨리스 문서", "ready")


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_document_is_404(bob_client, documents, method):
    response = getattr(bob_client, method)(f"/api/v1/rag/documents/{documents['alice'].pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Document.objects.filter(pk=documents["alice"].pk).exists()


def test_delete_own_document_removes_its_chunks(alice_client, documents):
    response = alice_client.delete(f"/api/v1/rag/documents/{documents['alice'].pk}")

    assert response.status_code == 204
    assert not Chunk.objects.filter(document_id=documents["alice"].pk).exists()


def test_user_cannot_delete_shared_documents(alice_client, documents):
    response = alice_client.delete(f"/api/v1/rag/documents/{documents['shared'].pk}")

    assert response.status_code == 404
