"""Django admin for documents: list with status and chunk count, readable graph metadata, actions, try-search."""

import pytest

from rag.models import Document, PartnerRagKey
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    return client


@pytest.fixture
def document():
    document = add_document("A프로젝트는 N2SQL을 사용한다. 급식 통계 화면을 만든다.", doc_id="board_post:1")
    document.metadata.update(
        entity_nodes=[{"name": "N2SQL", "type": "technology", "description": "텍스트-투-SQL"}],
        entity_relations=[{"source": "A프로젝트", "relation": "uses", "target": "N2SQL"}],
    )
    document.save()
    return document


def test_changelist_shows_status_and_filters(admin_client_, document):
    response = admin_client_.get("/admin/rag/document/?status__exact=ready")

    assert response.status_code == 200
    assert "board_post:1" in response.content.decode()
    assert "검색해 보기" in response.content.decode()


def test_change_page_shows_graph_metadata_and_chunks(admin_client_, document):
    page = admin_client_.get(f"/admin/rag/document/{document.pk}/change/").content.decode()

    assert "텍스트-투-SQL" in page
    assert "A프로젝트 —[uses]→ N2SQL" in page
    assert "급식 통계 화면을 만든다." in page  # the chunk inline


def test_reembed_action_queues_one_task_per_document(admin_client_, document, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post(
            "/admin/rag/document/", {"action": "reembed", "_selected_action": [document.pk]}, follow=True
        )

    assert response.status_code == 200
    assert len(callbacks) == 1


def test_try_search_page_lists_hits(admin_client_, document):
    response = admin_client_.get(
        "/admin/rag/document/try-search/",
        {"rag_key": "kb", "query": "N2SQL", "rag_type": "chatbot_shared", "mode": "hybrid", "limit": 5},
    )

    assert response.status_code == 200
    assert [hit.doc_id for hit in response.context["hits"]] == ["board_post:1"]


def test_try_search_page_is_staff_only(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("plain"))

    response = client.get("/admin/rag/document/try-search/")

    assert response.status_code == 302
    assert Document.objects.count() == 0


def _partner_form(name: str, grants: list[str]) -> dict:
    form = {"partner_id": "medilinx", "name": name, "is_active": "on",
            "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
            "rag_key_grants-TOTAL_FORMS": str(len(grants)), "rag_key_grants-INITIAL_FORMS": "0"}
    form.update({f"rag_key_grants-{i}-rag_key": rag_key for i, rag_key in enumerate(grants)})
    return form


def test_staff_grant_rag_keys_inline_on_the_partner_page(admin_client_):
    from chat.models import Partner

    Partner.objects.create(partner_id="medilinx")

    response = admin_client_.post("/admin/chat/partner/medilinx/change/", _partner_form("Medilinx", ["medilinx-faq"]))

    assert response.status_code == 302
    assert list(PartnerRagKey.objects.values_list("partner_id", "rag_key")) == [("medilinx", "medilinx-faq")]


def test_the_partner_page_refuses_a_grant_of_another_partners_rag_key(admin_client_):
    from chat.models import Partner

    Partner.objects.create(partner_id="medilinx")
    Partner.objects.create(partner_id="kindhabit")

    response = admin_client_.post("/admin/chat/partner/medilinx/change/", _partner_form("Medilinx", ["kindhabit"]))

    assert response.status_code == 200  # the form again, with the error
    assert "다른 파트너의 이름" in response.content.decode()
    assert not PartnerRagKey.objects.exists()


def test_delete_selected_drops_the_documents_from_cached_shared_results(admin_client_, document):
    from rag.services.search import search

    def shared_hits():
        return search(user=None, rag_key="kb", rag_type="chatbot_shared", query="N2SQL 급식 통계")

    assert [hit.document_id for hit in shared_hits()] == [document.pk]  # cached now

    response = admin_client_.post(
        "/admin/rag/document/", {"action": "delete_selected", "_selected_action": [document.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert shared_hits() == []
