"""Document ingestion: upsert by doc_id, chunk + embed (in Celery), atomic chunk replacement.

Write path:
  upsert_document()   validates, stores the document (pending) and enqueues processing on commit.
                      Same doc_id in the same owner space => update in place; an unchanged content hash
                      updates metadata only and re-embeds nothing. Input that is slow to turn into text
                      (an uploaded PDF/DOCX, images to describe) is stored as DocumentFile rows for the worker.
  process_document()  extracts the text of those files (parse limits; a failure marks the document
                      "error" with the reason), then chunks, tokenises (Kiwi) and embeds outside any
                      transaction, and swaps the chunks in one transaction, only if the document still has
                      the content it processed (a newer upsert wins; the old chunks stay searchable until
                      the swap; a document deleted meanwhile is left deleted).
  delete_documents()  locks the rows first, so a delete waits for a swap in progress and never leaves a
                      chunk behind.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from rag.models import Chunk, Document, DocumentFile, RagType
from rag.services.composition import with_image_descriptions
from rag.services.errors import RagError, invalid
from rag.services.graph import extract_graph_metadata
from rag.services.text import check_upload, chunk_text, extract_text, needs_worker_extraction, normalise_text

logger = logging.getLogger(__name__)

EMBED_BATCH = 64
# Metadata the worker derives from the content (graph extraction, image captions): kept while it is unchanged.
DERIVED_KEYS = (
    "ai_summary", "entity_nodes", "entity_relations", "entity_names", "entity_count", "relation_count",
    "image_descriptions", "image_urls",
)
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class UpsertResult:
    document: Document
    created: bool
    changed: bool  # content changed (or new): chunks are being (re)built


@dataclass(frozen=True)
class PendingFile:
    """Input for the worker (see DocumentFile): kind "upload" (name = filename) or "image" (name = URL)."""

    kind: str
    name: str
    data: bytes


def content_hash(content: str, files: tuple[PendingFile, ...] = ()) -> str:
    """SHA-256 of the content, and of the files the worker will turn into more of it."""
    digest = hashlib.sha256(content.encode("utf-8"))
    for file in files:
        digest.update(b"\x00" + file.kind.encode() + hashlib.sha256(file.data).digest())
    return digest.hexdigest()


def send_to_worker(document_id: int) -> bool:
    """Queue processing; a broker outage is logged, not raised (requeue_stale_documents retries later)."""
    from rag import tasks

    try:
        tasks.process_document.delay(document_id)
    except Exception as exc:  # noqa: BLE001 - the document stays pending and is picked up again
        logger.warning("could not queue document %s for processing: %s", document_id, exc)
        return False
    return True


def _enqueue(document_id: int) -> None:
    transaction.on_commit(lambda: send_to_worker(document_id))


def requeue_stale_documents(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue again documents left pending/processing (lost task, worker crash, broker outage).

    Each one is claimed first by a conditional UPDATE that bumps updated_at, so a document a worker has
    just claimed (which bumps it too) or another re-queue run took is not sent twice."""
    stale = Document.objects.filter(
        status__in=[Document.Status.PENDING, Document.Status.PROCESSING], updated_at__lt=timezone.now() - older_than
    )
    requeued = 0
    for document_id in list(stale.values_list("id", flat=True)[:500]):
        if stale.filter(pk=document_id).update(updated_at=timezone.now()) == 1:
            requeued += send_to_worker(document_id)
    return requeued


def upsert_document(
    *,
    owner,
    rag_key: str,
    rag_type: str,
    filename: str,
    content: str,
    metadata: dict | None = None,
    doc_id: str = "",
    source_type: str = "upload",
    doc_schema: str = "",
    event_type: str = "",
    files: tuple[PendingFile, ...] = (),
    run_now: bool = False,
) -> UpsertResult:
    """Create or update a document. `owner` is the user for user_isolated, None for chatbot_shared.

    Authorisation is the caller's job (rag.services.access.can_write). With run_now the chunks are built
    in this call (demo data, benchmarks, tests); otherwise a Celery task builds them after commit. `files`
    are turned into (more) content by the worker; with an upload among them `content` may be empty.
    """
    content = normalise_text(content or "")
    if not content and not any(file.kind == DocumentFile.Kind.UPLOAD for file in files):
        raise invalid("empty_document", gettext("The document has no text."))
    if rag_type not in RagType.values:
        raise invalid(
            "invalid_rag_type", gettext("rag_type must be one of %(choices)s.") % {"choices": ", ".join(RagType.values)}
        )
    if (rag_type == RagType.USER_ISOLATED) != (owner is not None):
        raise invalid(
            "invalid_owner", gettext("user_isolated documents need an owner; chatbot_shared ones have none.")
        )
    rag_key = rag_key.strip()
    if not rag_key:
        raise invalid("invalid_rag_key", gettext("rag_key is required."))
    fields = {
        "rag_type": rag_type,
        "filename": (filename or doc_id or "document")[:255],
        "source_type": source_type,
        "doc_schema": doc_schema,
        "event_type": event_type,
    }
    digest = content_hash(content, files)
    metadata = dict(metadata or {})

    for _attempt in range(2):  # a concurrent create of the same doc_id loses the race once, then updates
        try:
            with transaction.atomic():
                existing = None
                if doc_id:
                    existing = (
                        Document.objects.select_for_update().filter(rag_key=rag_key, owner=owner, doc_id=doc_id).first()
                    )
                if existing is None:
                    document = Document.objects.create(
                        owner=owner,
                        rag_key=rag_key,
                        doc_id=doc_id,
                        content=content,
                        content_hash=digest,
                        metadata=metadata,
                        **fields,
                    )
                    result = UpsertResult(document, created=True, changed=True)
                else:
                    result = _update(existing, content, digest, metadata, fields)
                if result.changed:
                    _replace_files(result.document, files)
                    if not run_now:
                        _enqueue(result.document.pk)
            break
        except IntegrityError:
            if not doc_id or _attempt:
                raise
    if result.changed and run_now:
        process_document(result.document.pk)
        result.document.refresh_from_db()
    return result


