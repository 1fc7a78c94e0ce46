"""The keyword rules of the baseline classifier over the 12 intents of seed 003 (`chat.models.Intent`,
conversations.extracted_intent)."""

import re

from chat.models.dining import Intent

from .budget import find_amounts

INTENTS: tuple[str, ...] = tuple(Intent.values)

# (pattern over normalised text, intent, logit boost). High-precision cues only: the statistical model learns
# the rest, and is trained with these boosts as fixed offsets so it only has to learn what they miss.
_RULES: tuple[tuple[re.Pattern, str, float], ...] = tuple(
    (re.compile(pattern), intent, boost)
    for pattern, intent, boost in (
        (r"충전|채워\s?(줘|주|놔|넣)|입금|(돈|원)\s?(좀\s?)?(넣|채워)|리필", Intent.BALANCE_CHARGE, 3.0),
        (r"잔액|잔고|남은\s?(돈|금액)|얼마\s?남|얼마나\s?남|남아\s?있|카드에\s?(돈\s?)?얼마|한도|돈\s?얼마|"
         r"쓸\s?수\s?있는\s?(돈|금액)|얼마\s?(썼|쓸\s?수)|아직\s?돈|돈\s?(있어|있나|남았)", Intent.BALANCE_CHECK, 2.5),
        (r"쿠폰|할인|이벤트|적립|혜택|프로모션|공짜|무료", Intent.COUPON_INQUIRY, 2.5),
        (r"몇\s?시|영업\s?시간|영업\s?중|영업해|문\s?(열|닫|연|여)|열었|닫았|열려|닫혀|언제까지|언제부터|오픈|마감|"
         r"브레이크|쉬는\s?날|휴무|쉬어|지금\s?(하|열|먹을\s?수\s?있|가면)|아직\s?(해|하|열)|늦게까지|24시|"
         r"(?<![가-힣])(여는|열어|여나|연\s?(곳|데|가게|식당))|\d\s?시(에|까지)?도?\s?(하는|해|열|여는)",
         Intent.TIME_INQUIRY, 2.0),
        (r"어디|위치|가는\s?길|가까운|가까이|몇\s?분\s?(걸|거리)|멀어|먼가|머나|거리가|찾아가|지도|걸어서|도보",
         Intent.LOCATION_INQUIRY, 1.5),
        (r"곱빼기|곱배기|순살|덜\s?맵|안\s?맵|맵게|맵기|추가\s?(돼|되|할|해|가능)|빼\s?(줘|주|고|달라)|사이즈|옵션|"
         r"반반|양\s?많이|토핑|소스|세트로|바꿀\s?수|변경", Intent.MENU_OPTION, 2.0),
        (r"배고파\s?죽|배고파서\s?죽|쓰러지|쓰러질|굶었|굶고|굶어|돈이?\s?(하나도\s?)?없|돈도\s?없|한\s?푼도|급해|급하|"
         r"아무것도\s?못\s?먹|한\s?끼도|하루\s?종일|살려|어지러|너무\s?배고|진짜\s?배고|먹을\s?(게|거)\s?없",
         Intent.EMERGENCY_FOOD, 2.0),
        (r"\d+\s?명|[두세네]\s?명|다섯\s?명|둘이|셋이|넷이|다섯이|우리\s?(반|가족|팀|동아리)|단체|회식|모임|생일|파티|"
         r"뒤풀이|다\s?같이|다같이|친구들|가족|(친구|동생|형|누나|언니|오빠|엄마|아빠|부모님|할머니|할아버지)(들)?"
         r"\s?(이랑|랑|하고|와|과)\s", Intent.GROUP_DINING, 2.5),
        (r"먹고\s?싶|땡겨|땡기|땡긴|뭐\s?먹|먹을\s?(거|만한|만 한)|먹을래", Intent.FOOD_REQUEST, 1.5),
        # Requests the dining assistant cannot serve.
        (r"숙제|공부|시험\s?(답|문제)|게임|주식|코인|유튜브|노래|축구|야구|버스|지하철|요금|단어|번역",
         Intent.UNKNOWN, 1.5),
        (r"^(안녕|하이|ㅎㅇ|반가|고마|감사|땡큐|잘\s?자|굿|좋아|응|ㅇㅇ|ㅋㅋ|ㅎㅎ|넌|너는|니\s?이름|너\s?이름)|"
         r"고마워|고맙|감사합|안녕|심심|너\s?(누구|뭐야|이름)|넌\s?누구|사랑해|잘\s?자|수고", Intent.GENERAL_CHAT, 1.5),
        # Asking how to use the assistant is not a wish to eat. (A filler on its own, "음" or "어", stays
        # unclear: a low-confidence turn the review queue should see.)
        (r"도움말|^사용법|(뭘|뭐|무엇을?)\s?할\s?수\s?있", Intent.GENERAL_CHAT, 2.0),
    )
)
_BUDGET_BOOST = 2.0  # an amount offered as a budget ("5천원으로", "8천원이면") points at BUDGET_INQUIRY
_GIBBERISH_BOOST = 3.0
_LAUGHTER_OR_TEARS = frozenset("ㅋㅎㅠㅜ")
_LATIN_WORDS = frozenset({"hi", "hello", "hey", "ok", "okay", "thanks", "thx", "bye", "yes", "no"})
_PRECEDENCE = (
    (Intent.BALANCE_CHARGE, Intent.BUDGET_INQUIRY),
    (Intent.GROUP_DINING, Intent.BUDGET_INQUIRY),
    (Intent.BUDGET_INQUIRY, Intent.FOOD_REQUEST),
)


def rule_boosts(text: str) -> dict[str, float]:
    """Intent -> summed boost of the rules matching normalised `text` (empty when no rule fires)."""
    boosts: dict[str, float] = {}
    for pattern, intent, boost in _RULES:
        if pattern.search(text):
            boosts[intent] = boosts.get(intent, 0.0) + boost
    if _is_gibberish(text):
        boosts[Intent.UNKNOWN] = boosts.get(Intent.UNKNOWN, 0.0) + _GIBBERISH_BOOST
    if any(amount.budget_like for amount in find_amounts(text)):
        boosts[Intent.BUDGET_INQUIRY] = boosts.get(Intent.BUDGET_INQUIRY, 0.0) + _BUDGET_BOOST
    # Labelling precedence: a top-up amount is not a meal budget ("3만원 넣어줘" is BALANCE_CHARGE), eating together
    # outranks the amount ("동생이랑 둘이 2만원으로" is GROUP_DINING), and a stated amount outranks the wish to eat
    # ("5천원 있어 뭐 먹지" is BUDGET_INQUIRY).
    for stronger, weaker in _PRECEDENCE:
        if stronger in boosts:
            boosts.pop(weaker, None)
    return boosts


def _is_gibberish(text: str) -> bool:
    """Keyboard mashing and empty noise: "ㅁㄴㅇㄹ", "asdf", "...?" (but not laughter "ㅋㅋ" or "hi")."""
    letters = [ch for ch in text if ch.isalnum()]
    if not letters:
        return True
    if all("\u3131" <= ch <= "\u318e" for ch in letters):  # compatibility jamo only, no syllables
        return not set(letters) <= _LAUGHTER_OR_TEARS
    if all(ch.isascii() for ch in letters) and not any(ch.isdigit() for ch in letters):
        return not set(text.split()) & _LATIN_WORDS
    return False
