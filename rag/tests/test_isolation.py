"""Isolation property: whatever a caller searches for, no chunk of another user ever comes back."""

import random

import pytest
from django.contrib.auth.models import AnonymousUser

from rag.models import Chunk
from rag.services.search import MODES, search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

USERS = 6
RAG_TYPES = ("user_isolated", "chatbot_shared", "both")


def canary(index: int) -> str:
    return f"카나리아{index}호 비밀코드 zq{index}x{index}"


@pytest.fixture
def population(django_user_model):
    users = [django_user_model.objects.create_user(f"user{i}") for i in range(USERS)]
    for i, user in enumerate(users):
        add_document(f"{canary(i)} 사용자 {i}의 개인 메모입니다. 급식카드 잔액은 {i}천원입니다.", owner=user)
        add_document(f"{canary(i)} 두 번째 문서. 학교 공지와 식당 추천 메모.", owner=user, rag_key="other")
    add_document("공용 안내: 급식카드는 편의점과 식당에서 사용할 수 있습니다. 비밀코드 없음.")
    return users


def test_no_search_mode_returns_another_users_chunk(population):
    rng = random.Random(4)
    queries = [canary(i) for i in range(USERS)] + ["급식카드 잔액", "개인 메모 비밀코드", "학교 공지"]
    checked = 0
    for caller_index, caller in enumerate(population):
        for rag_key in ("kb", "other"):
            for rag_type in RAG_TYPES:
                for mode in MODES:
                    query = rng.choice(queries)
                    hits = search(user=caller, rag_key=rag_key, rag_type=rag_type, query=query, limit=20, mode=mode)
                    returned = Chunk.objects.filter(pk__in=[hit.chunk_id for hit in hits])
                    owners = set(returned.values_list("owner", flat=True))
                    assert owners <= {caller.pk, None}, (caller_index, rag_key, rag_type, mode, query)
                    for hit in hits:
                        foreign = [canary(i) for i in range(USERS) if i != caller_index]
                        assert not any(text in hit.content for text in foreign)
                    checked += 1
    assert checked == USERS * 2 * len(RAG_TYPES) * len(MODES)


def test_isolated_search_finds_only_the_callers_own_canary(population):
    hits = search(user=population[2], rag_key="kb", rag_type="user_isolated", query=canary(3), limit=10)

    assert hits and all(canary(2) in hit.content for hit in hits)


def test_shared_search_never_returns_user_chunks(population):
    hits = search(user=population[0], rag_key="kb", rag_type="chatbot_shared", query=canary(0), limit=10)

    assert [hit.rag_type for hit in hits] == ["chatbot_shared"]


def test_both_mode_combines_own_and_shared_chunks(population):
    hits = search(user=population[1], rag_key="kb", rag_type="both", query="급식카드", limit=10)

    assert {hit.rag_type for hit in hits} == {"user_isolated", "chatbot_shared"}
    assert len(hits) == 2


@pytest.mark.parametrize("caller", [None, AnonymousUser()])
def test_callers_without_a_user_see_only_shared_chunks(population, caller):
    hits = search(user=caller, rag_key="kb", rag_type="both", query=canary(1), limit=10)

    assert {hit.rag_type for hit in hits} == {"chatbot_shared"}
    assert search(user=caller, rag_key="kb", rag_type="user_isolated", query=canary(1)) == []


def test_staff_get_no_wider_search_scope(population, django_user_model):
    admin = django_user_model.objects.create_user("admin", is_staff=True, is_superuser=True)

    hits = search(user=admin, rag_key="kb", rag_type="both", query=canary(0), limit=10)

    assert {hit.rag_type for hit in hits} == {"chatbot_shared"}


def test_search_api_applies_the_same_isolation(alice_client, bob_client):
    add_document("앨리스 전용 카나리아 alicesecret 문서", owner=alice_client.user)

    response = bob_client.post(
        "/api/v1/rag/search", {"rag_key": "kb", "rag_type": "both", "query": "alicesecret 카나리아"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_partner_search_sees_only_shared(partner_client, alice_client):
    add_document("앨리스 전용 카나리아 alicesecret 문서", owner=alice_client.user, rag_key="medilinx")
    add_document("공용 문서 카나리아 안내", rag_key="medilinx")

    response = partner_client.post(
        "/api/v1/rag/search", {"rag_key": "medilinx", "rag_type": "both", "query": "카나리아"}, format="json"
    )

    assert [hit["rag_type"] for hit in response.json()["results"]] == ["chatbot_shared"]
