"""Ingestion racing deletes and re-queues: a delete during ingestion succeeds and leaves no chunk, the
worker notices and stops, and the re-queue job never re-sends a document already claimed."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from rag.models import Chunk, Document
from rag.providers import ProviderError
from rag.services import ingest

SLOW_SWAP_SQL = """
CREATE FUNCTION slow_swap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
CREATE TRIGGER slow_swap BEFORE UPDATE ON rag_document FOR EACH ROW WHEN (NEW.status = 'ready')
    EXECUTE FUNCTION slow_swap();
"""


def pending_document(owner) -> Document:
    return ingest.upsert_document(owner=owner, rag_key="kb", rag_type="user_isolated", filename="memo.txt",
                                  content="급식카드 사용처와 잔액 확인 방법을 정리한 메모입니다.").document  # fmt: skip


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
def slow_swap(transactional_db):
    """The worker's chunk swap holds its transaction open for a second once the new chunks are inserted."""
    with connection.cursor() as cursor:
        cursor.execute(SLOW_SWAP_SQL)
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER slow_swap ON rag_document; DROP FUNCTION slow_swap();")


def swap_in_progress() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
        return cursor.fetchone()[0] > 0


def test_a_delete_while_the_worker_swaps_in_chunks_succeeds_and_leaves_no_chunk(alice_client, slow_swap):
    document = pending_document(alice_client.user)
    outcome = {}

    def worker():
        try:
            outcome["result"] = ingest.process_document(document.pk, extract_graph=False)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    wait_for(swap_in_progress)

    response = alice_client.delete(f"/api/v1/rag/documents/{document.pk}")  # waits for the swap to commit
    thread.join(10)

    assert response.status_code == 204, response.content
    assert outcome["result"] == "ready"
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Chunk.objects.exists()


@pytest.mark.django_db
def test_the_worker_stops_when_its_document_is_deleted_while_it_embeds(alice_client, monkeypatch):
    document = pending_document(alice_client.user)
    build_chunks = ingest.build_chunks

    def build_while_the_owner_deletes(doc):
        built = build_chunks(doc)
        assert alice_client.delete(f"/api/v1/rag/documents/{doc.pk}").status_code == 204
        return built

    monkeypatch.setattr(ingest, "build_chunks", build_while_the_owner_deletes)

    assert ingest.process_document(document.pk) == "stale"
    assert not Chunk.objects.exists()


@pytest.mark.django_db
def test_the_requeue_job_sends_a_stale_document_once():
    stuck = ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="a.txt", content="대기 중인 문서"
    ).document
    Document.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert ingest.requeue_stale_documents() == 1
    assert ingest.requeue_stale_documents() == 0  # the claim bumped updated_at: not re-sent ten minutes early
    stuck.refresh_from_db()
    assert stuck.updated_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db
def test_the_workers_claim_bumps_updated_at(openai_server):
    document = ingest.upsert_document(
        owner=None, rag_key="kb", rag_type="chatbot_shared", filename="a.txt", content="처리 중인 문서"
    ).document
    Document.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    openai_server.fail_next(10, status=503)

    with pytest.raises(ProviderError):  # claimed (processing), then the embedder failed
        ingest.process_document(document.pk)

    document.refresh_from_db()
    assert document.updated_at > timezone.now() - timedelta(minutes=1)
