"""Coupons: which wallet coupons apply to a menu, issuing (welcome, emergency, admin grants) and the
atomic apply (coupon used + meal-card debit + counters, or nothing).

Concurrency rules:
- apply locks the wallet row (SELECT ... FOR UPDATE) and debits the card with a conditional UPDATE
  (`balance >= amount`); the DB CHECK balance >= 0 is the backstop. A second apply of the same
  single-use coupon finds no ACTIVE row once the first commits.
- issuing claims a slot with a conditional UPDATE on coupons.total_issued (max_issue_count), and the
  partial unique index allows one ACTIVE copy per user and coupon.
- emergency/welcome grants lock the user's card / user row so two concurrent turns grant once.
"""

import datetime as dt
import functools
import logging
import math
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import status

from chat.models import (
    AcquisitionSource,
    CardStatus,
    ChatUser,
    Coupon,
    CouponType,
    FoodCardAcceptance,
    FoodcardUser,
    Shop,
    UsageType,
    UserCouponWallet,
    WalletStatus,
)
from chat.services.business_hours import SEOUL
from chat.services.user_context import record_order
from config.api.exceptions import ApiError
from config.joined_rows import columns, fetch

logger = logging.getLogger(__name__)

EMERGENCY_COUPON_ID = "EMERGENCY_FOOD_AID"
WELCOME_COUPON_IDS = ("WELCOME3000", "FIRST_ORDER10")
EMERGENCY_VALIDITY = dt.timedelta(hours=24)
WELCOME_VALIDITY = dt.timedelta(days=30)

# Coupons the system itself grants; created on first use so a fresh database works.
SYSTEM_COUPONS = {
    EMERGENCY_COUPON_ID: {
        "coupon_name": "긴급 식사 지원 쿠폰",
        "description": "급식카드 잔액이 부족할 때 발급되는 3,000원 할인 쿠폰 (24시간 유효)",
        "coupon_type": CouponType.FIXED_AMOUNT,
        "discount_amount": 3000,
        "usage_type": UsageType.ALL,
        "target_user_types": ["foodcard"],
        "priority_score": Decimal("0.90"),
    },
    "WELCOME3000": {
        "coupon_name": "신규 가입 환영 쿠폰",
        "description": "처음 오신 분께 드리는 3,000원 할인 쿠폰",
        "coupon_type": CouponType.FIXED_AMOUNT,
        "discount_amount": 3000,
        "usage_type": UsageType.NEW_USER,
        "target_user_types": ["new"],
    },
    "FIRST_ORDER10": {
        "coupon_name": "첫 주문 10% 할인",
        "description": "첫 주문 10% 추가 할인 (최대 2,000원)",
        "coupon_type": CouponType.PERCENTAGE,
        "discount_rate": Decimal("0.10"),
        "max_discount_amount": 2000,
        "usage_type": UsageType.NEW_USER,
        "target_user_types": ["new"],
    },
}


