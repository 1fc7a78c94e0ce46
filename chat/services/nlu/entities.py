"""Rule-based entity extraction over normalised text (budget, food, place, company, meal time, options, urgency)."""

import re
from functools import lru_cache

from .budget import extract_budget
from .lexicon import (
    COMPANIONS,
    FOOD_WORDS,
    MEAL_TIME_WORDS,
    NOT_PLACE_WORDS,
    PEOPLE_COUNT_PREFIX,
    PEOPLE_WORDS,
    PLACES,
)

ENTITY_KEYS = (
    "budget", "budget_scope", "food_type", "category", "location", "companions", "companion_count",
    "meal_time", "visit_time", "menu_options", "urgency", "no_money",
)


def _alternation(words) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


# Food words that are also ordinary grammar: "배고파 죽겠어" (죽), "먹을 거라면" (라면).
_FOOD_GUARDS = {"죽": r"(?![겠을어었는다것고]|\s?(겠|것))", "라면": "", "빵": r"(?!빵)"}
_NEGATION_AFTER = re.compile(r"^\s?(은|는|이|가)?\s?(말고|빼고|말구|대신|싫|질렸|질려|별로|안\s?먹|못\s?먹|말구)")


@lru_cache(maxsize=1)
def _food_pattern() -> re.Pattern:
    parts = []
    for word in sorted(FOOD_WORDS, key=len, reverse=True):
        guard = _FOOD_GUARDS.get(word, "")
        prefix = r"(?<![거이다것기])" if word == "라면" else ""
        if word.isascii():  # brand names such as "cu", "kfc" must stand alone
            prefix, guard = r"(?<![a-z0-9])", r"(?![a-z0-9])"
        parts.append(f"{prefix}{re.escape(word)}{guard}")
    return re.compile("|".join(parts))


def extract_food(text: str) -> tuple[str | None, str | None]:
    """(food_type, category) of the first food the message asks for; foods it turns down ("치킨 말고") are skipped."""
    for match in _food_pattern().finditer(text):
        if _NEGATION_AFTER.match(text[match.end() : match.end() + 8]):
            continue
        return FOOD_WORDS[match.group(0)]
    return None, None


def rejected_foods(text: str) -> list[str]:
    """Food words the user turns down: "치킨 말고 피자" -> ["치킨"]."""
    return [
        match.group(0)
        for match in _food_pattern().finditer(text)
        if _NEGATION_AFTER.match(text[match.end() : match.end() + 8])
    ]


_PLACE = re.compile(f"(?<![가-힣])(?:{_alternation(PLACES)})(?:역)?")
_GENERIC_PLACE = re.compile(
    r"(?<![가-힣])([가-힣]{1,5}(?:역|입구|동))(?=$|[\s?!.,~]|에|에서|으로|로|쪽|근처|주변|앞|이나|인데|이야|은|는)"
)
_NOT_PLACE_PREFIX = ("어느", "무슨", "우리", "이", "그", "저")
_LANDMARK_NEAR = re.compile(r"(우리\s?집|집|학교|학원|도서관|공원|교회|체육관|병원)\s?(앞|근처|주변|쪽|가까이|근방)")
_NEAR = re.compile(r"근처|주변|가까운|가까이|근방|이 동네|우리 동네|이동네|우리동네|여기서|여기 ")


def extract_location(text: str) -> str | None:
    """A named place ("건대입구", "강남역", "화양동"), a landmark ("학교 근처") or just "근처"."""
    match = _PLACE.search(text)
    if match:
        return match.group(0)
    for match in _GENERIC_PLACE.finditer(text):
        name = match.group(1)
        if name in NOT_PLACE_WORDS or name.startswith(_NOT_PLACE_PREFIX) and len(name) <= 3:
            continue
        return name
    match = _LANDMARK_NEAR.search(text)
    if match:
        return f"{match.group(1).replace(' ', '')} 근처"
    return "근처" if _NEAR.search(text) else None


