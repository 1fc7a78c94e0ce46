"""POST /rag/sync: one seed-001 source event -> upsert (or delete) the document with that doc_id."""

import logging
from dataclasses import dataclass

from django.conf import settings

from rag.models import Document
from rag.services import ingest
from rag.services.composition import DELETE_EVENT, compose, source_doc_id
from rag.services.errors import RagError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    doc_id: str
    action: str  # created | updated | unchanged | deleted | not_found
    document: Document | None


def describe_images(images: list[dict]) -> list[dict]:
    """Captions for uploaded images ({"url", "data": bytes}) from the vision provider, at most
    AI_IMAGE_MODEL_MAX_IMAGES per document."""
    images = images[: settings.AI_IMAGE_MODEL_MAX_IMAGES]
    if not images:
        return []
    from rag.providers import ProviderError, get_vision

    try:
        captions = get_vision().describe([image["data"] for image in images])
    except ProviderError as exc:
        # Nothing is written: the sender retries the event later.
        raise RagError("vision_unavailable", f"Image description failed: {exc}", 502) from exc
    return [
        {"url": image.get("url", ""), "caption": caption}
        for image, caption in zip(images, captions, strict=False)
        if caption
    ]


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

    descriptions = list(image_descriptions or []) + describe_images(images or [])
    composed = compose(doc_schema, record, event_type, descriptions)
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
    )
    action = "created" if result.created else "updated" if result.changed else "unchanged"
    return SyncResult(composed.doc_id, action, result.document)