@dataclass(frozen=True)
class CouponTerms:
    """What decides whether and how much a wallet coupon discounts (cache/JSON friendly)."""

    wallet_id: int
    coupon_id: str
    name: str
    coupon_type: str
    discount_amount: int | None
    discount_rate: float | None
    max_discount_amount: int | None
    min_order_amount: int
    usage_type: str
    target_categories: tuple[str, ...]
    applicable_shop_ids: tuple[int, ...]
    valid_from: dt.date
    valid_until: dt.date
    is_active: bool
    expires_at: dt.datetime

    @classmethod
    def from_wallet(cls, entry: UserCouponWallet) -> "CouponTerms":
        coupon = entry.coupon
        return cls(
            wallet_id=entry.pk,
            coupon_id=coupon.pk,
            name=coupon.coupon_name,
            coupon_type=coupon.coupon_type,
            discount_amount=coupon.discount_amount,
            discount_rate=float(coupon.discount_rate) if coupon.discount_rate is not None else None,
            max_discount_amount=coupon.max_discount_amount,
            min_order_amount=coupon.min_order_amount,
            usage_type=coupon.usage_type,
            target_categories=tuple(coupon.target_categories or ()),
            applicable_shop_ids=tuple(coupon.applicable_shop_ids or ()),
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            is_active=coupon.is_active,
            expires_at=entry.expires_at,
        )

    def as_dict(self) -> dict:
        data = asdict(self)
        data["expires_at"] = timezone.localtime(self.expires_at).isoformat()  # Asia/Seoul, like every payload
        data["valid_from"] = self.valid_from.isoformat()
        data["valid_until"] = self.valid_until.isoformat()
        return data

    def usable_at(self, now: dt.datetime) -> bool:
        today = now.astimezone(SEOUL).date()
        return self.is_active and self.valid_from <= today <= self.valid_until and self.expires_at > now

    def discount_for(self, amount: int) -> int:
        """Won taken off an order of `amount` (never more than the order)."""
        if amount <= 0:
            return 0
        if self.discount_rate is not None:
            discount = math.floor(amount * self.discount_rate)
            if self.max_discount_amount is not None:
                discount = min(discount, self.max_discount_amount)
        else:
            discount = self.discount_amount or 0
        return max(0, min(discount, amount))

    def max_discount(self, amount_ceiling: int) -> int:
        """An upper bound of the discount on any order up to amount_ceiling (for price prefilters)."""
        return self.discount_for(amount_ceiling)

    def not_applicable_reason(self, *, shop_id: int, category: str, food_card: str, amount: int, has_card: bool):
        """None when the coupon applies to this order, else the reason (in the active language)."""
        if amount < self.min_order_amount:
            return gettext("Usable from an order of %(amount)s won.") % {"amount": f"{self.min_order_amount:,}"}
        if self.applicable_shop_ids and shop_id not in self.applicable_shop_ids:
            return gettext("This coupon cannot be used at this shop.")
        if self.usage_type == UsageType.SHOP and not self.applicable_shop_ids:
            return gettext("This coupon names no shop it can be used at.")
        if self.target_categories and category not in self.target_categories:
            return gettext("Usable only at %(categories)s shops.") % {"categories": ", ".join(self.target_categories)}
        if self.usage_type == UsageType.FOODCARD and not (
            has_card and food_card in (FoodCardAcceptance.YES, FoodCardAcceptance.PARTIAL)
        ):
            return gettext("Usable only when paying with a meal card at a shop that accepts it.")
        return None

    def applies(self, **order) -> bool:
        return self.not_applicable_reason(**order) is None


@functools.cache
def usable_wallet_sql() -> str:
    """A user's usable wallet entries with their coupons, soonest to expire first: ACTIVE and not past expires_at
    (the daily job marks stale rows EXPIRED later). Hand-written: it runs on every dining turn (config.joined_rows)."""
    wallet, coupon = UserCouponWallet._meta.db_table, Coupon._meta.db_table
    return (
        f"SELECT {columns(UserCouponWallet, 'w')}, {columns(Coupon, 'c')} FROM {wallet} w "
        f"JOIN {coupon} c ON c.{Coupon._meta.pk.column} = w.coupon_id "
        "WHERE w.user_id = %s AND w.status = %s AND w.expires_at > %s ORDER BY w.expires_at, w.id"
    )


def usable_coupon_terms(user: ChatUser, now: dt.datetime | None = None) -> list[CouponTerms]:
    """The user's wallet coupons that can be used now (one query)."""
    now = now or timezone.now()
    terms = []
    params = [user.pk, WalletStatus.ACTIVE.value, now]
    for entry, coupon in fetch(usable_wallet_sql(), params, UserCouponWallet, Coupon):
        UserCouponWallet._meta.get_field("coupon").set_cached_value(entry, coupon)
        terms.append(CouponTerms.from_wallet(entry))
    return [term for term in terms if term.usable_at(now)]


