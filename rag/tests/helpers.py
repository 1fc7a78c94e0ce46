"""Small builders for the rag tests (real database, local providers)."""

from rag.models import RagType
from rag.services import ingest


def add_document(content: str, *, owner=None, rag_key: str = "kb", doc_id: str = "", filename: str = "doc.txt",
                 metadata: dict | None = None, source_type: str = "upload"):
    """A document ingested synchronously (chunked, embedded, ready) - shared when owner is None."""
    return ingest.upsert_document(
        owner=owner,
        rag_key=rag_key,
        rag_type=RagType.USER_ISOLATED if owner is not None else RagType.CHATBOT_SHARED,
        filename=filename,
        content=content,
        metadata=metadata,
        doc_id=doc_id,
        source_type=source_type,
        run_now=True,
    ).document
