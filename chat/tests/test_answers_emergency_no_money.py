"""An emergency without money (issue 15): "배고픈데 돈이 하나도 없어" leads with what costs nothing -
meals the emergency coupon makes free, then what the meal-card balance covers - and only when nothing
is free, the cheapest meals; never the profile's usual 6,500-won budget."""

import pytest

from chat.services.coupons import EMERGENCY_COUPON_ID
from chat.tests.dining_factories import chat_turn, make_card, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

NO_MONEY = "배고픈데 돈이 하나도 없어"


@pytest.fixture
def menus():
    make_menu(make_shop("돈까스집", category="일식", popularity="1.000", quality="1.000"), "돈까스", 6500)
    make_menu(make_shop("김밥나라", category="분식"), "야채김밥", 2500)
    make_menu(make_shop("국수집", category="한식"), "잔치국수", 4500)


def returning_user(**profile):
    return make_chat_user(data_completeness="0.80", average_budget=6500, **profile)


def test_an_empty_card_leads_with_meals_the_emergency_coupon_makes_free(menus):
    user = returning_user()
    make_card(user, balance=0, threshold=5000)

    body = chat_turn(user, NO_MONEY)

    assert EMERGENCY_COUPON_ID in [c["coupon_id"] for c in body["coupons_issued"]]
    assert "쿠폰으로 0원에 먹을 수 있는 곳부터" in body["response"]
    assert [rec["shop_name"] for rec in body["recommendations"]] == ["김밥나라"]
    assert body["recommendations"][0]["menus"][0]["final_price"] == 0
    assert "6,500원" not in body["response"]


def test_a_small_card_balance_and_the_coupon_come_next_cheapest_first(menus):
    user = returning_user()
    make_card(user, balance=1500, threshold=5000)

    body = chat_turn(user, NO_MONEY)

    assert body["search"]["budget"] == 1500
    assert [rec["shop_name"] for rec in body["recommendations"]] == ["김밥나라", "국수집"]  # 0 won, then 1,500
    assert "급식카드 잔액(1,500원)과 쿠폰으로" in body["response"]


def test_with_nothing_free_the_cheapest_meals_are_offered_and_said_so(menus):
    user = returning_user()  # no card, no coupon

    body = chat_turn(user, NO_MONEY)

    assert "가장 저렴한 곳부터" in body["response"]
    assert [rec["shop_name"] for rec in body["recommendations"]] == ["김밥나라", "국수집", "돈까스집"]