_GROUP_NOUNS = frozenset({"가족", "동아리", "팀원", "친척", "사촌"})
# A person word counts as company when it is followed by "랑/하고/와/도/끼리/같이/N명..." ("동생이 배고프대" does
# not); group nouns ("가족 외식") always do.
_COMPANION = re.compile(
    f"(?<![가-힣])(?:(?P<group>{_alternation(_GROUP_NOUNS)})|(?P<person>{_alternation(set(COMPANIONS) - _GROUP_NOUNS)})"
    r"(?P<plural>들)?"
    r"(?=\s?(\d+\s?명|[한두세네]\s?명|(둘|셋|넷|다섯)\s?(이랑|하고|이서|이)|이랑|랑|하고|와(?![가-힣])|과(?![가-힣])|"
    r"도|끼리|네|까지|같이|함께|데리고|생일|이\s?랑)))"
)
_NUMBER_OF_PEOPLE = re.compile(
    f"(?P<digits>\\d+)\\s?(?:명|인(?![분치당]))|(?<![가-힣])(?P<native>{_alternation(PEOPLE_COUNT_PREFIX)})\\s?명"
)
# "열이" is more often a fever than ten people, so 열 only counts as "열 명" (see _NUMBER_OF_PEOPLE).
_PEOPLE_WORD = re.compile(
    r"(?<![가-힣])(둘|셋|넷|다섯|여섯|일곱|여덟|아홉)(?:(?P<with>이랑|이하고|하고|랑)|이서|이|서)(?![가-힣])|혼자"
)
_PLUS_ME = re.compile(r"^\s?(이랑|랑|하고|과|와|이와)")


def extract_companions(text: str) -> tuple[list[str], int | None]:
    """People the user eats with, and how many people eat in total (the user included) when it is knowable."""
    companions: list[str] = []
    plural = False
    for match in _COMPANION.finditer(text):
        name = COMPANIONS[match.group("group") or match.group("person")]
        plural = plural or bool(match.group("plural")) or name in _GROUP_NOUNS
        if name not in companions:
            companions.append(name)
    if count := _explicit_count(text):
        return companions, count
    if companions:
        if plural:
            return companions, None
        return companions, 1 + len(companions) + (1 if "부모님" in companions else 0)
    return companions, None


def _explicit_count(text: str) -> int | None:
    match = _NUMBER_OF_PEOPLE.search(text)
    if match:
        count = int(match.group("digits")) if match.group("digits") else PEOPLE_COUNT_PREFIX[match.group("native")]
        before = text[max(0, match.start() - 6) : match.start()]
        # "친구 3명이랑" is three friends plus the user; "3명이서" / "우리 3명" is everyone.
        if _PLUS_ME.match(text[match.end() : match.end() + 3]) and _COMPANION_NOUN_END.search(before):
            return count + 1
        return count
    match = _PEOPLE_WORD.search(text)
    if match:
        if match.group(0) == "혼자":
            return 1
        count = PEOPLE_WORDS[match.group(1)]
        # "누나 둘이랑" / "형 넷하고" are that many companions plus the user; "둘이서" is everyone.
        before = text[max(0, match.start() - 6) : match.start()]
        if match.group("with") and _COMPANION_NOUN_END.search(before):
            return count + 1
        return count
    return None


_COMPANION_NOUN_END = re.compile(f"({_alternation(COMPANIONS)})(들)?\\s?$")

_MEAL_TIME = re.compile(_alternation(MEAL_TIME_WORDS))
_CLOCK = re.compile(r"(오전|오후|아침|낮|저녁|밤|새벽)?\s?(\d{1,2})\s?시(?!간)(?:\s?(반|\d{1,2}\s?분))?")


def extract_meal_time(text: str) -> str | None:
    """아침/점심/저녁/야식 from meal words ("점심", "밤에" -> 야식) or a clock time ("밤 10시" -> 야식)."""
    for match in _MEAL_TIME.finditer(text):
        if _NEGATION_AFTER.match(text[match.end() : match.end() + 6]):
            continue
        return MEAL_TIME_WORDS[match.group(0)]
    for match in _CLOCK.finditer(text):
        meal = _meal_for_clock(match.group(1), int(match.group(2)))
        if meal:
            return meal
    return None