def best_coupon(
    terms: list[CouponTerms], *, shop_id: int, category: str, food_card: str, amount: int, has_card: bool
) -> tuple[CouponTerms | None, int]:
    """The coupon with the largest discount on this order (ties: the one expiring first)."""
    best, best_discount = None, 0
    for term in terms:
        if not term.applies(shop_id=shop_id, category=category, food_card=food_card, amount=amount, has_card=has_card):
            continue
        discount = term.discount_for(amount)
        if discount > best_discount:
            best, best_discount = term, discount
    return best, best_discount


def ensure_system_coupon(coupon_id: str, now: dt.datetime | None = None) -> Coupon:
    """The system coupon, created on first use valid from the day of `now` (the grant's moment, which a
    backdated turn or a simulation sets in the past: the wall-clock date would make it not yet valid)."""
    today = (now or timezone.now()).astimezone(SEOUL).date()
    coupon, _ = Coupon.objects.get_or_create(
        pk=coupon_id,
        defaults={
            **SYSTEM_COUPONS[coupon_id],
            "valid_from": today,
            "valid_until": today + dt.timedelta(days=3650),
            "created_by": "SYSTEM",
        },
    )
    return coupon


def issue_coupon(
    user: ChatUser,
    coupon: Coupon,
    *,
    source: str,
    issued_by: str = "SYSTEM",
    expires_at: dt.datetime | None = None,
    context: dict | None = None,
    now: dt.datetime | None = None,
    uses_counted_since: dt.datetime | None = None,
) -> UserCouponWallet:
    """Put `coupon` into the user's wallet, or raise ApiError (inactive, exhausted, already held).

    The wallet copy expires at `expires_at` or at the end of the coupon's validity, whichever is first.
    `max_use_per_user` counts the used copies of every grant, or only of grants since `uses_counted_since`
    for a coupon the system grants again each eligible period (the emergency coupon: once per 24 h).
    """
    now = now or timezone.now()
    today = now.astimezone(SEOUL).date()
    if not coupon.is_active or not coupon.valid_from <= today <= coupon.valid_until:
        message = gettext("Coupon %(coupon_id)s cannot be issued now.") % {"coupon_id": coupon.pk}
        raise ApiError("coupon_inactive", message, status.HTTP_409_CONFLICT)
    end_of_validity = dt.datetime.combine(coupon.valid_until + dt.timedelta(days=1), dt.time.min, tzinfo=SEOUL)
    expires = min(expires_at or end_of_validity, end_of_validity)
    with transaction.atomic():
        # A copy that ran out but was not yet swept by the daily job must not block a new one.
        UserCouponWallet.objects.filter(
            user=user, coupon=coupon, status=WalletStatus.ACTIVE, expires_at__lte=now
        ).update(status=WalletStatus.EXPIRED)
        uses = UserCouponWallet.objects.filter(user=user, coupon=coupon, status=WalletStatus.USED)
        if uses_counted_since is not None:
            uses = uses.filter(issued_at__gte=uses_counted_since)
        used = uses.count()
        if used >= coupon.max_use_per_user:
            raise ApiError(
                "coupon_limit_reached",
                gettext("This coupon has already been used as many times as it may be."),
                status.HTTP_409_CONFLICT,
            )
        claimed = (
            Coupon.objects.filter(pk=coupon.pk)
            .filter(Q(max_issue_count__isnull=True) | Q(total_issued__lt=F("max_issue_count")))
            .update(total_issued=F("total_issued") + 1)
        )
        if not claimed:
            raise ApiError("coupon_exhausted", gettext("This coupon has run out."), status.HTTP_409_CONFLICT)
        try:
            with transaction.atomic():
                entry = UserCouponWallet.objects.create(
                    user=user,
                    coupon=coupon,
                    issued_at=now,
                    issued_by=issued_by,
                    acquisition_source=source,
                    acquisition_context=context or {},
                    expires_at=expires,
                )
        except IntegrityError as exc:
            raise ApiError(
                "coupon_already_held", gettext("This coupon is already in the wallet."), status.HTTP_409_CONFLICT
            ) from exc
    return entry


