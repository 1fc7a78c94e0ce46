from rag.models.documents import Chunk, Document, RagType, ScopeStat, TermStat

__all__ = ["Chunk", "Document", "RagType", "ScopeStat", "TermStat"]
