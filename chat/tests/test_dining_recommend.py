import datetime as dt

import pytest
from django.utils import timezone

from chat.models import UserCouponWallet
from chat.services.coupons import usable_coupon_terms
from chat.services.recommend import RecommendQuery, mmr, recommend
from chat.tests.dining_factories import (
    CLOSED_ALL_WEEK,
    KONDAE,
    LUNCH_WITH_BREAK,
    give_coupon,
    make_chat_user,
    make_coupon,
    make_menu,
    make_shop,
)

pytestmark = pytest.mark.django_db

MONDAY_NOON = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul


def query(**overrides) -> RecommendQuery:
    return RecommendQuery(**{"budget": 5000, "location": KONDAE, **overrides})


def shop_ids(result):
    return [shop.shop_id for shop in result.shops]


def test_closed_shops_are_never_recommended():
    open_shop = make_shop("열린집")
    make_menu(open_shop, "김밥", 3000)
    closed = make_shop("닫힌집", hours=CLOSED_ALL_WEEK, popularity="1.000", quality="1.000")
    make_menu(closed, "더싼김밥", 2000)

    result = recommend(query(), MONDAY_NOON)

    assert shop_ids(result) == [open_shop.pk]


def test_shops_on_their_break_are_not_recommended():
    on_break = make_shop("브레이크", hours=LUNCH_WITH_BREAK)
    make_menu(on_break, "국밥", 4000)
    three_thirty = dt.datetime(2026, 11, 23, 6, 30, tzinfo=dt.UTC)

    assert recommend(query(), three_thirty).shops == []
    assert shop_ids(recommend(query(), MONDAY_NOON)) == [on_break.pk]


def test_no_menu_over_budget_is_recommended():
    shop = make_shop()
    make_menu(shop, "김밥", 3500)
    make_menu(shop, "제육덮밥", 5000)
    make_menu(shop, "갈비탕", 9000)

    result = recommend(query(budget=5000), MONDAY_NOON)

    prices = [menu.final_price for shop in result.shops for menu in shop.menus]
    assert prices and max(prices) <= 5000
    assert "갈비탕" not in [menu.menu_name for menu in result.shops[0].menus]


def test_a_coupon_can_bring_a_menu_within_budget():
    user = make_chat_user()
    shop = make_shop()
    make_menu(shop, "돈까스", 6000)
    give_coupon(user, make_coupon("OFF1500", discount_amount=1500))

    result = recommend(query(budget=5000, coupons=tuple(usable_coupon_terms(user))), MONDAY_NOON)

    menu = result.shops[0].menus[0]
    assert (menu.menu_name, menu.price, menu.final_price, menu.coupon_id) == ("돈까스", 6000, 4500, "OFF1500")
    assert result.shops[0].applicable_coupons == ["OFF1500"]


def test_the_best_of_several_coupons_is_used():
    user = make_chat_user()
    shop = make_shop()
    make_menu(shop, "짬뽕", 8000)
    give_coupon(user, make_coupon("FIX1000", discount_amount=1000))
    give_coupon(user, make_coupon("RATE20", discount_rate="0.20", max_discount_amount=3000))

    result = recommend(query(budget=8000, coupons=tuple(usable_coupon_terms(user))), MONDAY_NOON)

    assert result.shops[0].menus[0].coupon_id == "RATE20"
    assert result.shops[0].menus[0].final_price == 6400


def test_radius_starts_at_one_kilometre():
    near = make_shop(north_m=300)
    make_menu(near, price=4000)
    far = make_shop(north_m=1500)
    make_menu(far, price=4000)

    result = recommend(query(), MONDAY_NOON)

    assert shop_ids(result) == [near.pk]
    assert (result.radius_m, result.widened) == (1000, False)


def test_radius_widens_step_by_step_when_nothing_is_near():
    far = make_shop(north_m=1500)
    make_menu(far, price=4000)

    result = recommend(query(), MONDAY_NOON)

    assert shop_ids(result) == [far.pk]
    assert (result.radius_m, result.widened) == (2000, True)
    assert [step["radius_m"] for step in result.filtering_steps["radius_steps"]] == [1000, 2000]


def test_each_wider_radius_counts_only_the_shops_inside_its_own_box():
    make_menu(make_shop("이킬로", north_m=2500), price=4000)
    make_menu(make_shop("사킬로", north_m=4000), price=4000)

    result = recommend(query(), MONDAY_NOON)

    assert [shop.shop_name for shop in result.shops] == ["이킬로"]
    steps = [(step["radius_m"], step["shops_in_box"]) for step in result.filtering_steps["radius_steps"]]
    assert steps == [(1000, 0), (2000, 0), (3000, 1)]


def test_widening_to_the_last_radius_costs_two_shop_queries(django_assert_num_queries):
    make_menu(make_shop(north_m=4500), price=4000)

    with django_assert_num_queries(2):  # the first radius, then the widest box for all the others
        result = recommend(query(), MONDAY_NOON)

    assert (len(result.shops), result.radius_m) == (1, 5000)


def test_nothing_found_even_at_the_widest_radius():
    make_menu(make_shop(north_m=8000), price=4000)

    result = recommend(query(), MONDAY_NOON)

    assert (result.shops, result.widened, result.radius_m) == ([], False, 5000)


