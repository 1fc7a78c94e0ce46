"""POST /rag/sync: one seed-001 source event -> upsert (or delete) the document with that doc_id."""

import logging
from dataclasses import dataclass

from django.conf import settings

from rag.models import Document, DocumentFile
from rag.services import ingest
from rag.services.composition import DELETE_EVENT, compose, source_doc_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    doc_id: str
    action: str  # created | updated | unchanged | deleted | not_found
    document: Document | None


def images_for_worker(images: list[dict]) -> tuple[ingest.PendingFile, ...]:
    """Uploaded images ({"url", "data": bytes}) the ingestion worker describes with the vision provider, at
    most AI_IMAGE_MODEL_MAX_IMAGES per document (never in the request: each can take a model call)."""
    return tuple(
        ingest.PendingFile(DocumentFile.Kind.IMAGE, image.get("url", ""), image["data"])
        for image in images[: settings.AI_IMAGE_MODEL_MAX_IMAGES]
    )


def sync_source(
    *,
    owner,
    rag_key: str,
    rag_type: str,
    doc_schema: str,
    event_type: str,
    record: dict,
    images: list[dict] | None = None,
    image_descriptions: list[dict] | None = None,
) -> SyncResult:
    doc_id = source_doc_id(doc_schema, record)
    if event_type == DELETE_EVENT:
        deleted = ingest.delete_by_doc_id(owner=owner, rag_key=rag_key, doc_id=doc_id)
        return SyncResult(doc_id, "deleted" if deleted else "not_found", None)

    composed = compose(doc_schema, record, event_type, list(image_descriptions or []))
    result = ingest.upsert_document(
        owner=owner,
        rag_key=rag_key,
        rag_type=rag_type,
        filename=composed.title or composed.doc_id,
        content=composed.content,
        metadata=composed.metadata,
        doc_id=composed.doc_id,
        source_type=composed.source_type,
        doc_schema=doc_schema,
        event_type=event_type,
        files=images_for_worker(images or []),
    )
    action = "created" if result.created else "updated" if result.changed else "unchanged"
    return SyncResult(composed.doc_id, action, result.document)
