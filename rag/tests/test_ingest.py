"""Upsert by doc_id, unchanged content => no re-embedding, atomic chunk replacement, deletes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rag.models import Chunk, Document
from rag.providers import ProviderError
from rag.services import ingest
from rag.services.search import search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db


def test_same_doc_id_twice_keeps_one_document():
    add_document("첫 번째 버전의 공지입니다.", doc_id="notice:1")
    add_document("첫 번째 버전의 공지입니다.", doc_id="notice:1")

    assert Document.objects.filter(doc_id="notice:1").count() == 1


def test_unchanged_content_reuses_chunks_and_updates_metadata():
    first = add_document("급식카드 사용 안내 본문입니다.", doc_id="notice:1", metadata={"event_type": "create"})
    chunk_ids = list(first.chunks.values_list("id", flat=True))

    result = ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="doc.txt",
        content="급식카드 사용 안내 본문입니다.", doc_id="notice:1",
        metadata={"event_type": "comment_create"}, run_now=True,
    )

    assert result.changed is False
    assert list(result.document.chunks.values_list("id", flat=True)) == chunk_ids
    assert result.document.metadata["event_type"] == "comment_create"
    assert result.document.metadata["ai_summary"] == first.metadata["ai_summary"]


def test_changed_content_replaces_all_chunks():
    add_document("오래된 내용: 운영시간은 9시입니다.", doc_id="notice:1")
    updated = add_document("새 내용: 운영시간은 10시부터입니다.", doc_id="notice:1")

    contents = list(Chunk.objects.values_list("content", flat=True))
    assert contents == ["새 내용: 운영시간은 10시부터입니다."]
    assert updated.status == Document.Status.READY


def test_old_chunks_stay_searchable_until_the_new_ones_are_swapped_in():
    add_document("오래된 내용: 운영시간은 9시입니다.", doc_id="notice:1")

    ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="doc.txt",
        content="새 내용: 운영시간은 10시부터입니다.", doc_id="notice:1",
    )  # processing not run yet

    hits = search(user=None, rag_key="kb", rag_type="chatbot_shared", query="운영시간", limit=5)
    assert [hit.content for hit in hits] == ["오래된 내용: 운영시간은 9시입니다."]
    assert Document.objects.get(doc_id="notice:1").status == Document.Status.PENDING


def test_processing_an_outdated_version_is_discarded(monkeypatch):
    document = add_document("첫 버전", doc_id="notice:1")
    build_chunks = ingest.build_chunks

    def build_while_a_newer_upsert_lands(doc):
        built = build_chunks(doc)
        Document.objects.filter(pk=doc.pk).update(content_hash="a-newer-version-arrived")
        return built

    monkeypatch.setattr(ingest, "build_chunks", build_while_a_newer_upsert_lands)

    outcome = ingest.process_document(document.pk)

    assert outcome == "stale"
    assert Chunk.objects.filter(document=document).count() == 1


def test_same_doc_id_of_different_owners_are_different_documents(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")

    add_document("앨리스의 메모", owner=alice, doc_id="memo:1")
    add_document("밥의 메모", owner=bob, doc_id="memo:1")

    assert Document.objects.get(owner=alice).content == "앨리스의 메모"
    assert Document.objects.get(owner=bob).content == "밥의 메모"


def test_long_document_is_chunked_with_overlap_and_token_counts():
    sentences = [f"{i}번째 문장은 급식 정책의 세부 내용을 설명합니다." for i in range(80)]
    document = add_document(" ".join(sentences))

    chunks = list(document.chunks.order_by("chunk_index"))
    assert len(chunks) > 2
    assert all(len(chunk.content) <= 900 for chunk in chunks)
    assert chunks[1].content.split("\n")[0] in chunks[0].content.split("\n")  # overlap: repeated sentences
    assert all(chunk.token_count == len(chunk.morphemes.split()) for chunk in chunks)


def test_embedder_of_the_wrong_size_fails_with_the_reason(settings):
    document = add_document("정상 문서입니다.")
    settings.EMBEDDING_DIMENSIONS = 8  # the embedder now disagrees with the column size

    with pytest.raises(ValueError):
        ingest.process_document(document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.ERROR
    assert "dimensional" in document.status_message
    assert document.chunks.count() == 1  # the previous chunks are untouched


def test_provider_outage_marks_the_document_failed(openai_server):
    document = ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="a.txt", content="임베딩 서버 장애 테스트"
    ).document
    openai_server.fail_next(10, status=503)

    with pytest.raises(ProviderError):
        ingest.process_document(document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.ERROR
    assert "503" in document.status_message


def test_delete_by_doc_id_removes_document_and_chunks():
    add_document("삭제될 문서", doc_id="board_post:9")

    assert ingest.delete_by_doc_id(owner=None, rag_key="kb", doc_id="board_post:9") is True
    assert not Document.objects.exists()
    assert not Chunk.objects.exists()


def test_documents_stuck_in_pending_are_requeued():
    stuck = ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="a.txt", content="대기 중인 문서"
    ).document
    ingest.upsert_document(owner=None, rag_key="kb", rag_type="chatbot_shared", filename="b.txt", content="새 문서")
    Document.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert ingest.requeue_stale_documents() == 1  # only the old one; the fresh one has its task
