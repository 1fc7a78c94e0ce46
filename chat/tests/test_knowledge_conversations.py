"""GET /api/v1/rag/conversations[/{id}]: a user's own conversation history, isolated from everyone else's."""

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from chat.models import KnowledgeConversation, KnowledgeMessage

LIST_URL = "/api/v1/rag/conversations"


def conversation(user, rag_key="kchat_support", updated_at=None, **fields):
    conversation = KnowledgeConversation.objects.create(user=user, rag_key=rag_key, **fields)
    if updated_at is not None:
        KnowledgeConversation.objects.filter(pk=conversation.pk).update(updated_at=updated_at)
    KnowledgeMessage.objects.create(conversation=conversation, role="user", content="질문")
    KnowledgeMessage.objects.create(conversation=conversation, role="assistant", content="답변", route="rag")
    return conversation


def listed_ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_list_shows_only_the_users_own_conversations(alice_client, bob_client):
    mine = conversation(alice_client.user, title="내 대화")
    conversation(bob_client.user, title="밥의 대화")

    response = alice_client.get(LIST_URL)

    assert response.status_code == 200
    assert listed_ids(response) == [str(mine.pk)]
    assert response.json()["results"][0]["message_count"] == 2


def test_staff_list_their_own_conversations_too(staff_client, alice_client):
    conversation(alice_client.user)

    assert staff_client.get(LIST_URL).json()["count"] == 0


def test_list_is_most_recently_active_first(alice_client):
    now = timezone.now()
    older = conversation(alice_client.user, updated_at=now - timedelta(hours=2))
    newer = conversation(alice_client.user, updated_at=now - timedelta(hours=1))

    assert listed_ids(alice_client.get(LIST_URL)) == [str(newer.pk), str(older.pk)]


def test_list_filters_by_rag_key(alice_client):
    support = conversation(alice_client.user, rag_key="support")
    conversation(alice_client.user, rag_key="policies")

    assert listed_ids(alice_client.get(LIST_URL, {"rag_key": "support"})) == [str(support.pk)]


def test_list_filters_by_date_of_last_activity(alice_client):
    day = timezone.make_aware(datetime(2026, 3, 2, 12, 0))
    on_the_day = conversation(alice_client.user, updated_at=day)
    conversation(alice_client.user, updated_at=day + timedelta(days=1))

    assert listed_ids(alice_client.get(LIST_URL, {"date": "2026-03-02"})) == [str(on_the_day.pk)]


def test_list_refuses_a_malformed_date(alice_client):
    response = alice_client.get(LIST_URL, {"date": "yesterday"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_list_is_paginated(alice_client):
    for _ in range(3):
        conversation(alice_client.user)

    body = alice_client.get(LIST_URL, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_detail_shows_the_messages_in_order(alice_client):
    mine = conversation(alice_client.user)

    body = alice_client.get(f"{LIST_URL}/{mine.pk}").json()

    assert [(m["role"], m["content"]) for m in body["messages"]] == [("user", "질문"), ("assistant", "답변")]
    assert body["rag_key"] == "kchat_support"


def test_detail_of_someone_elses_conversation_is_not_found(alice_client, bob_client):
    bobs = conversation(bob_client.user)

    response = alice_client.get(f"{LIST_URL}/{bobs.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_detail_of_an_unknown_conversation_is_not_found(alice_client):
    assert alice_client.get(f"{LIST_URL}/{uuid.uuid4()}").status_code == 404


def test_staff_may_read_any_conversation(staff_client, alice_client):
    alices = conversation(alice_client.user)

    assert staff_client.get(f"{LIST_URL}/{alices.pk}").status_code == 200


def test_conversations_need_a_signed_in_user(db, api_client, partner_client):
    assert api_client.get(LIST_URL).status_code == 401
    assert partner_client.get(LIST_URL).status_code == 403
