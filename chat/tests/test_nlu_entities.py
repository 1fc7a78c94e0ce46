"""Entity extraction: food type/category, location, companions, meal time, menu options, urgency, normalisation."""

import pytest

from chat.services.nlu import normalize, tokenize
from chat.services.nlu.entities import (
    ENTITY_KEYS,
    extract_companions,
    extract_entities,
    extract_food,
    extract_location,
    extract_meal_time,
    extract_menu_options,
    extract_urgency,
)
from chat.services.nlu.lexicon import CATEGORIES, FOOD_WORDS


def entities(text):
    return extract_entities(normalize(text))


# --- normalisation and tokens ----------------------------------------------------------------------------


def test_normalize_folds_full_width_and_tames_spacing_and_punctuation():
    assert normalize("  ４천원으로   뭐 먹지？？  ") == "4천원으로 뭐 먹지?"


def test_normalize_keeps_laughter_jamo_intact():
    assert normalize("ㅋㅋㅋ 배고파!!!") == "ㅋㅋㅋ 배고파!"


def test_tokenize_returns_kiwi_morphemes_without_punctuation():
    assert tokenize("5천원으로 점심 뭐 먹지?") == ["5", "천", "원", "으로", "점심", "뭐", "먹", "지"]


# --- food type and category --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "food_type", "category"),
    [
        ("치킨 먹고 싶어", "치킨", "치킨"),
        ("떡볶이 먹을래", "떡볶이", "분식"),
        ("짜장면 곱빼기", "짜장면", "중식"),
        ("돈가스 맛집", "돈까스", "일식"),
        ("파스타 먹을까", "파스타", "양식"),
        ("피자 한 판", "피자", "피자"),
        ("맘스터치 가자", "햄버거", "패스트푸드"),
        ("김치찌개 먹고 싶다", "김치찌개", "한식"),
        ("빙수 먹으러 가자", "빙수", "카페/디저트"),
        ("전복죽 먹고 싶어", "죽", "도시락/죽"),
        ("쌀국수 어때", "쌀국수", "기타음식"),
        ("삼각김밥 사먹을래", "삼각김밥", "편의점"),
        ("중국집 가고 싶어", None, "중식"),
        ("프랜차이즈 식당", None, "프랜차이즈"),
    ],
)
def test_food_words_map_to_food_type_and_shop_category(text, food_type, category):
    assert extract_food(normalize(text)) == (food_type, category)


def test_every_food_word_maps_to_one_of_the_13_shop_categories():
    assert len(CATEGORIES) == 13
    assert {category for _, category in FOOD_WORDS.values()} == set(CATEGORIES)


def test_turned_down_food_is_skipped():
    assert extract_food("치킨 말고 피자 먹을래") == ("피자", "피자")


def test_grammar_that_looks_like_food_is_not_food():
    assert extract_food("배고파 죽겠어") == (None, None)
    assert extract_food("먹을 거라면 아무거나") == (None, None)


# --- location --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("건대입구 근처 떡볶이", "건대입구"),
        ("강남역에서 먹을 곳", "강남역"),
        ("화양동 김밥집", "화양동"),
        ("서울역 근처 식당", "서울역"),
        ("학교 앞에 분식집 있어?", "학교 근처"),
        ("근처에 먹을 데 있어?", "근처"),
        ("여기서 가까운 곳", "근처"),
        ("운동 끝나고 먹을 거", None),
        ("동생이랑 먹을래", None),
    ],
)
def test_location(text, location):
    assert extract_location(normalize(text)) == location


# --- companions and their count ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "companions", "count"),
    [
        ("친구랑 떡볶이 먹을래", ["친구"], 2),
        ("동생이랑 둘이 먹을 거야", ["동생"], 2),
        ("친구 3명이랑 피자", ["친구"], 4),
        ("친구 두 명이랑 같이", ["친구"], 3),
        ("우리 셋이서 저녁", [], 3),
        ("4명이서 마라탕", [], 4),
        ("엄마랑 누나랑 점심", ["엄마", "누나"], 3),
        ("부모님이랑 갈비 먹어", ["부모님"], 3),
        ("친구들이랑 생일파티", ["친구"], None),
        ("혼자 먹을 거야", [], 1),
        ("동생 둘이랑 셋이서 먹을 거야", ["동생"], 3),
        ("4인 가족 외식", ["가족"], 4),
        ("동생이 배고프대", [], None),
        ("열이 나서 죽 먹고 싶어", [], None),
    ],
)
def test_companions_and_head_count_including_the_user(text, companions, count):
    assert extract_companions(normalize(text)) == (companions, count)


# --- meal time -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "meal_time"),
    [
        ("아침 먹을 거", "아침"),
        ("점심 뭐 먹지", "점심"),
        ("저녁으로 치킨", "저녁"),
        ("야식 추천", "야식"),
        ("밤에 배고파", "야식"),
        ("새벽에 문 여는 데", "야식"),
        ("밤 10시에 먹을 거", "야식"),
        ("12시에 먹을래", "점심"),
        ("오후 6시쯤", "저녁"),
        ("7시에 만나", None),  # morning or evening: unknowable
        ("치킨 먹고 싶어", None),
    ],
)
def test_meal_time(text, meal_time):
    assert extract_meal_time(normalize(text)) == meal_time


# --- menu options --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("짜장면 곱빼기로", ["곱빼기"]),
        ("치킨 순살로 주세요", ["순살"]),
        ("떡볶이 덜 맵게 해주세요", ["덜 맵게"]),
        ("아주 맵게 해줘", ["맵게"]),
        ("안 맵게 돼?", ["안 맵게"]),
        ("양 많이 주세요", ["양 많이"]),
        ("치즈 추가해줘", ["치즈 추가"]),
        ("라면에 계란 추가", ["계란 추가"]),
        ("오이 빼 주세요", ["오이 빼고"]),
        ("순살 반반에 치즈 추가", ["순살", "반반", "치즈 추가"]),
        ("치킨 먹고 싶어", []),
    ],
)
def test_menu_options(text, options):
    assert extract_menu_options(normalize(text)) == options


def test_turning_down_a_food_is_not_a_menu_option():
    assert extract_menu_options(normalize("치킨 빼고 다 좋아")) == []


# --- urgency ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("급해 빨리 알려줘", "high"),
        ("배고파 죽겠어", "high"),
        ("돈이 없어", "high"),
        ("하루 종일 못 먹었어", "high"),
        ("잔액이 부족해", "high"),
        ("점심 뭐 먹지", "normal"),
        ("배고파", "normal"),
    ],
)
def test_urgency(text, urgency):
    assert extract_urgency(normalize(text)) == urgency


def test_extract_entities_always_returns_every_key():
    result = entities("동생이랑 둘이 건대입구 근처에서 만원으로 치킨 순살로 먹고 싶어")

    assert set(result) == set(ENTITY_KEYS)
    assert result == {
        "budget": 10000,
        "budget_scope": None,
        "food_type": "치킨",
        "category": "치킨",
        "location": "건대입구",
        "companions": ["동생"],
        "companion_count": 2,
        "meal_time": None,
        "visit_time": None,
        "menu_options": ["순살"],
        "urgency": "normal",
        "no_money": False,
    }