def grant_system_coupon(user: ChatUser, coupon_id: str, *, now: dt.datetime, **issue) -> UserCouponWallet | None:
    """Issue a system coupon as part of a chat turn at `now`. A grant that cannot happen (coupon deactivated,
    exhausted, use limit reached, already held) is logged and skipped: it never fails the turn."""
    try:
        return issue_coupon(user, ensure_system_coupon(coupon_id, now), now=now, **issue)
    except ApiError as exc:
        logger.warning("coupon %s not granted to chat user %s: %s (%s)", coupon_id, user.pk, exc.error_code, exc.detail)
        return None


def grant_emergency_coupon(user: ChatUser, now: dt.datetime | None = None) -> UserCouponWallet | None:
    """Seed §5.3 scenario 1: an active card below its alert threshold gets EMERGENCY_FOOD_AID,
    valid 24 h, at most once per 24 h - again on each eligible day, also after earlier ones were used.
    Returns the new wallet entry or None."""
    now = now or timezone.now()
    with transaction.atomic():
        card = (
            FoodcardUser.objects.select_for_update()
            .filter(user=user, status=CardStatus.ACTIVE, balance__lt=F("balance_alert_threshold"))
            .first()
        )
        if card is None:
            return None
        recent = UserCouponWallet.objects.filter(
            user=user,
            acquisition_source=AcquisitionSource.EMERGENCY_ASSIST,
            issued_at__gt=now - EMERGENCY_VALIDITY,
        )
        if recent.exists():
            return None
        entry = grant_system_coupon(
            user,
            EMERGENCY_COUPON_ID,
            source=AcquisitionSource.EMERGENCY_ASSIST,
            expires_at=now + EMERGENCY_VALIDITY,
            context={
                "trigger_event": "low_balance",
                "balance": card.balance,
                "threshold": card.balance_alert_threshold,
            },
            now=now,
            uses_counted_since=now - EMERGENCY_VALIDITY,
        )
        if entry is not None:
            FoodcardUser.objects.filter(pk=card.pk).update(balance_alert_sent=True, updated_at=now)
    return entry


def grant_welcome_coupons(user: ChatUser, now: dt.datetime | None = None) -> list[UserCouponWallet]:
    """Seed §5.3 scenario 2: welcome coupons, once per user ever (each one that can be granted)."""
    now = now or timezone.now()
    with transaction.atomic():
        ChatUser.objects.select_for_update().filter(pk=user.pk).first()
        if UserCouponWallet.objects.filter(user=user, acquisition_source=AcquisitionSource.WELCOME_BONUS).exists():
            return []
        granted = (
            grant_system_coupon(
                user,
                coupon_id,
                source=AcquisitionSource.WELCOME_BONUS,
                expires_at=now + WELCOME_VALIDITY,
                context={"trigger_event": "first_chat"},
                now=now,
            )
            for coupon_id in WELCOME_COUPON_IDS
        )
        return [entry for entry in granted if entry is not None]


@dataclass(frozen=True)
class AppliedCoupon:
    wallet_id: int
    coupon_id: str
    shop_id: int
    order_amount: int
    discount_applied: int
    amount_charged: int
    balance_after: int | None
    used_at: dt.datetime


