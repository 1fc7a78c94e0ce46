"""Demo data (`chat.demo.load`): enough realistic dining data to try the assistant, loaded idempotently."""

import io

import pytest

from chat import demo
from chat.models import ChatUser, Coupon, FoodcardUser, Menu, Shop, ShopCategory, UserCouponWallet, UserProfile
from chat.services.data_validation import run_checks
from chat.services.geo import PLACES, haversine_m

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded():
    demo.load(io.StringIO())


def _counts():
    models = [Shop, Menu, ChatUser, UserProfile, FoodcardUser, Coupon, UserCouponWallet]
    return {model.__name__: model.objects.count() for model in models}


def test_loading_twice_adds_nothing_the_second_time(loaded):
    first = _counts()

    demo.load(io.StringIO())

    assert _counts() == first


def test_demo_has_300_shops_over_all_13_categories_with_menus(loaded):
    assert Shop.objects.count() >= 300
    assert set(Shop.objects.values_list("category", flat=True)) == set(ShopCategory.values)
    assert not Shop.objects.filter(menus__isnull=True).exists()
    assert Menu.objects.filter(price__gte=800, price__lte=25000).count() == Menu.objects.count()


def test_demo_shops_surround_kondae_and_gangnam(loaded):
    centres = [PLACES["건대입구"], PLACES["강남역"]]
    for latitude, longitude in Shop.objects.values_list("latitude", "longitude"):
        distances = [haversine_m(float(latitude), float(longitude), c.latitude, c.longitude) for c in centres]
        assert min(distances) <= 1300


def test_demo_covers_card_flags_hours_variants_and_coupon_types(loaded):
    hours = [h for h in Shop.objects.values_list("business_hours", flat=True) if h]
    assert set(Shop.objects.values_list("is_food_card_shop", flat=True)) == {"Y", "N", "P", "U"}
    assert any("break_start" in day for h in hours for day in h.values() if isinstance(day, dict))
    assert any(day.get("closed") for h in hours for day in h.values() if isinstance(day, dict))
    assert Shop.objects.filter(business_hours__isnull=True).exists()  # unknown hours exist too
    assert set(Coupon.objects.values_list("coupon_type", flat=True)) == set(Coupon.CouponType.values)
    assert set(Coupon.objects.values_list("usage_type", flat=True)) == set(Coupon.UsageType.values)


def test_demo_users_have_profiles_cards_and_some_wallet_coupons(loaded):
    users = ChatUser.objects.filter(external_user_id__startswith="demo:")
    assert users.count() >= 20
    assert UserProfile.objects.filter(user__in=users).count() == users.count()
    assert FoodcardUser.objects.filter(user__in=users, balance__lt=5000).exists()  # low-balance scenario
    assert UserCouponWallet.objects.filter(user__in=users).count() >= 5


def test_demo_data_passes_the_data_checks(loaded):
    assert [result.name for result in run_checks() if not result.ok] == []


def test_demo_is_the_same_data_every_time():
    from random import Random

    first = [(shop.shop_name, shop.latitude, len(menus)) for shop, menus in demo.build_shops(Random(demo.SEED))]
    second = [(shop.shop_name, shop.latitude, len(menus)) for shop, menus in demo.build_shops(Random(demo.SEED))]

    assert first == second
