"""Group totals (issue 15): a wallet coupon is one copy used once per order, so a group order gets it
once, and the total shown is what the whole group really pays."""

import pytest

from chat.tests.dining_factories import chat_turn, give_coupon, make_chat_user, make_coupon, make_menu, make_shop

pytestmark = pytest.mark.django_db


def user_with_coupon(**coupon_fields):
    user = make_chat_user(data_completeness="0.80")
    give_coupon(user, make_coupon(**coupon_fields))
    return user


def test_a_single_coupon_is_taken_off_the_group_order_once():
    make_menu(make_shop("크로플하우스", category="카페/디저트"), "크로플", 3000)
    user = user_with_coupon(coupon_name="3천원 할인", discount_amount=3000)

    body = chat_turn(user, "친구랑 둘이 크로플 먹을 곳")

    menu = body["recommendations"][0]["menus"][0]
    assert (menu["group_total"], menu["discount"], menu["final_price"]) == (3000, 3000, 1500)
    assert "크로플 × 2명 3,000원, 쿠폰 1장 3,000원 할인 적용" in body["response"]
    assert "0원)" not in body["response"]


def test_a_capped_percentage_coupon_is_capped_on_the_whole_group_order():
    make_menu(make_shop("한솥"), "제육덮밥", 6000)
    user = user_with_coupon(discount_rate="0.10", max_discount_amount=2000)

    body = chat_turn(user, "친구 3명이랑 저녁 먹을 곳")

    menu = body["recommendations"][0]["menus"][0]
    assert (menu["group_total"], menu["discount"]) == (22000, 2000)  # 4 x 6,000 - 2,000, not 4 x (6,000 - 600)
    assert "제육덮밥 × 4명 22,000원" in body["response"]


def test_the_group_budget_is_checked_against_what_the_group_pays():
    make_menu(make_shop("한솥"), "제육덮밥", 6000)
    user = user_with_coupon(discount_amount=3000)

    body = chat_turn(user, "친구랑 둘이 1인당 5천원으로 먹을 곳")

    # 2 x 6,000 - 3,000 = 9,000 for two fits 5,000 each; one coupon could not bring both to 3,000.
    assert body["recommendations"][0]["menus"][0]["final_price"] == 4500


def test_a_minimum_order_coupon_can_apply_to_the_group_order():
    make_menu(make_shop("한솥"), "비빔밥", 5000)
    user = user_with_coupon(discount_amount=2000, min_order_amount=10000)

    body = chat_turn(user, "친구랑 둘이 점심 먹을 곳")

    menu = body["recommendations"][0]["menus"][0]
    assert (menu["group_total"], menu["coupon_id"] is not None) == (8000, True)