def _update(document: Document, content: str, digest: str, metadata: dict, fields: dict) -> UpsertResult:
    unchanged = document.content_hash == digest and document.status != Document.Status.ERROR
    if unchanged:
        # Same input: keep the chunks and the metadata derived from it; refresh the rest.
        metadata.update({key: document.metadata[key] for key in DERIVED_KEYS if key in document.metadata})
    for name, value in fields.items():
        setattr(document, name, value)
    document.metadata = metadata
    if not unchanged:
        document.content = content
        document.content_hash = digest
        document.status = Document.Status.PENDING
        document.status_message = ""
    document.save()
    return UpsertResult(document, created=False, changed=not unchanged)


def _replace_files(document: Document, files: tuple[PendingFile, ...]) -> None:
    """The worker's input for the new content (the document row is locked or new)."""
    DocumentFile.objects.filter(document=document).delete()
    DocumentFile.objects.bulk_create(
        DocumentFile(document=document, kind=file.kind, name=file.name[:1000], data=file.data) for file in files
    )


def upsert_upload(*, owner, rag_key: str, rag_type: str, filename: str, data: bytes, tags: list[str],
                  doc_id: str = "") -> UpsertResult:  # fmt: skip
    """An uploaded file: checked now (4xx), its text extracted now (plain text) or by the worker (PDF, DOCX).

    Without a doc_id the file name is the document's identity (`upload:<filename>`): uploading the same
    file again is an upsert, answered 200 with nothing re-ingested when its content did not change."""
    check_upload(filename, data)
    doc_id = doc_id or f"upload:{filename}"[:255]
    worker = needs_worker_extraction(filename)
    return upsert_document(
        owner=owner,
        rag_key=rag_key,
        rag_type=rag_type,
        filename=filename,
        content="" if worker else extract_text(filename, data),
        metadata={"tags": tags, "title": filename},
        doc_id=doc_id,
        source_type="upload",
        files=(PendingFile(DocumentFile.Kind.UPLOAD, filename, data),) if worker else (),
    )


def delete_documents(documents) -> int:
    """Delete documents (a queryset) with their chunks. The rows are locked first: a worker swapping in
    chunks holds that lock, so the delete waits for it and then removes the new chunks too (otherwise
    they would reference a deleted document and the commit fail)."""
    with transaction.atomic():
        locked = Document.objects.filter(pk__in=documents.values("pk")).order_by("pk").select_for_update()
        ids = list(locked.values_list("pk", flat=True))
        deleted, _ = Document.objects.filter(pk__in=ids).delete()
    return deleted


def delete_document(document: Document) -> None:
    delete_documents(Document.objects.filter(pk=document.pk))


def delete_by_doc_id(*, owner, rag_key: str, doc_id: str) -> bool:
    document = Document.objects.filter(rag_key=rag_key, owner=owner, doc_id=doc_id).first()
    if document is None:
        return False
    delete_document(document)
    return True


# --- processing ---------------------------------------------------------------------------------


def embed_texts(texts: list[str]) -> tuple[list[list[float]], str]:
    from rag.providers import get_embedder

    embedder = get_embedder()
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        vectors.extend(embedder.embed(texts[start : start + EMBED_BATCH]))
    expected = Chunk._meta.get_field("embedding").dimensions
    if any(len(vector) != expected for vector in vectors):
        raise ValueError(
            f"the embedder returned vectors that are not {expected}-dimensional (the column size); after changing "
            "EMBEDDING_DIMENSIONS run makemigrations/migrate for rag and manage.py reembed"
        )
    return vectors, embedder.model


