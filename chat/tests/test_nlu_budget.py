"""Budget amounts in Korean messages -> int won (`extract_budget`)."""

import pytest

from chat.services.nlu import extract_budget
from chat.services.nlu.budget import parse_korean_number


@pytest.mark.parametrize(
    ("text", "won"),
    [
        ("5천원", 5000),
        ("만 오천원", 15000),
        ("만오천원으로 뭐 먹지", 15000),
        ("1만2천원", 12000),
        ("1만 2천원 있어", 12000),
        ("12,000원", 12000),
        ("５,５００원", 5500),
        ("４천원", 4000),
        ("천원", 1000),
        ("만원", 10000),
        ("2만원", 20000),
        ("이만 원으로", 20000),
        ("오천 원", 5000),
        ("3000원", 3000),
        ("5,500원", 5500),
        ("삼천오백원", 3500),
        ("5천5백원", 5500),
        ("5천 500원", 5500),
        ("1.5만원", 15000),
        ("₩7,000", 7000),
        ("500원", 500),
    ],
)
def test_budget_forms_are_read_as_won(text, won):
    assert extract_budget(text) == won


@pytest.mark.parametrize(
    ("text", "won"),
    [
        ("그럼 8천원이면?", 8000),
        ("8천 이하로 알려줘", 8000),
        ("만오천으로 먹을 수 있어?", 15000),
        ("5000으로 뭐 먹지", 5000),
        ("이천원밖에 없어", 2000),
        ("칠천원짜리 메뉴", 7000),
    ],
)
def test_amount_without_won_counts_when_offered_as_budget(text, won):
    assert extract_budget(text) == won


@pytest.mark.parametrize(
    "text",
    [
        "오늘 점심 뭐 먹지",
        "치킨만 먹고 싶어",
        "천천히 먹을래",
        "3명이서 먹을래",
        "12시에 열어?",
        "10분 걸려?",
        "사원 식당 가자",
        "2024년에 생긴 가게",
        "100만원",  # above the seed's 100000 budget maximum
    ],
)
def test_text_without_a_budget_gives_none(text):
    assert extract_budget(text) is None


def test_range_takes_the_upper_bound():
    assert extract_budget("5천원에서 7천원 사이") == 7000
    assert extract_budget("5천~7천원") == 7000


def test_coupon_face_value_is_not_the_budget():
    assert extract_budget("3천원 할인 쿠폰 있어?") is None
    assert extract_budget("쿠폰 3천원짜리 있는데 만원으로 뭐 먹지") == 10000


def test_amount_offered_as_budget_wins_over_an_earlier_mention():
    assert extract_budget("어제 3천원 썼는데 오늘은 6천원으로 먹을래") == 6000


@pytest.mark.parametrize(
    ("expression", "value"),
    [("1만2천", 12000), ("만 오천", 15000), ("십만", 100000), ("이천오백", 2500), ("12,000", 12000), ("천", 1000)],
)
def test_parse_korean_number(expression, value):
    assert parse_korean_number(expression) == value