def test_meal_card_holders_only_get_shops_accepting_the_card():
    shops = {flag: make_shop(f"카드{flag}", food_card=flag) for flag in "YNPU"}
    for shop in shops.values():
        make_menu(shop, price=4000)

    with_card = recommend(query(has_active_card=True), MONDAY_NOON)
    without_card = recommend(query(has_active_card=False), MONDAY_NOON)

    assert sorted(shop_ids(with_card)) == sorted([shops["Y"].pk, shops["P"].pk])
    assert len(without_card.shops) == 4


def test_category_narrows_candidates():
    chicken = make_shop(category="치킨")
    make_menu(chicken, "후라이드", 15000)
    make_menu(make_shop(category="한식"), "비빔밥", 8000)

    result = recommend(query(budget=20000, category="치킨"), MONDAY_NOON)

    assert shop_ids(result) == [chicken.pk]


def test_reason_codes_name_what_made_a_shop_good():
    star = make_shop("스타", north_m=200, popularity="0.900", quality="0.800", food_card="Y", category="분식")
    make_menu(star, price=4000)
    plain = make_shop("보통", north_m=800, popularity="0.200", quality="0.300", food_card="N", category="한식")
    make_menu(plain, price=4000)

    result = recommend(query(preferred_categories=("분식",)), MONDAY_NOON)
    reasons = {shop.shop_name: shop.reason_codes for shop in result.shops}

    assert reasons["스타"] == ["BUDGET_FIT", "NEARBY", "POPULAR", "FOODCARD_OK", "HIGH_QUALITY", "USER_PREFERENCE"]
    assert reasons["보통"] == ["BUDGET_FIT"]
    assert result.shops[0].shop_name == "스타"


def test_no_budget_fit_reason_without_a_budget():
    make_menu(make_shop(), price=4000)

    result = recommend(query(budget=None), MONDAY_NOON)

    assert "BUDGET_FIT" not in result.shops[0].reason_codes


def test_scores_stay_between_zero_and_one():
    shop = make_shop(popularity="1.000", quality="1.000", good=True, north_m=0)
    make_menu(shop, price=4000)

    result = recommend(query(preferred_categories=("한식",), good_influence_preference=1.0), MONDAY_NOON)

    assert 0 < result.shops[0].score <= 1


def test_at_most_five_recommendations_with_walking_minutes():
    for index in range(8):
        make_menu(make_shop(north_m=100 + index * 50), price=4000)

    result = recommend(query(), MONDAY_NOON)

    assert len(result.shops) == 5
    assert [shop.ranking for shop in result.shops] == [1, 2, 3, 4, 5]
    first = result.shops[0]
    assert first.walking_minutes == max(1, -(-first.distance_m // 67))


def test_mmr_prefers_a_different_category_over_a_near_duplicate():
    for index in range(3):
        make_menu(make_shop(f"한식{index}", category="한식", popularity="0.900", north_m=100 + index), price=4000)
    make_menu(make_shop("중식집", category="중식", popularity="0.700", north_m=100), price=4000)
    candidates = recommend(query(limit=10), MONDAY_NOON).shops

    top_two = mmr(candidates, 2)

    assert [shop.category for shop in top_two] == ["한식", "중식"]


def test_group_prefers_shops_with_enough_affordable_choices():
    one_choice = make_shop("한메뉴", category="한식", north_m=100)
    make_menu(one_choice, price=5000)
    many = make_shop("여러메뉴", category="한식", north_m=100)
    for price in (4000, 4500, 5000):
        make_menu(many, price=price)

    result = recommend(query(companion_count=3), MONDAY_NOON)

    assert result.shops[0].shop_name == "여러메뉴"
    assert result.shops[0].features["group_fit"] > result.shops[1].features["group_fit"]


def test_requested_option_price_counts_towards_the_budget():
    shop = make_shop()
    make_menu(shop, "짜장면", 5000, options={"size": [{"name": "곱빼기", "price": 1000}]})
    make_menu(shop, "볶음밥", 4500, options={"size": [{"name": "곱빼기", "price": 500}]})

    result = recommend(query(budget=5000, menu_options=("곱빼기",)), MONDAY_NOON)

    menus = {menu.menu_name: menu.final_price for menu in result.shops[0].menus}
    assert menus == {"볶음밥": 5000}


def test_only_the_users_active_unexpired_wallet_coupons_are_usable_soonest_to_expire_first():
    user, other = make_chat_user(), make_chat_user()
    later = give_coupon(user, make_coupon("LATER"), expires_in=dt.timedelta(days=5))
    sooner = give_coupon(user, make_coupon("SOONER"), expires_in=dt.timedelta(days=1))
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    give_coupon(user, make_coupon("EXPIRED"), expires_in=dt.timedelta(minutes=-1), issued_at=an_hour_ago)
    give_coupon(user, make_coupon("USED"), status=UserCouponWallet.Status.USED, used_at=timezone.now())
    give_coupon(other, make_coupon("NOT_MINE"))

    terms = usable_coupon_terms(user)

    assert [(t.coupon_id, t.wallet_id) for t in terms] == [("SOONER", sooner.pk), ("LATER", later.pk)]
