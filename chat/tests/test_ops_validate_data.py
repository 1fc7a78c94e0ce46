"""`manage.py validate_data`: the seed 003 §7.2 checks plus JSON/counter rules find seeded problems."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chat.models import Coupon, Shop
from chat.services.data_validation import run_checks
from chat.tests.dining_factories import give_coupon, make_chat_user, make_coupon, make_menu, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_data():
    shop = make_shop("정상가게")
    make_menu(shop, "김밥", 3000)
    coupon = make_coupon("CLEAN1000")
    Coupon.objects.filter(pk=coupon.pk).update(total_issued=1)
    give_coupon(make_chat_user(), coupon)
    return shop


def _failed():
    return {result.name: result for result in run_checks() if not result.ok}


def test_consistent_data_passes_every_check(clean_data):
    out = io.StringIO()

    call_command("validate_data", stdout=out)

    assert _failed() == {}
    assert "checks passed" in out.getvalue()


def test_menu_priced_over_a_million_won_is_found(clean_data):
    menu = make_menu(clean_data, "황금김밥", 2_000_000)

    failed = _failed()

    assert set(failed) == {"menu_price_out_of_range"}
    assert failed["menu_price_out_of_range"].samples == [menu.pk]


def test_business_hours_written_around_the_validator_are_found(clean_data):
    Shop.objects.filter(pk=clean_data.pk).update(business_hours={"monday": {"open": "9시", "close": "21:00"}})

    failed = _failed()

    assert set(failed) == {"invalid_business_hours"}
    assert failed["invalid_business_hours"].samples[0].startswith(f"{clean_data.pk}: monday.open")


def test_coupon_counters_that_drift_from_the_wallet_are_found(clean_data):
    Coupon.objects.filter(pk="CLEAN1000").update(total_used=5, total_issued=0)

    assert set(_failed()) == {"coupon_used_counter_drift", "coupon_issued_counter_low"}


def test_shops_without_available_menus_are_found(clean_data):
    empty = make_shop("메뉴없는가게")

    assert _failed()["available_shops_without_menus"].samples == [empty.pk]


def test_command_exits_non_zero_on_problems_unless_warn_only(clean_data):
    make_menu(clean_data, "황금김밥", 2_000_000)
    out = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("validate_data", stdout=out)
    call_command("validate_data", "--warn-only", stdout=out)

    assert failure.value.returncode == 1
    assert "FAIL menu_price_out_of_range" in out.getvalue()
