"""Celery tasks of the RAG app: thin wrappers taking ids and calling rag.services.ingest."""

from celery import shared_task

from rag.providers import ProviderError
from rag.services import ingest


@shared_task(
    bind=True,
    autoretry_for=(ProviderError, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
    acks_late=True,
)
def process_document(self, document_id: int) -> str:
    """Chunk, embed and index one document (status: processing -> ready | error)."""
    return ingest.process_document(document_id)


@shared_task(bind=True, autoretry_for=(ProviderError,), retry_backoff=True, max_retries=3)
def reembed_document(self, document_id: int) -> str:
    return ingest.reembed_document(document_id)


@shared_task
def reextract_graph(document_id: int) -> None:
    ingest.reextract_graph(document_id)


@shared_task
def requeue_stale_documents() -> int:
    """Periodic: re-queue documents stuck in pending/processing for more than 10 minutes."""
    return ingest.requeue_stale_documents()
