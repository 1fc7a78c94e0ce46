"""Text normalisation applied before every other NLU step.

Only targeted rewrites: NFKC would also turn compatibility jamo ("ㅋㅋ", "ㅠㅠ") into conjoining
jamo, so full-width ASCII is folded by hand instead.
"""

import re
import unicodedata

# U+FF01..U+FF5E (full-width "！".."～") map onto U+0021..U+007E.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH.update({0x3000: 0x20, 0x00A0: 0x20, 0xFFE6: ord("원")})  # ideographic space, nbsp, full-width won sign
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_ELLIPSIS = re.compile("[\u2026\u22ef]")
_REPEATED_PUNCT = re.compile(r"([?!~,^])\1+")
_DOTS = re.compile(r"\.{2,}")
_MIXED_QE = re.compile(r"[?!]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([?!.,~])")
_WHITESPACE = re.compile(r"\s+")
# "5 천원", "1 만 2천원": a digit separated from its Korean unit.
_DIGIT_UNIT_GAP = re.compile(r"(\d)\s+(?=[천만백]|원)")
_WON_SIGN = re.compile(r"[₩\\]\s*(\d[\d,]*)")


def normalize(text: str) -> str:
    """Canonical form of a user message: NFC, half-width ASCII, single spaces, tame punctuation.

    >>> normalize("４천원으로  뭐 먹지？？")
    '4천원으로 뭐 먹지?'
    """
    text = unicodedata.normalize("NFC", text or "")
    text = text.translate(_FULLWIDTH)
    text = _ZERO_WIDTH.sub("", text)
    text = _ELLIPSIS.sub("...", text)
    text = _WON_SIGN.sub(r"\1원", text)
    text = _MIXED_QE.sub(lambda m: "?" if "?" in m.group(0) else "!", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _DOTS.sub("...", text)
    text = _DIGIT_UNIT_GAP.sub(r"\1", text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.lower()
