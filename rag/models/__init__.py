from rag.models.documents import Chunk, Document, RagType, ScopeStat, SharedResultsVersion, TermStat
from rag.models.ownership import PartnerRagKey

__all__ = ["Chunk", "Document", "PartnerRagKey", "RagType", "ScopeStat", "SharedResultsVersion", "TermStat"]
