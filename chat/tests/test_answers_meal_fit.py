"""Picks fit the meal (issue 15): a lunch request does not lead with a dessert café or a convenience
store unless asked, and drinks, sides and desserts are not offered as a meal."""

import pytest

from chat.tests.dining_factories import chat_turn, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    cafe = make_shop("크로플카페", category="카페/디저트", north_m=20, popularity="1.000", quality="1.000")
    make_menu(cafe, "크로플", 4000)
    store = make_shop("CU 화양점", category="편의점", north_m=30, popularity="1.000", quality="1.000")
    make_menu(store, "삼각김밥", 1500)
    diner = make_shop("백반집", category="한식", north_m=800, popularity="0.300", quality="0.300")
    make_menu(diner, "된장찌개", 5000)
    return make_chat_user(data_completeness="0.80")


def names(body):
    return [rec["shop_name"] for rec in body["recommendations"]]


def test_a_lunch_request_leads_with_a_meal(user):
    body = chat_turn(user, "5천원으로 점심 뭐 먹지?")

    assert names(body)[0] == "백반집"
    assert set(names(body)[1:]) == {"크로플카페", "CU 화양점"}


def test_a_dessert_request_gets_the_cafe(user):
    body = chat_turn(user, "디저트 먹고 싶어")

    assert names(body)[0] == "크로플카페"


def test_drinks_sides_and_desserts_are_not_offered_as_a_meal():
    shop = make_shop("분식천국", category="분식")
    menus = (("콜라", "음료"), ("감자튀김", "사이드메뉴"), ("아이스크림", "디저트"), ("라면", "메인메뉴"))
    for name, category in menus:
        make_menu(shop, name, 2000, category=category)

    body = chat_turn(make_chat_user(data_completeness="0.80"), "5천원으로 점심 뭐 먹지?")

    assert [menu["menu_name"] for menu in body["recommendations"][0]["menus"]] == ["라면"]


def test_a_side_asked_for_is_offered():
    shop = make_shop("버거집", category="패스트푸드")
    make_menu(shop, "치즈버거", 4000)
    make_menu(shop, "감자튀김", 2000, category="사이드메뉴")

    body = chat_turn(make_chat_user(data_completeness="0.80"), "감자튀김 먹고 싶어")

    assert body["recommendations"][0]["menus"][0]["menu_name"] == "감자튀김"
