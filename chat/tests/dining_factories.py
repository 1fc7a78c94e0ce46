"""Small builders for dining tests (shops around 건대입구, menus, chat users, cards, coupons).

Plain functions with keyword overrides; every builder writes real rows.
"""

import datetime as dt
import itertools
import math
from decimal import Decimal

from django.utils import timezone

from chat.models import (
    AcquisitionSource,
    ChatUser,
    Coupon,
    CouponType,
    FoodcardUser,
    Menu,
    Shop,
    UsageType,
    UserCouponWallet,
    UserProfile,
)
from chat.services.geo import Point
from chat.services.schemas import WEEKDAYS

KONDAE = Point(37.54040, 127.06920)  # 건대입구역
ALWAYS_OPEN = {day: {"open": "00:00", "close": "24:00"} for day in WEEKDAYS}
CLOSED_ALL_WEEK = {day: {"closed": True} for day in WEEKDAYS}
LUNCH_WITH_BREAK = {
    day: {"open": "11:00", "close": "21:00", "break_start": "15:00", "break_end": "17:00"} for day in WEEKDAYS
}

_seq = itertools.count(1)


def offset(point: Point, north_m: float = 0, east_m: float = 0) -> tuple[Decimal, Decimal]:
    """Coordinates `north_m` metres north and `east_m` metres east of `point` (8 decimals)."""
    lat = point.latitude + north_m / 111_320
    lng = point.longitude + east_m / (111_320 * math.cos(math.radians(point.latitude)))
    return Decimal(f"{lat:.8f}"), Decimal(f"{lng:.8f}")


def make_shop(
    name: str | None = None,
    *,
    category: str = "한식",
    north_m: float = 100,
    east_m: float = 0,
    near: Point = KONDAE,
    hours: dict | None = None,
    food_card: str = "Y",
    popularity: str = "0.500",
    quality: str = "0.500",
    good: bool = False,
    **extra,
) -> Shop:
    lat, lng = offset(near, north_m, east_m)
    number = next(_seq)
    return Shop.objects.create(
        shop_name=name or f"가게{number}",
        category=category,
        address_name=extra.pop("address_name", f"서울 광진구 화양동 {number}"),
        business_hours=ALWAYS_OPEN if hours is None else hours,
        latitude=lat,
        longitude=lng,
        is_food_card_shop=food_card,
        popularity_score=Decimal(popularity),
        quality_score=Decimal(quality),
        is_good_influence_shop=good,
        **extra,
    )


def make_menu(shop: Shop, name: str | None = None, price: int = 5000, **extra) -> Menu:
    return Menu.objects.create(
        shop=shop,
        menu_name=name or f"메뉴{next(_seq)}",
        price=price,
        category=extra.pop("category", "메인메뉴"),
        **extra,
    )


def make_chat_user(auth_user=None, *, profile: bool = True, **profile_fields) -> ChatUser:
    number = next(_seq)
    user = ChatUser.objects.create(
        external_user_id=f"test:{number}" if auth_user is None else f"django:{auth_user.pk}",
        platform=ChatUser.Platform.TEST,
        auth_user=auth_user,
        nickname=f"user{number}",
    )
    if profile:
        UserProfile.objects.create(user=user, **profile_fields)
    return user


def make_card(user: ChatUser, *, balance: int = 20000, status: str = "ACTIVE", threshold: int = 5000) -> FoodcardUser:
    return FoodcardUser.objects.create(
        user=user,
        card_type=FoodcardUser.CardType.CHILD,
        target_age_group=FoodcardUser.AgeGroup.ELEMENTARY,
        balance=balance,
        status=status,
        balance_alert_threshold=threshold,
    )


def make_coupon(coupon_id: str | None = None, **fields) -> Coupon:
    today = timezone.localdate()
    defaults = {
        "coupon_name": "테스트 쿠폰",
        "description": "테스트",
        "coupon_type": CouponType.FIXED_AMOUNT,
        "discount_amount": 1000,
        "usage_type": UsageType.ALL,
        "valid_from": today - dt.timedelta(days=1),
        "valid_until": today + dt.timedelta(days=30),
    }
    if "discount_rate" in fields:
        defaults.pop("discount_amount")
        defaults["coupon_type"] = CouponType.PERCENTAGE
    return Coupon.objects.create(id=coupon_id or f"TEST{next(_seq)}", **{**defaults, **fields})


def give_coupon(
    user: ChatUser, coupon: Coupon, *, expires_in: dt.timedelta = dt.timedelta(days=7), **fields
) -> UserCouponWallet:
    now = timezone.now()
    return UserCouponWallet.objects.create(
        user=user,
        coupon=coupon,
        issued_at=fields.pop("issued_at", now),
        acquisition_source=fields.pop("acquisition_source", AcquisitionSource.PROMOTION),
        expires_at=now + expires_in,
        **fields,
    )


HERE = {"latitude": KONDAE.latitude, "longitude": KONDAE.longitude}


def at_seoul(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    """A fixed clock: today (Asia/Seoul) at hour:minute, `days` later."""
    from chat.services.business_hours import SEOUL

    day = timezone.now().astimezone(SEOUL).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def chat_turn(user: ChatUser, message: str, *, now=None, session_id=None, location=HERE, context=None) -> dict:
    """One dining chat turn through the service, as the API runs it (optionally at a fixed clock)."""
    from chat.services.dining_chat import handle_turn

    return handle_turn(
        chat_user=user, message=message, session_id=session_id, location=location, context=context, now=now
    )
