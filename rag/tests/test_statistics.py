"""BM25 statistics (rag_scopestat / rag_termstat) stay exact on every write path, via the triggers."""

import pytest
from django.db import connection

from rag.models import Chunk, ScopeStat, TermStat
from rag.services import ingest
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db


def recomputed() -> tuple[dict, dict]:
    """The statistics computed from scratch from rag_chunk."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rag_key, coalesce(owner_id, 0), count(*), sum(token_count) FROM rag_chunk GROUP BY 1, 2"
        )
        scopes = {(key, owner): (chunks, tokens) for key, owner, chunks, tokens in cursor.fetchall()}
        cursor.execute(
            "SELECT c.rag_key, coalesce(c.owner_id, 0), t.lexeme, count(*)"
            " FROM rag_chunk c CROSS JOIN LATERAL unnest(c.search_vector) t GROUP BY 1, 2, 3"
        )
        terms = {(key, owner, lexeme): df for key, owner, lexeme, df in cursor.fetchall()}
    return scopes, terms


def stored() -> tuple[dict, dict]:
    scopes = {
        (s.rag_key, s.owner_key): (s.chunk_count, s.token_total)
        for s in ScopeStat.objects.all()
        if s.chunk_count
    }
    terms = {(t.rag_key, t.owner_key, t.lexeme): t.df for t in TermStat.objects.all()}
    return scopes, terms


def test_statistics_follow_inserts_replacements_and_deletes(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    add_document("급식카드 사용 안내. 편의점 결제 가능.", doc_id="a")
    add_document("앨리스의 메모: 급식카드 잔액 확인", owner=alice, doc_id="m")
    assert stored() == recomputed()

    add_document("급식카드 분실 신고 방법. 주민센터 방문.", doc_id="a")  # replaced content
    assert stored() == recomputed()

    ingest.delete_by_doc_id(owner=None, rag_key="kb", doc_id="a")
    assert stored() == recomputed()


def test_cascade_delete_of_a_user_updates_the_statistics(django_user_model):
    bob = django_user_model.objects.create_user("bob")
    add_document("밥의 비밀 메모 카나리아", owner=bob)

    bob.delete()

    assert not Chunk.objects.exists()
    assert stored() == recomputed() == ({}, {})


def test_partitions_keep_users_apart(django_user_model):
    carol = django_user_model.objects.create_user("carol")
    add_document("캐롤 전용 단어 카나리아", owner=carol)
    add_document("공용 문서")

    shared_terms = set(TermStat.objects.filter(owner_key=0).values_list("lexeme", flat=True))

    assert "카나리아" not in shared_terms
    assert TermStat.objects.get(owner_key=carol.pk, lexeme="카나리아").df == 1
