"""Korean particles (조사) chosen by the last sound of the word they follow: "할인" + 을 -> "할인을",
"쿠폰 2개" + 이 -> "쿠폰 2개가"... instead of templated "을(를)".

No maintained PyPI package does only this (tossi, josa, pyjosa are unmaintained), and the rule is
small: a Hangul syllable has a final consonant (받침) when (code - 0xAC00) % 28 != 0; digits are read
as Sino-Korean numbers (3000 -> 삼천, 12 -> 이); Latin letters by their Korean names (L -> 엘).
"""

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
RIEUL = 8  # index of ㄹ among the final consonants: "(으)로" takes 로 after it

# particle as written after a consonant -> (after a consonant, after a vowel)
PARTICLES = {
    "을": ("을", "를"),
    "를": ("을", "를"),
    "은": ("은", "는"),
    "는": ("은", "는"),
    "이": ("이", "가"),
    "가": ("이", "가"),
    "과": ("과", "와"),
    "와": ("과", "와"),
    "이랑": ("이랑", "랑"),
    "으로": ("으로", "로"),
    "로": ("으로", "로"),
    "이에요": ("이에요", "예요"),
    "예요": ("이에요", "예요"),
}
# Final consonant index of the last syllable of how a digit is read when it ends the number.
_DIGIT_FINAL = {"1": RIEUL, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": RIEUL, "8": RIEUL, "9": 0}
# A number ending in zeros ends with its unit: 십 (ㅂ), 백 (ㄱ), 천 (ㄴ), 만 (ㄴ) - all consonants.
_UNIT_FINAL = {1: 17, 2: 1, 3: 4}
YEONG = 21  # 영 (zero): ㅇ
_LETTER_FINAL = {"l": RIEUL, "m": 16, "n": 4, "r": RIEUL}  # 엘, 엠, 엔, 알; the other letter names end in a vowel


def final_consonant(word: str) -> int | None:
    """Index (1..27) of the final consonant of the last sound of `word`, 0 for a vowel, None if unknown."""
    text = word.rstrip(" )]}'\".,!?~")
    if not text:
        return None
    last = text[-1]
    code = ord(last)
    if HANGUL_FIRST <= code <= HANGUL_LAST:
        return (code - HANGUL_FIRST) % 28
    if last.isdigit():
        digits = text.replace(",", "")
        digits = digits[len(digits.rstrip("0123456789")) :]
        if not digits.strip("0"):
            return YEONG
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros == 0:
            return _DIGIT_FINAL.get(last, 0)
        return _UNIT_FINAL.get(zeros, 4)  # 10^4 and up end in 만 (ㄴ)
    return _LETTER_FINAL.get(last.lower(), 0) if last.isascii() and last.isalpha() else None


def attach(word: str, particle: str) -> str:
    """`word` followed by the form of `particle` its last sound takes: attach("할인", "을") == "할인을"."""
    after_consonant, after_vowel = PARTICLES[particle]
    final = final_consonant(word)
    if final is None:  # an emoji, a symbol: both forms, as Korean writing does
        return word + ("(으)로" if after_consonant == "으로" else f"{after_consonant}({after_vowel})")
    if after_consonant == "으로":
        return word + ("으로" if final not in (0, RIEUL) else "로")
    return word + (after_consonant if final else after_vowel)
