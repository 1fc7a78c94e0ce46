"""Tenancy between partners: a partner key reads and writes shared documents only of the rag_keys it owns
(its partner_id plus staff grants); every other rag_key answers 404 and is left untouched."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Document, PartnerRagKey
from rag.services.access import partner_rag_keys
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

BOARD_POST = {"post_id": 12, "board_name": "팁공유", "title": "공지", "content": "다른 파트너가 덮어쓴 본문"}


@pytest.fixture
def kindhabit_document(other_partner_client):
    """A shared document in the rag_key the second partner (kindhabit) owns."""
    return add_document("킨드해빗 전용 지식: 수면 코칭 안내", rag_key="kindhabit", doc_id="board_post:12")


def sync(client, rag_key: str, event_type: str = "create", **record):
    body = {"rag_key": rag_key, "doc_schema": "board_post.v2", "event_type": event_type,
            "record": {**BOARD_POST, **record}}
    return client.post("/api/v1/rag/sync", body, format="json")


def upload(client, rag_key: str):
    body = {"file": SimpleUploadedFile("policy.txt", "파트너 정책".encode()), "rag_key": rag_key,
            "rag_type": "chatbot_shared"}
    return client.post("/api/v1/rag/upload", body, format="multipart")


def test_a_partner_does_not_list_another_partners_documents(partner_client, kindhabit_document):
    response = partner_client.get("/api/v1/rag/documents")

    assert response.json()["results"] == []


def test_a_partner_listing_another_partners_rag_key_gets_404(partner_client, kindhabit_document):
    response = partner_client.get("/api/v1/rag/documents?rag_key=kindhabit")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_partner_lists_its_own_rag_key(partner_client, kindhabit_document):
    own = add_document("메디링스 문서", rag_key="medilinx")

    response = partner_client.get("/api/v1/rag/documents?rag_key=medilinx")

    assert [row["id"] for row in response.json()["results"]] == [own.pk]


def test_another_partners_document_detail_is_404(partner_client, kindhabit_document):
    response = partner_client.get(f"/api/v1/rag/documents/{kindhabit_document.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_deleting_another_partners_document_is_404_and_keeps_it(partner_client, kindhabit_document):
    response = partner_client.delete(f"/api/v1/rag/documents/{kindhabit_document.pk}")

    assert response.status_code == 404
    assert Document.objects.filter(pk=kindhabit_document.pk).exists()


def test_the_owner_reads_and_deletes_its_own_document(other_partner_client, kindhabit_document):
    url = f"/api/v1/rag/documents/{kindhabit_document.pk}"

    assert other_partner_client.get(url).status_code == 200
    assert other_partner_client.delete(url).status_code == 204
    assert not Document.objects.filter(pk=kindhabit_document.pk).exists()


def test_uploading_into_another_partners_rag_key_is_404_and_writes_nothing(partner_client, other_partner_client):
    response = upload(partner_client, "kindhabit")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Document.objects.exists()


def test_uploading_into_an_unowned_rag_key_is_404(partner_client):
    assert upload(partner_client, "dining-guide").status_code == 404


def test_syncing_over_another_partners_document_is_404_and_keeps_its_content(partner_client, kindhabit_document):
    response = sync(partner_client, "kindhabit", event_type="update")

    assert response.status_code == 404
    kindhabit_document.refresh_from_db()
    assert kindhabit_document.content == "킨드해빗 전용 지식: 수면 코칭 안내"


def test_a_delete_event_for_another_partners_document_is_404_and_keeps_it(partner_client, kindhabit_document):
    response = sync(partner_client, "kindhabit", event_type="delete")

    assert response.status_code == 404
    assert Document.objects.filter(pk=kindhabit_document.pk).exists()


def test_searching_another_partners_rag_key_is_404(partner_client, kindhabit_document):
    response = partner_client.post(
        "/api/v1/rag/search", {"rag_key": "kindhabit", "rag_type": "chatbot_shared", "query": "수면 코칭"},
        format="json",
    )

    assert response.status_code == 404


def test_a_partner_syncs_into_its_own_rag_key(partner_client):
    response = sync(partner_client, "medilinx")

    assert response.status_code == 202
    assert Document.objects.get().rag_key == "medilinx"


def test_a_granted_rag_key_becomes_readable_and_writable(partner_client):
    PartnerRagKey.objects.create(partner=partner_client.partner, rag_key="medilinx-faq")

    assert upload(partner_client, "medilinx-faq").status_code == 202
    listed = partner_client.get("/api/v1/rag/documents").json()["results"]
    assert [row["rag_key"] for row in listed] == ["medilinx-faq"]


def test_a_revoked_grant_makes_the_rag_key_404_again(partner_client):
    grant = PartnerRagKey.objects.create(partner=partner_client.partner, rag_key="medilinx-faq")
    document = add_document("FAQ", rag_key="medilinx-faq")
    grant.delete()

    assert partner_client.get(f"/api/v1/rag/documents/{document.pk}").status_code == 404


def test_a_rag_key_named_after_another_partner_cannot_be_granted(partner_client, other_partner_client):
    grant = PartnerRagKey(partner=partner_client.partner, rag_key="kindhabit")

    with pytest.raises(ValidationError):
        grant.full_clean()


def test_a_grant_naming_a_partner_created_later_stops_counting(partner_client):
    from chat.models import Partner

    PartnerRagKey.objects.create(partner=partner_client.partner, rag_key="newcomer")
    Partner.objects.create(partner_id="newcomer")

    assert partner_rag_keys("medilinx") == ["medilinx"]
    assert partner_rag_keys("newcomer") == ["newcomer"]


def test_staff_still_manage_every_partners_documents(staff_client, kindhabit_document):
    assert staff_client.get(f"/api/v1/rag/documents/{kindhabit_document.pk}").status_code == 200
    assert sync(staff_client, "kindhabit", event_type="update").status_code == 202
