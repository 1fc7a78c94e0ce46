"""Django admin pages for knowledge conversations (read-only history)."""

import pytest

from chat.models import KnowledgeConversation, KnowledgeMessage


@pytest.fixture
def conversation(django_user_model):
    user = django_user_model.objects.create_user(username="carol")
    conversation = KnowledgeConversation.objects.create(user=user, rag_key="kchat_support", title="환불 문의")
    KnowledgeMessage.objects.create(conversation=conversation, role="user", content="환불 기간은?")
    KnowledgeMessage.objects.create(conversation=conversation, role="assistant", content="7일입니다.", route="rag")
    return conversation


def test_conversation_list_shows_message_counts(admin_client, conversation):
    response = admin_client.get("/admin/chat/knowledgeconversation/")

    assert response.status_code == 200
    assert "환불 문의" in response.text


def test_conversation_page_shows_the_messages(admin_client, conversation):
    response = admin_client.get(f"/admin/chat/knowledgeconversation/{conversation.pk}/change/")

    assert response.status_code == 200
    assert "7일입니다." in response.text


def test_messages_are_searchable_by_content(admin_client, conversation):
    response = admin_client.get("/admin/chat/knowledgemessage/", {"q": "7일"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_an_answers_sources_are_linked_documents_with_their_scores(admin_client, conversation):
    from django.urls import reverse

    from rag.tests.helpers import add_document

    document = add_document("환불 정책 안내", rag_key="kb")
    answer = KnowledgeMessage.objects.get(conversation=conversation, role="assistant")
    answer.sources = [{"document_id": document.pk, "filename": "refund.txt", "score": 0.8123, "chunk_id": 1}]
    answer.save()

    for page in (f"/admin/chat/knowledgeconversation/{conversation.pk}/change/",
                 f"/admin/chat/knowledgemessage/{answer.pk}/change/"):  # fmt: skip
        html = admin_client.get(page).content.decode()
        link = reverse("admin:rag_document_change", args=[document.pk])
        assert f'<a href="{link}">refund.txt</a> (0.812)' in html
