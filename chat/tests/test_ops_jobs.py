"""Scheduled dining jobs (DESIGN.md §6): shop status, popularity EMA, wallet expiry, balance-alert
reset, coupon effectiveness - their effect on the data, and the beat schedule that runs them."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from chat import schedules, tasks
from chat.models import FoodcardUser, RecommendationLog, ShopStatus, WalletStatus
from chat.services.business_hours import SEOUL, refresh_shop_status
from chat.services.dining_jobs import EMA_OLD_WEIGHT, EMA_RECENT_WEIGHT, coupon_effectiveness, update_popularity
from chat.tests.dining_factories import LUNCH_WITH_BREAK, give_coupon, make_card, make_chat_user, make_coupon, make_shop
from config.celery import app

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)


def seoul(hour, minute=0, day=MONDAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def test_every_scheduled_job_names_a_registered_task():
    scheduled = {entry["task"] for entry in schedules.BEAT_SCHEDULE.values()}

    assert scheduled <= set(app.tasks)
    assert {"chat.refresh_shop_status", "chat.update_popularity", "chat.expire_wallet_coupons",
            "chat.reset_balance_alerts"} <= scheduled  # fmt: skip


def test_daily_jobs_run_at_two_in_the_morning():
    daily = [entry for entry in schedules.BEAT_SCHEDULE.values()
             if entry["task"] in ("chat.expire_wallet_coupons", "chat.reset_balance_alerts")]  # fmt: skip

    assert all(entry["schedule"].hour == {2} and entry["schedule"].minute == {0} for entry in daily)


# --- shop status (every minute) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "status"),
    [(seoul(12), ShopStatus.OPEN), (seoul(15, 30), ShopStatus.BREAK_TIME), (seoul(22), ShopStatus.CLOSED)],
)
def test_shop_status_follows_the_clock(moment, status):
    shop = make_shop(hours=LUNCH_WITH_BREAK)

    refresh_shop_status(now=moment)

    shop.refresh_from_db()
    assert shop.current_status == status


def test_status_task_updates_shops_now():
    shop = make_shop()  # open around the clock

    changed = tasks.refresh_shop_status.apply().get()

    shop.refresh_from_db()
    assert changed == 1 and shop.current_status == ShopStatus.OPEN


# --- popularity EMA (every 5 minutes) ---------------------------------------------------------


def _log(shops, *, at, selected=None, viewed=()):
    return RecommendationLog.objects.create(
        session_id=uuid.uuid4(), timestamp=at, request_intent="FOOD_REQUEST", recommendation_method="HYBRID",
        recommendations=[{"shop_id": shop.pk, "shop_name": shop.shop_name, "score": 0.5, "ranking": rank}
                         for rank, shop in enumerate(shops, start=1)],
        recommendation_count=len(shops), user_final_selection=selected, selected_at=at if selected else None,
        user_viewed_details=[shop.pk for shop in viewed],
    )  # fmt: skip


def _ema(old: str, recent: float) -> Decimal:
    return (EMA_OLD_WEIGHT * Decimal(old) + EMA_RECENT_WEIGHT * Decimal(str(recent))).quantize(Decimal("0.001"))


def test_popularity_is_the_ema_of_old_score_and_recent_views_and_selections():
    now = timezone.now()
    busy, shown, quiet = make_shop(popularity="0.500"), make_shop(popularity="0.200"), make_shop(popularity="0.800")
    _log([busy, shown], at=now - dt.timedelta(minutes=1), selected=busy)
    _log([busy], at=now - dt.timedelta(minutes=2))

    update_popularity(now=now)

    # views: busy 2, shown 1 (max 2); selections: busy 1 (max 1); recent = 0.4 * views share + 0.6 * selection share
    expected = {busy: _ema("0.500", 1.0), shown: _ema("0.200", 0.4 * 0.5), quiet: _ema("0.800", 0.0)}
    for shop, score in expected.items():
        shop.refresh_from_db()
        assert shop.popularity_score == score


def test_detail_views_count_as_views():
    now = timezone.now()
    viewed, other = make_shop(popularity="0.000"), make_shop(popularity="0.000")
    _log([viewed, other], at=now - dt.timedelta(minutes=1), viewed=[viewed])

    update_popularity(now=now)

    viewed.refresh_from_db(), other.refresh_from_db()
    assert viewed.popularity_score > other.popularity_score


def test_activity_outside_the_window_does_not_count():
    now = timezone.now()
    shop, other = make_shop(popularity="0.500"), make_shop(popularity="0.500")
    _log([shop], at=now - dt.timedelta(minutes=30), selected=shop)
    _log([other], at=now - dt.timedelta(minutes=1))

    update_popularity(now=now)

    shop.refresh_from_db()
    assert shop.popularity_score == _ema("0.500", 0.0)


def test_a_window_without_recommendations_leaves_scores_alone():
    shop = make_shop(popularity="0.640")

    assert update_popularity() == 0
    shop.refresh_from_db()
    assert shop.popularity_score == Decimal("0.640")


def test_popularity_stays_within_zero_and_one():
    now = timezone.now()
    top = make_shop(popularity="1.000")
    _log([top], at=now - dt.timedelta(minutes=1), selected=top)

    tasks.update_popularity.apply()
    update_popularity(now=now)

    top.refresh_from_db()
    assert top.popularity_score == Decimal("1.000")


# --- daily: wallet expiry and balance alerts ----------------------------------------------------


def test_expiry_job_marks_only_past_due_active_coupons_expired():
    user, coupon = make_chat_user(), make_coupon()
    now = timezone.now()
    stale = give_coupon(user, coupon, issued_at=now - dt.timedelta(days=3), expires_in=dt.timedelta(days=-1))
    live = give_coupon(make_chat_user(), coupon)
    used = give_coupon(make_chat_user(), coupon, issued_at=now - dt.timedelta(days=3),
                       expires_in=dt.timedelta(days=-1), status=WalletStatus.USED, used_at=now)  # fmt: skip

    expired = tasks.expire_wallet_coupons.apply().get()

    for entry in (stale, live, used):
        entry.refresh_from_db()
    assert expired == 1
    assert (stale.status, live.status, used.status) == (WalletStatus.EXPIRED, WalletStatus.ACTIVE, WalletStatus.USED)


def test_balance_alert_flags_are_reset_daily():
    alerted = make_card(make_chat_user(), balance=1000)
    FoodcardUser.objects.filter(pk=alerted.pk).update(balance_alert_sent=True)

    reset = tasks.reset_balance_alerts.apply().get()

    alerted.refresh_from_db()
    assert reset == 1 and alerted.balance_alert_sent is False


# --- weekly: coupon effectiveness -------------------------------------------------------------


def test_coupon_effectiveness_reports_usage_rate_and_discount_of_the_week():
    coupon, ignored = make_coupon("WEEKLY1000"), make_coupon("OLD1000")
    now = timezone.now()
    give_coupon(make_chat_user(), coupon, status=WalletStatus.USED, used_at=now, discount_applied=1000,
                used_order_amount=6000)  # fmt: skip
    for _ in range(3):
        give_coupon(make_chat_user(), coupon)
    give_coupon(make_chat_user(), ignored, issued_at=now - dt.timedelta(days=20))

    report = coupon_effectiveness(now=now + dt.timedelta(seconds=1))

    assert [(e.coupon_id, e.issued, e.used, e.usage_rate, e.discount_total) for e in report] == [
        ("WEEKLY1000", 4, 1, 0.25, 1000)
    ]
    assert tasks.coupon_effectiveness.apply().get()[0]["coupon_id"] == "WEEKLY1000"