def apply_coupon(
    *, user: ChatUser, coupon_id: str, shop_id: int, order_amount: int, now: dt.datetime | None = None
) -> AppliedCoupon:
    """Use a wallet coupon on an order at a shop: the coupon becomes USED, the meal card (if the user
    has an active one) is debited by the discounted amount, counters move - all or nothing."""
    now = now or timezone.now()
    if order_amount <= 0:
        raise ApiError("invalid_amount", gettext("The order amount must be more than 0 won."))
    if not Coupon.objects.filter(pk=coupon_id).exists():
        message = gettext("Coupon %(coupon_id)s was not found.") % {"coupon_id": coupon_id}
        raise ApiError("coupon_not_found", message, status.HTTP_404_NOT_FOUND)
    shop = Shop.objects.filter(pk=shop_id).only("id", "category", "is_food_card_shop", "shop_name").first()
    if shop is None:
        message = gettext("Shop %(shop_id)s was not found.") % {"shop_id": shop_id}
        raise ApiError("shop_not_found", message, status.HTTP_404_NOT_FOUND)

    with transaction.atomic():
        entry = (
            UserCouponWallet.objects.select_for_update(of=("self",))
            .select_related("coupon")
            .filter(user=user, coupon_id=coupon_id, status=WalletStatus.ACTIVE)
            .first()
        )
        if entry is None:
            raise ApiError(
                "coupon_not_available",
                gettext("The wallet holds no usable copy of this coupon (already used or never received)."),
                status.HTTP_409_CONFLICT,
            )
        terms = CouponTerms.from_wallet(entry)
        if not terms.usable_at(now):
            raise ApiError("coupon_expired", gettext("This coupon has expired."), status.HTTP_409_CONFLICT)
        card = FoodcardUser.objects.filter(user=user, status=CardStatus.ACTIVE).only("id").first()
        reason = terms.not_applicable_reason(
            shop_id=shop.id,
            category=shop.category,
            food_card=shop.is_food_card_shop,
            amount=order_amount,
            has_card=card is not None,
        )
        if reason:
            raise ApiError("coupon_not_applicable", reason, status.HTTP_422_UNPROCESSABLE_ENTITY)
        discount = terms.discount_for(order_amount)
        charged = order_amount - discount

        balance_after = None
        if card is not None:
            debited = FoodcardUser.objects.filter(pk=card.pk, status=CardStatus.ACTIVE, balance__gte=charged).update(
                balance=F("balance") - charged, updated_at=now
            )
            if not debited:
                raise ApiError(
                    "insufficient_balance",
                    gettext("The meal card balance is too low (amount to pay: %(amount)s won).")
                    % {"amount": f"{charged:,}"},
                    status.HTTP_409_CONFLICT,
                )
            balance_after = FoodcardUser.objects.values_list("balance", flat=True).get(pk=card.pk)

        marked = UserCouponWallet.objects.filter(pk=entry.pk, status=WalletStatus.ACTIVE).update(
            status=WalletStatus.USED,
            used_at=now,
            used_shop=shop,
            used_order_amount=order_amount,
            discount_applied=discount,
        )
        if marked != 1:  # cannot happen under the row lock; refuse rather than double-spend
            message = gettext("This coupon has already been used.")
            raise ApiError("coupon_not_available", message, status.HTTP_409_CONFLICT)
        Coupon.objects.filter(pk=coupon_id).update(total_used=F("total_used") + 1)
        record_order(
            user,
            {
                "shop_id": shop.id,
                "shop_name": shop.shop_name,
                "price": order_amount,
                "discount": discount,
                "coupon_id": coupon_id,
                "order_date": now.isoformat(),
            },
        )
    return AppliedCoupon(
        wallet_id=entry.pk,
        coupon_id=coupon_id,
        shop_id=shop.id,
        order_amount=order_amount,
        discount_applied=discount,
        amount_charged=charged,
        balance_after=balance_after,
        used_at=now,
    )


def expire_wallet_coupons(now: dt.datetime | None = None) -> int:
    """Daily job: ACTIVE wallet coupons past expires_at become EXPIRED. Returns how many."""
    now = now or timezone.now()
    return UserCouponWallet.objects.filter(status=WalletStatus.ACTIVE, expires_at__lte=now).update(
        status=WalletStatus.EXPIRED
    )


def reset_balance_alerts() -> int:
    """Daily job: balance_alert_sent is a 24-hour flag (seed §3.4)."""
    return FoodcardUser.objects.filter(balance_alert_sent=True).update(balance_alert_sent=False)
