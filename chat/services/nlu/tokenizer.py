"""Kiwi morpheme tokenisation. The analyser takes seconds to load, so it is built once, on first use."""

import threading

_PUNCTUATION_TAGS = ("SF", "SP", "SS", "SE", "SO")  # Kiwi tags of sentence marks, brackets, ellipses

_kiwi = None
_kiwi_lock = threading.Lock()


def get_kiwi():
    """The process-wide `kiwipiepy.Kiwi` instance (thread-safe lazy creation)."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                kiwi = Kiwi()
                kiwi.tokenize("워밍업")  # the first analysis loads the language model; pay it here
                _kiwi = kiwi
    return _kiwi


def tokenize(text: str) -> list[str]:
    """Morpheme surface forms of `text`, punctuation dropped: "5천원으로 뭐 먹지?" -> ["5", "천", "원", "으로", ...]."""
    if not text:
        return []
    return [token.form for token in get_kiwi().tokenize(text) if not token.tag.startswith(_PUNCTUATION_TAGS)]