def _meal_for_clock(qualifier: str | None, hour: int) -> str | None:
    if qualifier in ("밤", "새벽"):
        return "야식"
    if qualifier in ("오후", "낮", "저녁") and hour < 12:
        hour += 12
    if qualifier in ("오전", "아침") and hour == 12:
        hour = 0
    if qualifier is None and 1 <= hour <= 4:
        hour += 12  # "1시" said about food means the afternoon
    if 5 <= hour <= 10:
        return "아침" if qualifier else None  # a bare "7시" could be morning or evening
    if 11 <= hour <= 15:
        return "점심"
    if 16 <= hour <= 20:
        return "저녁"
    if hour >= 21 or hour <= 4:
        return "야식"
    return None


_UNTIL = re.compile(r"\s?까지")


def extract_visit_time(text: str) -> str | None:
    """The clock time the user means to eat at, "HH:MM" in 24 h: "밤 11시" -> "23:00", "저녁 7시 반" -> "19:30",
    "3시에" -> "15:00" (a bare 1-8 o'clock said about food is the afternoon)."""
    match = _CLOCK.search(text)
    if match is None or _UNTIL.match(text, match.end()):
        return None  # "12시까지 하는 곳" asks how late a shop is open, not when the user comes
    qualifier, hour = match.group(1), int(match.group(2))
    minute_text = match.group(3) or ""
    minute = 30 if minute_text == "반" else int(re.sub(r"\D", "", minute_text) or 0)
    if hour > 24 or minute > 59:
        return None
    if qualifier in ("오후", "낮", "저녁", "밤") and hour < 12 and not (qualifier == "밤" and hour <= 4):
        hour += 12
    elif qualifier in ("오전", "아침", "새벽", "밤") and hour == 12 or qualifier is None and hour == 24:
        hour = 0
    elif qualifier is None and 1 <= hour <= 8:
        hour += 12
    return f"{hour % 24:02d}:{minute:02d}"


_PER_PERSON = re.compile(r"1\s?인당|(?<![가-힣])인당|(한|1)\s?명당|각자|한\s?사람당|1\s?사람당")
_IN_TOTAL = re.compile(r"(?<![가-힣])총|합쳐서|합해서|(다|전부|모두)\s?(해서|합쳐|합해)")


def extract_budget_scope(text: str) -> str | None:
    """Whether a stated amount is "per_person" ("1인당 5천원") or the group's "total" ("다 합쳐서 2만원")."""
    if _PER_PERSON.search(text):
        return "per_person"
    if _IN_TOTAL.search(text):
        return "total"
    return None


_NO_MONEY = re.compile(
    r"돈이?\s?(하나도\s?|1도\s?|한\s?푼도\s?|전혀\s?|진짜\s?)?없|돈도\s?없|한\s?푼도?\s?없|땡전|빈털|텅장|무일푼|"
    r"지갑이?\s?(텅|비었|비어|털)|거지(라|야|됐|가\s?됐|다)|용돈(을|이)?\s?(다|벌써)?\s?(떨어|써|썼)|돈\s?다\s?(써|썼)"
)


def says_no_money(text: str) -> bool:
    """"돈이 하나도 없어", "텅장", "지갑이 비었어": the user has no money to spend (seed §5.3 emergency)."""
    return bool(_NO_MONEY.search(text))


