"""Question text helpers that cost no model: normalisation and a character n-gram similarity.

Kept apart from the clustering (scikit-learn, datasketch) so that the chat's curated-answer lookup
imports nothing heavy.
"""

import re
import unicodedata
from collections import Counter

_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, lower case, punctuation dropped, spaces folded: 'ＶＰＮ  접속?' -> 'vpn 접속'."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def shingles(text: str) -> set[str]:
    """Character 3-grams of a normalised text with its spaces removed."""
    compact = text.replace(" ", "")
    return {compact[i : i + 3] for i in range(max(1, len(compact) - 2))}


def similarity(a: str, b: str) -> float:
    """Cosine of the character 2-3-gram counts of two questions, once normalised."""
    grams_a, grams_b = _grams(normalise(a)), _grams(normalise(b))
    dot = sum(count * grams_b[gram] for gram, count in grams_a.items())
    norm = (sum(c * c for c in grams_a.values()) * sum(c * c for c in grams_b.values())) ** 0.5
    return dot / norm if norm else 0.0


def _grams(text: str) -> Counter:
    compact = text.replace(" ", "")
    return Counter(compact[i : i + n] for n in (2, 3) for i in range(max(0, len(compact) - n + 1)))
