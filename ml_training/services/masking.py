"""The one masker of personal data in learning data and exports (seed 003 §8.6).

`mask_text()` replaces card numbers with [CARD], phone numbers with [PHONE], street addresses with
[ADDRESS], person names with [NAME] and e-mail addresses with [EMAIL], in the Korean forms people
type: 010-1234-5678 / 01012345678 / +82 10 1234 5678 / 02-123-4567; 1234-5678-9012-3456 or with
spaces; "서울시 광진구 화양동 12-3", "테헤란로 123", "능동로 12길 3", "화양동 12번지", "101동 202호";
"김민수님", "김민수 씨", "김민수 고객님", "이름은 김민수", "저는 김민수입니다".

It is pattern-based, so it errs on the side of masking: a place a child names to find food
("강남역 근처", "건대입구", "광진구 쪽") is not an address and is kept; a titled word that only looks
like a name ("사장님", "선생님", "고객님") is kept by a stop list. `mask_data()` applies it to every
string inside JSON-like data. Used by the collection queue (everything entering raw_data), the
training-data export and the partner tuning-log export.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARD = "[CARD]"
PHONE = "[PHONE]"
ADDRESS = "[ADDRESS]"
NAME = "[NAME]"
EMAIL = "[EMAIL]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 16-digit cards in 4-4-4-4 (spaces, dashes or none) and 15-digit 4-6-5 (AMEX), not inside longer numbers.
_CARD = re.compile(r"(?<![\d-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}|\d{4}[ -]?\d{6}[ -]?\d{5})(?![\d-])")
# Mobile 010/011/016-019, Seoul 02, regional 0xx, 050x/070 numbers, with -, ., spaces or nothing; +82 form.
_PHONE = re.compile(
    r"(?<![\d-])(?:\+82[ -]?(?:0?1[016789]|0?[2-6]\d?|0?70)|01[016789]|02|0[3-6][1-5]|070|050\d)"
    r"[ .-]?\d{3,4}[ .-]?\d{4}(?![\d-])"
)
_REGION = (
    "서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
    "|충청북|충청남|전라북|전라남|경상북|경상남"
)
_UNIT = r"[가-힣0-9]{1,10}(?:시|군|구|읍|면|동|리|가)"
_ROAD = r"[가-힣0-9]{1,12}(?:로|길)"
# a house number, not an amount, a count or a time ("번호로 5천원", "3번 출구", "2명")
_NUMBER = r"\d{1,5}(?:-\d{1,5})?(?:\s?번지)?(?![\d,.]|\s?(?:천|만|원|명|시|분|개|살|번|인분|등|위|퍼|%|층|k|m|g))"
_DETAIL = r"(?:[ ,]*(?:\d{1,4}동\s?)?\d{1,5}호|[ ,]*\d{1,3}층|[ ,]*[가-힣]{1,12}(?:아파트|빌라|오피스텔|맨션))*"
_ADDRESS = re.compile(
    # (each alternative starts at the beginning of a word: far fewer attempts on long answers)
    r"(?<![가-힣0-9])(?:"
    # a province/metropolitan city, then units and/or a road and a number
    rf"(?:(?:{_REGION})(?:특별자치시|특별자치도|특별시|광역시|도|시)?\s)(?:{_UNIT}\s?)*(?:{_ROAD}\s?)?{_NUMBER}{_DETAIL}"
    rf"|(?:(?:{_REGION})(?:특별자치시|특별자치도|특별시|광역시|도|시)?\s)(?:{_UNIT}\s?){{2,}}"
    # two or more units and a lot number: 광진구 화양동 12-3
    rf"|(?:{_UNIT}\s?){{1,}}[가-힣0-9]{{1,10}}동\s?{_NUMBER}{_DETAIL}"
    # a road and a building number: 테헤란로 123, 능동로 12길 3
    rf"|{_ROAD}(?:\s?\d{{1,4}}(?:번?길))?\s?{_NUMBER}{_DETAIL}"
    # a lot number: 화양동 12번지 / 화양동 12-3
    rf"|[가-힣]{{1,10}}동\s?\d{{1,5}}(?:-\d{{1,5}}|\s?번지){_DETAIL}"
    # a flat: 101동 202호
    rf"|\d{{1,4}}동\s?\d{{1,5}}호"
    r")"
)
_REGION_WORD = re.compile(_REGION)
_SURNAMES = (  # one-syllable surnames (남궁, 황보, 제갈, 선우, 독고 start with one of them)
    "김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허남심노하곽성차주우구"
    "민류나진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부"
)
_HONORIFIC = r"(?:\s?(?:고객님|선생님|학생|환자분?|어린이|님|씨)|\s?(?:군|양)(?![가-힣]))"
_NAME_AFTER_HONORIFIC = re.compile(rf"(?<![가-힣])([{_SURNAMES}][가-힣]{{1,2}}){_HONORIFIC}")
_NAME_AFTER_INTRO = re.compile(
    rf"(?:이름은|이름이|이름:|성함은|성함:|저는|나는|제가|보호자는?)\s?([{_SURNAMES}][가-힣]{{1,2}})"
    r"(?=\s|$|[.,!?]|(?:입니다|이에요|예요|이고|이야|야|라고|인데|이구요|이요))"
)
# Titles and words that look like surname + syllables + honorific but name no one.
_NOT_NAME_WORDS = (
    "사장 고객 선생 원장 과장 부장 차장 팀장 회장 기사 교수 박사 의사 간호사 주인 손님 여러분 학생 형 오빠 언니 누나 "
    "동생 친구 부모 어머 아버 할머 할아 삼촌 이모 고모 선배 후배 반장 실장 점장 매니저 직원 상담사 담임 교장 교감 "
    "이분 그분 저분 우리 모두 다들 조심 안녕 수고 감사 성실 정말 진짜 지금 오늘 내일 제일 최고 최애 한번 한식 중식 "
    "양식 일식 분식 치킨 피자 기분 배고 배달 주문 소개 추천 정도 정말로 나는 저는 제가 예약 양념 반반 순살 곱빼기 "
    "김밥 김치 떡볶 라면 짜장 짬뽕 국밥 백반 만두 우동 돈까 돈가 초밥 냉면 비빔 부대 순대 족발 보쌈 파스 햄버 "
    "도시락 편의점 문의 전화 주소 이름 성함 장소 가게 식당 시간 예산 잔액 쿠폰 카드 충전 사용 결제 마음 조금 조용 "
    "가격 가성비 기다 기억 고마 고민 안전 안심 남자 여자 혼자 둘이 셋이 넷이 "
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def _mask_name(match: re.Match) -> str:
    word = match.group(1)
    if word in _NOT_NAMES or word[:2] in _NOT_NAMES:
        return match.group(0)
    return match.group(0).replace(word, NAME, 1)


def mask_text(text: str) -> str:
    """`text` with personal data replaced by [CARD] [PHONE] [EMAIL] [ADDRESS] [NAME]."""
    if not text:
        return text
    # Skip the patterns that cannot match (most chat text has few digits): a third of the cost.
    digits = sum(char.isdigit() for char in text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if digits >= 15:
        text = _CARD.sub(CARD, text)
    if digits >= 9:
        text = _PHONE.sub(PHONE, text)
    if digits or _REGION_WORD.search(text):
        text = _ADDRESS.sub(ADDRESS, text)
    text = _NAME_AFTER_HONORIFIC.sub(_mask_name, text)
    return _NAME_AFTER_INTRO.sub(_mask_name, text)


def mask_data(value: Any) -> Any:
    """Every string inside dicts/lists masked (keys are kept); other values unchanged."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item) for item in value]
    return value


# --- evaluation on the labelled corpus (ml_training/data/masking_corpus.jsonl) -------------------

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "masking_corpus.jsonl"


@dataclass
class MaskingReport:
    """`pii_left`: strings with PII where a labelled span survived; `false_masks`: clean strings changed."""

    pii_strings: int = 0
    clean_strings: int = 0
    pii_left: list[tuple[str, str]] = field(default_factory=list)
    false_masks: list[tuple[str, str]] = field(default_factory=list)


def evaluate_corpus(path: Path = CORPUS_PATH) -> MaskingReport:
    """Mask every corpus string; each line is {"text", "pii": [spans that must not survive]}."""
    report = MaskingReport()
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        masked = mask_text(case["text"])
        if case["pii"]:
            report.pii_strings += 1
            if any(span in masked for span in case["pii"]):
                report.pii_left.append((case["text"], masked))
        else:
            report.clean_strings += 1
            if masked != case["text"]:
                report.false_masks.append((case["text"], masked))
    return report
