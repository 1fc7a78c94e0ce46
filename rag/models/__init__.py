from rag.models.documents import Chunk, Document, DocumentFile, RagType, ScopeStat, SharedResultsVersion, TermStat
from rag.models.ownership import PartnerRagKey

__all__ = [
    "Chunk", "Document", "DocumentFile", "PartnerRagKey", "RagType", "ScopeStat", "SharedResultsVersion", "TermStat",
]
