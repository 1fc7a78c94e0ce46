import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from chat.models import Shop, ShopStatus
from chat.services.business_hours import SEOUL, refresh_shop_status, status_at
from chat.services.schemas import business_hours_errors, validate_business_hours
from chat.tests.dining_factories import ALWAYS_OPEN, CLOSED_ALL_WEEK, LUNCH_WITH_BREAK, make_shop

WEEKDAY_HOURS = {"monday": {"open": "09:00", "close": "22:00", "break_start": "15:00", "break_end": "17:00"}}


def seoul(year, month, day, hour, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=SEOUL)


# 2026-11-23 is a Monday.
MONDAY = (2026, 11, 23)


def test_open_inside_opening_hours():
    assert status_at(WEEKDAY_HOURS, seoul(*MONDAY, 12)) == ShopStatus.OPEN


def test_closed_before_opening_and_at_closing_time():
    assert status_at(WEEKDAY_HOURS, seoul(*MONDAY, 8, 59)) == ShopStatus.CLOSED
    assert status_at(WEEKDAY_HOURS, seoul(*MONDAY, 22, 0)) == ShopStatus.CLOSED


def test_break_time_is_not_open():
    assert status_at(WEEKDAY_HOURS, seoul(*MONDAY, 15, 30)) == ShopStatus.BREAK_TIME
    assert status_at(WEEKDAY_HOURS, seoul(*MONDAY, 17, 0)) == ShopStatus.OPEN


def test_a_day_missing_from_listed_hours_is_closed():
    tuesday_noon = seoul(2026, 11, 24, 12)
    assert status_at(WEEKDAY_HOURS, tuesday_noon) == ShopStatus.CLOSED


def test_closed_day_flag():
    assert status_at(CLOSED_ALL_WEEK, seoul(*MONDAY, 12)) == ShopStatus.CLOSED


def test_late_night_hours_spill_into_the_next_morning():
    hours = {"monday": {"open": "18:00", "close": "02:00"}, "tuesday": {"closed": True}}
    assert status_at(hours, seoul(*MONDAY, 23)) == ShopStatus.OPEN
    assert status_at(hours, seoul(2026, 11, 24, 1, 30)) == ShopStatus.OPEN
    assert status_at(hours, seoul(2026, 11, 24, 2, 0)) == ShopStatus.CLOSED


def test_public_holiday_uses_the_holiday_entry():
    hours = {**ALWAYS_OPEN, "holiday": {"closed": True}}
    hangul_day = seoul(2026, 10, 9, 12)  # 한글날, a Friday
    assert status_at(hours, hangul_day) == ShopStatus.CLOSED
    assert status_at(hours, seoul(2026, 10, 8, 12)) == ShopStatus.OPEN


def test_shop_specific_closed_dates():
    hours = {**ALWAYS_OPEN, "closed_dates": ["2026-11-23"]}
    assert status_at(hours, seoul(*MONDAY, 12)) == ShopStatus.CLOSED


def test_time_is_evaluated_in_seoul_not_utc():
    utc_0330 = dt.datetime(2026, 11, 23, 3, 30, tzinfo=dt.UTC)  # 12:30 in Seoul
    assert status_at({"monday": {"open": "12:00", "close": "13:00"}}, utc_0330) == ShopStatus.OPEN


def test_unknown_without_business_hours():
    assert status_at(None, seoul(*MONDAY, 12)) == ShopStatus.UNKNOWN


@pytest.mark.parametrize(
    ("hours", "fragment"),
    [
        ({"monday": {"open": "9:00", "close": "22:00"}}, "HH:MM"),
        ({"monday": {"open": "09:00", "close": "25:00"}}, "monday.close: '25:00' 값은 올바른 시각이 아닙니다"),
        ({"monday": {"open": "09:00"}}, "open과 close가 모두 필요합니다"),
        ({"funday": {"closed": True}}, "알 수 없는 요일 'funday'"),
        ({"monday": {"open": "09:00", "close": "22:00", "break_start": "08:00", "break_end": "10:00"}}, "영업시간 안"),
        ({"monday": {"open": "09:00", "close": "22:00", "break_start": "15:00"}}, "함께 있어야"),
        ({"monday": {"closed": "yes"}}, "true 또는 false"),
        ([], "객체"),
    ],
)
def test_invalid_business_hours_are_explained(hours, fragment):
    errors = business_hours_errors(hours)
    assert any(fragment in error for error in errors), errors


def test_seed_example_is_valid():
    example = {
        "monday": {"open": "09:00", "close": "22:00", "break_start": "15:00", "break_end": "17:00"},
        "tuesday": {"open": "09:00", "close": "22:00"},
        "saturday": {"open": "11:00", "close": "23:00"},
        "holiday": {"closed": True},
    }
    validate_business_hours(example)  # does not raise


@pytest.mark.django_db
def test_model_clean_rejects_bad_business_hours():
    shop = make_shop()
    shop.business_hours = {"monday": {"open": "nine", "close": "22:00"}}
    with pytest.raises(ValidationError) as excinfo:
        shop.full_clean()
    assert "business_hours" in excinfo.value.message_dict


@pytest.mark.django_db
def test_refresh_shop_status_writes_only_changed_shops():
    always = make_shop(hours=ALWAYS_OPEN)
    lunch = make_shop(hours=LUNCH_WITH_BREAK)
    unknown = make_shop(hours={})
    Shop.objects.filter(pk=unknown.pk).update(business_hours=None)

    changed = refresh_shop_status(now=seoul(*MONDAY, 16))

    assert changed == 2  # always -> OPEN, lunch -> BREAK_TIME; unknown stays UNKNOWN
    statuses = dict(Shop.objects.values_list("id", "current_status"))
    assert statuses == {always.pk: "OPEN", lunch.pk: "BREAK_TIME", unknown.pk: "UNKNOWN"}
    assert refresh_shop_status(now=seoul(*MONDAY, 16, 1)) == 0
