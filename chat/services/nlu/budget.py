"""Money amounts in Korean messages: "5천원", "만 오천원", "1만2천원", "12,000원", "오천 원" -> won.

Expects normalised text (see `normalize`); `extract_budget` normalises itself, so it is safe on raw input.
"""

import re
from dataclasses import dataclass

from .normalize import normalize

BUDGET_MIN = 100  # below this an "amount" is noise ("사원", "구원" read as 4원, 9원)
BUDGET_MAX = 100_000  # seed 003 extracted_entities schema: budget maximum 100000

_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
# A hangul digit only counts in front of a unit ("오천", not the "이" of "이하").
_PIECE = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|[일이삼사오육칠팔구](?=[십백천만])|[십백천만])"
_AMOUNT = re.compile(
    rf"(?<![가-힣\d.,])(?P<number>{_PIECE}(?:\s?{_PIECE})*)(?P<won>\s?원)?(?=(?P<after>.{{0,4}}))",
)
# What follows an amount that is being offered as a budget: "5천원으로", "8천이면", "만원 이하", "5천원짜리".
_BUDGET_FOLLOWER = re.compile(
    r"^\s?(으로|로|이면|면|이하|까지|안에|안으로|내로|내외|이내|정도|쯤|짜리|어치|밖에|만|있|남|대|선|에)"
)
# Counters that make a bare number something other than money: "3명", "2시", "10분".
_COUNTER = re.compile(
    r"^\s?(명|개|분|시|번|살|층|인|학년|반|km|m|곳|군데|가지|그릇|판|마리|조각|일|월|년|주|초|시간)"
)
_RANGE_BETWEEN = re.compile(r"^\s?(~|-|에서|부터)")
_COUPON_BEFORE = re.compile(r"(쿠폰|할인)\s?$")
_COUPON_AFTER = re.compile(r"^(짜리|권)?\s?(할인|쿠폰)")


@dataclass(frozen=True)
class Amount:
    value: int
    start: int
    end: int
    has_won: bool
    budget_like: bool  # has 원 or is offered as a budget
    offered: bool  # followed by a budget particle: "으로", "이면", "이하", "짜리", "밖에"...


def parse_korean_number(expression: str) -> int | None:
    """Value of a Korean/Arabic numeral expression: "1만2천" -> 12000, "만 오천" -> 15000, "12,000" -> 12000."""
    total = 0.0  # completed 만 groups
    section = 0.0  # completed 십/백/천 parts below 만
    current: float | None = None  # the number waiting for a unit
    for piece in re.findall(_PIECE, expression.replace(" ", "")):
        if piece[0].isdigit():
            if current is not None:  # two bare numbers in a row: "5천 500" was handled as unit+number; this is junk
                section += current
            current = float(piece.replace(",", ""))
        elif piece in _DIGITS:
            if current is not None:
                return None  # "오오천" is not a number
            current = _DIGITS[piece]
        elif piece in _SMALL_UNITS:
            section += (1 if current is None else current) * _SMALL_UNITS[piece]
            current = None
        else:  # 만
            group = section + (current or 0)
            total += (group or 1) * 10_000
            section, current = 0.0, None
    value = total + section + (current or 0)
    return int(round(value)) if value else None


def find_amounts(text: str) -> list[Amount]:
    """Every plausible money amount in normalised `text`, in order of appearance."""
    amounts = []
    for match in _AMOUNT.finditer(text):
        number = match.group("number").strip()
        has_won = match.group("won") is not None
        after = match.group("after")
        has_digit = any(ch.isdigit() for ch in number)
        has_unit = any(ch in "천만백" for ch in number)
        offered = bool(_BUDGET_FOLLOWER.match(after))
        end = match.end("won") if has_won else match.end("number")
        start = match.start("number")
        if _COUPON_BEFORE.search(text[max(0, start - 4) : start]) or _COUPON_AFTER.match(text[end : end + 8]):
            continue  # a coupon's face value ("3천원 할인 쿠폰"), not what the user can spend
        if not has_won:
            if _COUNTER.match(after):
                continue
            if not offered and not (has_digit and has_unit):
                continue  # "3", "2024", "오천" need 원 or "...으로"; "5천" stands on its own
        value = parse_korean_number(number)
        if value is None or not BUDGET_MIN <= value <= BUDGET_MAX:
            continue
        amounts.append(Amount(value, start, end, has_won, offered or has_won, offered))
    return amounts


def extract_budget(text: str) -> int | None:
    """The budget in won a message states, or None.

    The first amount offered as a budget ("6천원으로") wins, else the first amount in won, else the first amount;
    for a range ("5천원에서 7천원", "5천~7천원") the upper bound.
    """
    amounts = find_amounts(normalize(text))
    if not amounts:
        return None
    preferred = [a for a in amounts if a.offered] or [a for a in amounts if a.has_won] or amounts
    chosen = preferred[0]
    position = amounts.index(chosen)
    if position + 1 < len(amounts):
        following = amounts[position + 1]
        between = normalize(text)[chosen.end : following.start]
        if _RANGE_BETWEEN.match(between) and following.value > chosen.value:
            return following.value
    return chosen.value
