from rag.models.documents import Chunk, Document, RagType

__all__ = ["Chunk", "Document", "RagType"]