_EXTRA_INGREDIENTS = (
    "치즈", "계란", "달걀", "라면사리", "우동사리", "쫄면사리", "사리", "공기밥", "밥", "떡", "어묵", "소스", "햄",
    "베이컨", "토핑", "면", "음료", "콜라", "사이다", "감자튀김", "패티", "당면", "만두", "야채", "펄", "샷",
)
_OPTION_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern), option)
    for pattern, option in (
        (r"곱빼기|곱배기|곱뻬기|곱으로", "곱빼기"),
        (r"순살", "순살"),
        (r"뼈\s?(있는|치킨|로)", "뼈"),
        (r"반반", "반반"),
        (r"덜\s?맵|덜\s?매운|순한\s?맛|순하게|맵기\s?(약하게|조금|낮게)|조금만\s?맵게|약간\s?맵게", "덜 맵게"),
        (r"안\s?맵게|안\s?매운|맵지\s?않|매운\s?거\s?못\s?먹|매운\s?거\s?빼", "안 맵게"),
        (r"(아주|더|엄청|제일|완전)\s?맵게|매운\s?맛|맵게|매콤하게|매운\s?(걸로|거로)|맵기\s?(최대|세게)", "맵게"),
        (r"덜\s?달게|안\s?달게|당도\s?(낮게|조금)", "덜 달게"),
        (r"양\s?(많이|많은|많게|푸짐|넉넉|많았으면)|많이\s?주|푸짐하게|넉넉하게|대짜로|양\s?추가", "양 많이"),
        (r"양\s?(적게|조금|적은)|조금만\s?주", "양 적게"),
        (r"(?<![가-힣])세트(로|메뉴|\s?메뉴|\s?로)?", "세트"),
        (r"단품", "단품"),
        (r"라지|큰\s?(걸로|사이즈|거|걸)|대자|l\s?사이즈|큰\s?컵", "큰 사이즈"),
        (r"작은\s?(사이즈|거|걸로|걸)|소자|미니\s?사이즈|s\s?사이즈", "작은 사이즈"),
        (r"포장|테이크\s?아웃", "포장"),
        (r"소스\s?따로", "소스 따로"),
        (r"국물\s?(많이|넉넉)", "국물 많이"),
        (r"(얼음)\s?(적게|조금)", "얼음 적게"),
    )
)
_ADD = re.compile(f"({_alternation(_EXTRA_INGREDIENTS)})\\s?(추가|하나\\s?더|더\\s?넣|많이\\s?넣|넣어|올려)")
_REMOVE = re.compile(r"(?<![가-힣])([가-힣]{1,4}?)(?:은|는|을|를)?\s?(빼고|빼줘|빼 ?주|빼서|빼면|없이|넣지\s?말)")


def extract_menu_options(text: str) -> list[str]:
    """Size/spice/extra/removal requests: "곱빼기", "순살", "덜 맵게", "치즈 추가", "오이 빼고"."""
    options: list[str] = []
    remaining = text
    for pattern, option in _OPTION_RULES:
        if pattern.search(remaining):
            remaining = pattern.sub(" ", remaining)  # "덜 맵게" must not also count as "맵게"
            if option not in options:
                options.append(option)
    for match in _ADD.finditer(text):
        option = f"{match.group(1)} 추가"
        if option not in options:
            options.append(option)
    for match in _REMOVE.finditer(text):
        ingredient = match.group(1)
        if ingredient in FOOD_WORDS or ingredient in ("매운", "매운거", "그거", "이거", "저거", "돈", "거"):
            continue  # "치킨 빼고" turns a food down; it is not a menu option
        option = f"{ingredient} 빼고"
        if option not in options:
            options.append(option)
    return options


_URGENT = re.compile(
    r"급해|급하|급함|빨리|당장|지금\s?바로|얼른|배고파\s?죽|배고파서\s?죽|배고파\s?미치|배고파\s?쓰러|쓰러지겠|쓰러질|"
    r"너무\s?배고|엄청\s?배고|진짜\s?배고|완전\s?배고|배가\s?너무|굶었|굶고|굶어|하루\s?종일\s?못|아무것도\s?못\s?먹|"
    r"밥을?\s?못\s?먹|한\s?끼도|돈이?\s?없|돈도\s?없|돈이\s?하나도|잔액이?\s?(없|부족|모자)|"
    r"한\s?푼도|어지러|살려|도와줘|도와주세요|응급|긴급"
)


def extract_urgency(text: str) -> str:
    """"high" for hunger/urgency/no-money signals ("급해", "배고파 죽겠어", "돈이 없어"), else "normal"."""
    return "high" if _URGENT.search(text) else "normal"


def extract_entities(text: str) -> dict:
    """All entities of normalised `text`; every key of ENTITY_KEYS is present."""
    food_type, category = extract_food(text)
    companions, companion_count = extract_companions(text)
    return {
        "budget": extract_budget(text),
        "budget_scope": extract_budget_scope(text),
        "food_type": food_type,
        "category": category,
        "location": extract_location(text),
        "companions": companions,
        "companion_count": companion_count,
        "meal_time": extract_meal_time(text),
        "visit_time": extract_visit_time(text),
        "menu_options": extract_menu_options(text),
        "urgency": extract_urgency(text),
        "no_money": says_no_money(text),
    }
