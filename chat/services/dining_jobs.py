"""Periodic dining jobs that the dining services do not already provide (seed 003 §5.4, DESIGN.md §6).

- Popularity (every 5 minutes): an exponential moving average,
  ``new = 0.7 * old + 0.3 * recent``, where ``recent`` (0..1) is the shop's share of the activity in
  the recommendations log during the last window: how often it was shown or opened ("views") and how
  often it was chosen ("selections"), each normalised by the busiest shop of the window.
  A window without any recommendation leaves every score alone: no traffic is not evidence that a
  shop became unpopular (otherwise a quiet night would decay every shop to zero).
- Coupon effectiveness (weekly): issued / used / usage rate / discount given per coupon.

Shop status, wallet expiry and balance-alert reset live in the dining services
(`business_hours.refresh_shop_status`, `coupons.expire_wallet_coupons`, `coupons.reset_balance_alerts`);
the Celery tasks call those directly.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from chat.models import Coupon, RecommendationLog, Shop, UserCouponWallet, WalletStatus

EMA_OLD_WEIGHT = Decimal("0.7")
EMA_RECENT_WEIGHT = Decimal("0.3")
POPULARITY_WINDOW = dt.timedelta(minutes=5)
RECOMPUTE_WINDOW = dt.timedelta(days=7)
# How much the two signals count in `recent` when both occurred in the window.
VIEW_WEIGHT = 0.4
SELECTION_WEIGHT = 0.6
SCORE_PLACES = Decimal("0.001")


@dataclass(frozen=True)
class ShopActivity:
    """Per-shop counts over a window of the recommendations log."""

    views: Counter  # shop id -> times shown in a recommendation or opened for details
    selections: Counter  # shop id -> times chosen

    @property
    def empty(self) -> bool:
        return not self.views and not self.selections

    def recent_score(self, shop_id: int) -> float:
        """The shop's activity relative to the busiest shop of the window, 0..1."""
        max_views = max(self.views.values(), default=0)
        max_selections = max(self.selections.values(), default=0)
        parts = []
        if max_views:
            parts.append((VIEW_WEIGHT, self.views[shop_id] / max_views))
        if max_selections:
            parts.append((SELECTION_WEIGHT, self.selections[shop_id] / max_selections))
        if not parts:
            return 0.0
        return sum(weight * value for weight, value in parts) / sum(weight for weight, _ in parts)


def shop_activity(since: dt.datetime, until: dt.datetime) -> ShopActivity:
    """Views and selections per shop in [since, until)."""
    views: Counter = Counter()
    logs = RecommendationLog.objects.filter(timestamp__gte=since, timestamp__lt=until).values_list(
        "recommendations", "user_viewed_details"
    )
    for recommendations, viewed in logs.iterator(chunk_size=500):
        for item in recommendations or []:
            if isinstance(item, dict) and isinstance(item.get("shop_id"), int):
                views[item["shop_id"]] += 1
        for shop_id in viewed or []:
            views[shop_id] += 1
    selections = Counter(
        dict(
            RecommendationLog.objects.filter(
                selected_at__gte=since, selected_at__lt=until, user_final_selection__isnull=False
            )
            .values_list("user_final_selection")
            .annotate(n=Count("id"))
            .values_list("user_final_selection", "n")
        )
    )
    return ShopActivity(views=views, selections=selections)


def ema(old: Decimal, recent: float) -> Decimal:
    """0.7 * old + 0.3 * recent, rounded to the column's 3 decimals and kept within 0..1."""
    value = EMA_OLD_WEIGHT * Decimal(old) + EMA_RECENT_WEIGHT * Decimal(str(recent))
    return min(Decimal("1"), max(Decimal("0"), value)).quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def update_popularity(now: dt.datetime | None = None, window: dt.timedelta = POPULARITY_WINDOW) -> int:
    """The 5-minute popularity EMA over every shop; returns how many scores changed."""
    now = now or timezone.now()
    activity = shop_activity(now - window, now)
    if activity.empty:
        return 0
    changed = []
    for shop in Shop.objects.only("id", "popularity_score").order_by("id").iterator(chunk_size=2000):
        score = ema(shop.popularity_score, activity.recent_score(shop.id))
        if score != shop.popularity_score:
            shop.popularity_score = score
            changed.append(shop)
    with transaction.atomic():
        Shop.objects.bulk_update(changed, ["popularity_score"], batch_size=1000)
    return len(changed)


def recompute_popularity(shop_ids, now: dt.datetime | None = None, window: dt.timedelta = RECOMPUTE_WINDOW) -> int:
    """Staff action: set the given shops' popularity straight to their activity share over the last
    `window` (a fresh baseline, e.g. after an import), normalised against all shops. Returns the count."""
    now = now or timezone.now()
    activity = shop_activity(now - window, now)
    shops = list(Shop.objects.filter(pk__in=shop_ids).only("id", "popularity_score"))
    for shop in shops:
        shop.popularity_score = Decimal(str(activity.recent_score(shop.id))).quantize(
            SCORE_PLACES, rounding=ROUND_HALF_UP
        )
    Shop.objects.bulk_update(shops, ["popularity_score"], batch_size=1000)
    return len(shops)


@dataclass(frozen=True)
class CouponEffect:
    coupon_id: str
    coupon_name: str
    issued: int
    used: int
    expired: int
    usage_rate: float
    discount_total: int
    order_total: int


def coupon_effectiveness(now: dt.datetime | None = None, days: int = 7) -> list[CouponEffect]:
    """Weekly report: for coupons issued in the last `days`, how many were used, expired, and the
    won of discount they gave (seed §5.4 주간 배치: 쿠폰 효과성 분석). Best usage rate first."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    rows = (
        UserCouponWallet.objects.filter(issued_at__gte=since, issued_at__lt=now)
        .values("coupon_id")
        .annotate(
            issued=Count("id"),
            used=Count("id", filter=Q(status=WalletStatus.USED)),
            expired=Count("id", filter=Q(status=WalletStatus.EXPIRED)),
            discount_total=Sum("discount_applied", default=0),
            order_total=Sum("used_order_amount", default=0),
        )
    )
    names = dict(Coupon.objects.values_list("id", "coupon_name"))
    report = [
        CouponEffect(
            coupon_id=row["coupon_id"],
            coupon_name=names.get(row["coupon_id"], ""),
            issued=row["issued"],
            used=row["used"],
            expired=row["expired"],
            usage_rate=round(row["used"] / row["issued"], 3) if row["issued"] else 0.0,
            discount_total=row["discount_total"],
            order_total=row["order_total"],
        )
        for row in rows
    ]
    return sorted(report, key=lambda effect: (-effect.usage_rate, effect.coupon_id))
