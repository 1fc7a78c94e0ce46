"""Kiwi morpheme tokenisation, on the process-wide Kiwi instance the RAG embedder uses too."""

from rag.providers.local_embedder import get_kiwi

_PUNCTUATION_TAGS = ("SF", "SP", "SS", "SE", "SO")  # Kiwi tags of sentence marks, brackets, ellipses


def tokenize(text: str) -> list[str]:
    """Morpheme surface forms of `text`, punctuation dropped: "5천원으로 뭐 먹지?" -> ["5", "천", "원", "으로", ...]."""
    if not text:
        return []
    return [token.form for token in get_kiwi().tokenize(text) if not token.tag.startswith(_PUNCTUATION_TAGS)]