def build_chunks(document: Document) -> tuple[list[Chunk], str]:
    """Unsaved chunks of a document with morphemes and embeddings (no transaction held)."""
    from rag.providers import kiwi_morphemes_batch

    pieces = [piece for piece in chunk_text(document.content) if _WORD.search(piece)]
    if not pieces:
        raise ValueError("the document has no indexable text")
    morphemes = kiwi_morphemes_batch(pieces)
    vectors, model = embed_texts(pieces)
    chunks = [
        Chunk(
            document=document,
            rag_key=document.rag_key,
            rag_type=document.rag_type,
            owner_id=document.owner_id,
            chunk_index=index,
            content=piece,
            embedding=vector,
            morphemes=" ".join(tokens),
            token_count=len(tokens),
        )
        for index, (piece, tokens, vector) in enumerate(zip(pieces, morphemes, vectors, strict=True))
    ]
    return chunks, model


def process_document(document_id: int, *, extract_graph: bool = True) -> str:
    """Build and swap in the chunks of a document. Returns "ready", "stale", "missing" or "error".

    A file that cannot be parsed marks the document "error" with the reason ("error" returned, nothing to
    retry). Other errors (provider outages) do the same and are re-raised (Celery retries).
    """
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    processed_hash = document.content_hash
    claimed = Document.objects.filter(pk=document_id, content_hash=processed_hash).update(
        status=Document.Status.PROCESSING, status_message="", updated_at=timezone.now()
    )
    if not claimed:
        return "stale"  # replaced since it was read; the newer version's task builds the chunks
    try:
        try:
            outcome = _extract_files(document, processed_hash)
        except RagError as exc:
            mark_failed(document_id, processed_hash, f"The file could not be read ({exc.error_code}): {exc.detail}")
            return "error"
        if outcome is not None:
            return outcome
        chunks, model = build_chunks(document)
        if not Document.objects.filter(pk=document_id, content_hash=processed_hash).exists():
            return "stale"  # deleted or replaced while embedding: skip the graph extraction too
        graph = extract_graph_metadata(document.metadata.get("title") or document.filename, document.content) if (
            extract_graph
        ) else {}
        with transaction.atomic():
            current = Document.objects.select_for_update().filter(pk=document_id).first()
            if current is None:
                return "missing"
            if current.content_hash != processed_hash:
                return "stale"  # a newer upsert arrived; its own task builds the chunks
            current.chunks.all().delete()
            Chunk.objects.bulk_create(chunks, batch_size=500)
            current.metadata = {**current.metadata, **graph}
            current.embedding_model = model
            current.status = Document.Status.READY
            current.status_message = ""
            current.save(update_fields=["metadata", "embedding_model", "status", "status_message", "updated_at"])
        return "ready"
    except Exception as exc:
        mark_failed(document_id, processed_hash, f"{type(exc).__name__}: {exc}")
        raise


def _extract_files(document: Document, processed_hash: str) -> str | None:
    """Turn the document's pending files into its content (upload text, then image descriptions) and drop
    them; updates `document` in place. "stale" when the document was replaced or deleted meanwhile."""
    files = list(DocumentFile.objects.filter(document_id=document.pk))
    if not files:
        return None
    content, metadata = document.content, document.metadata
    for upload in (file for file in files if file.kind == DocumentFile.Kind.UPLOAD):
        content = extract_text(upload.name, bytes(upload.data))
    images = [file for file in files if file.kind == DocumentFile.Kind.IMAGE]
    if images:
        from rag.providers import get_vision

        captions = get_vision().describe([bytes(image.data) for image in images])  # ProviderError: Celery retries
        described = [
            {"url": image.name, "caption": caption} for image, caption in zip(images, captions, strict=False) if caption
        ]
        content, metadata = with_image_descriptions(content, metadata, described)
    with transaction.atomic():
        current = Document.objects.select_for_update().filter(pk=document.pk, content_hash=processed_hash).first()
        if current is None:
            return "stale"
        current.content, current.metadata = content, metadata
        current.save(update_fields=["content", "metadata", "updated_at"])
        DocumentFile.objects.filter(document_id=document.pk).delete()
    document.content, document.metadata = content, metadata
    return None


def mark_failed(document_id: int, processed_hash: str, message: str) -> None:
    """Record why processing failed (only if the document was not replaced meanwhile)."""
    Document.objects.filter(pk=document_id, content_hash=processed_hash).update(
        status=Document.Status.ERROR, status_message=message[:2000]
    )


def reextract_graph(document_id: int) -> None:
    document = Document.objects.get(pk=document_id)
    graph = extract_graph_metadata(document.metadata.get("title") or document.filename, document.content)
    with transaction.atomic():
        current = Document.objects.select_for_update().get(pk=document_id)
        current.metadata = {**current.metadata, **graph}
        current.save(update_fields=["metadata", "updated_at"])


def reembed_document(document_id: int) -> str:
    """Rebuild chunks and embeddings with the current embedder, keeping the graph metadata."""
    return process_document(document_id, extract_graph=False)
