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

import re
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
)
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
    "사 장 고 객 선 생 원 장 과 장 부 장 차 장 팀 장 회 장 기 사 교 수 박 사 의 "
    "사 간 호 사 주 인 손 님 여 러 분 학 생 형 오 빠 언 니 누 나 동 생 친 구 부 "
    "모 어 머 아 버 할 머 할 아 삼 촌 이 모 고 모 선 배 후 배 반 장 실 장 점 장 "
    "매 니 저 직 원 상 담 사 담 임 교 장 교 감 이 분 그 분 저 분 우 리 모 두 다 "
    "들 조 심 안 녕 수 고 감 사 성 실 정 말 진 짜 지 금 오 늘 내 일 제 일 최 고 "
    "최 애 한 번 한 식 중 식 양 식 일 식 분 식 치 킨 피 자 기 분 배 고 배 달 주 "
    "문 소 개 추 천 정 도 정 말 로 나 는 저 는 제 가 예 약 양 념 반 반 순 살 곱 "
    "빼 기 김 밥 김 치 떡 볶 라 면 짜 장 짬 뽕 국 밥 백 반 만 두 우 동 돈 까 돈 "
    "가 초 밥 냉 면 비 빔 부 대 순 대 족 발 보 쌈 파 스 햄 버 도 시 락 편 의 점 "
    "문 의 전 화 주 소 이 름 성 함 장 소 가 게 식 당 시 간 예 산 잔 액 쿠 폰 카 "
    "드 충 전 사 용 결 제 마 음 조 금 조 용 가 격 가 성 비 기 다 기 억 고 마 고 "
    "민 안 전 안 심 남 자 여 자 혼 자 둘 이 셋 이 넷 이 "
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
    if any(char.isdigit() for char in text) or "@" in text:
        text = _EMAIL.sub(EMAIL, text)
        text = _CARD.sub(CARD, text)
        text = _PHONE.sub(PHONE, text)
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
