import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from chat.models import AcquisitionSource, Coupon, FoodcardUser, UserCouponWallet, UserProfile, WalletStatus
from chat.services.coupons import (
    EMERGENCY_COUPON_ID,
    WELCOME_COUPON_IDS,
    CouponTerms,
    apply_coupon,
    expire_wallet_coupons,
    grant_emergency_coupon,
    grant_welcome_coupons,
    issue_coupon,
)
from chat.tests.dining_factories import give_coupon, make_card, make_chat_user, make_coupon, make_shop
from config.api.exceptions import ApiError

MINUTE = dt.timedelta(minutes=1)
WORKERS = 16  # database connections used by the concurrency tests (the server allows 100 in all)


def terms(coupon, expires_in=dt.timedelta(days=1)):
    entry = UserCouponWallet(pk=1, coupon=coupon, expires_at=timezone.now() + expires_in)
    return CouponTerms.from_wallet(entry)


@pytest.mark.django_db
class TestDiscounts:
    def test_fixed_amount_never_exceeds_the_order(self):
        coupon = make_coupon(discount_amount=3000)
        assert terms(coupon).discount_for(10000) == 3000
        assert terms(coupon).discount_for(2000) == 2000

    def test_percentage_is_rounded_down_and_capped(self):
        coupon = make_coupon(discount_rate="0.15", max_discount_amount=1000)
        assert terms(coupon).discount_for(5999) == 899
        assert terms(coupon).discount_for(20000) == 1000

    def test_category_coupon_applies_only_to_its_categories(self):
        coupon_terms = terms(make_coupon(usage_type="CATEGORY", target_categories=["한식"]))
        order = {"shop_id": 1, "food_card": "Y", "amount": 5000, "has_card": False}
        assert coupon_terms.applies(category="한식", **order)
        assert not coupon_terms.applies(category="중식", **order)

    def test_foodcard_coupon_needs_a_card_and_an_accepting_shop(self):
        coupon_terms = terms(make_coupon(usage_type="FOODCARD"))
        order = {"shop_id": 1, "category": "한식", "amount": 5000}
        assert coupon_terms.applies(food_card="Y", has_card=True, **order)
        assert not coupon_terms.applies(food_card="N", has_card=True, **order)
        assert not coupon_terms.applies(food_card="Y", has_card=False, **order)

    def test_minimum_order_amount(self):
        coupon_terms = terms(make_coupon(min_order_amount=8000))
        order = {"shop_id": 1, "category": "한식", "food_card": "Y", "has_card": False}
        assert not coupon_terms.applies(amount=7999, **order)
        assert coupon_terms.applies(amount=8000, **order)


@pytest.mark.django_db
class TestApply:
    def test_apply_uses_the_coupon_debits_the_card_and_counts(self):
        user = make_chat_user()
        card = make_card(user, balance=10000)
        shop = make_shop()
        coupon = make_coupon("OFF2000", discount_amount=2000, total_issued=1)
        entry = give_coupon(user, coupon)

        result = apply_coupon(user=user, coupon_id="OFF2000", shop_id=shop.pk, order_amount=7000)

        assert (result.discount_applied, result.amount_charged, result.balance_after) == (2000, 5000, 5000)
        entry.refresh_from_db()
        assert (entry.status, entry.used_shop_id, entry.discount_applied) == ("USED", shop.pk, 2000)
        card.refresh_from_db()
        assert card.balance == 5000
        assert Coupon.objects.get(pk="OFF2000").total_used == 1
        assert UserProfile.objects.get(user=user).recent_orders[0]["shop_id"] == shop.pk

    def test_apply_without_a_card_only_uses_the_coupon(self):
        user = make_chat_user()
        give_coupon(user, make_coupon("OFF1000"))

        result = apply_coupon(user=user, coupon_id="OFF1000", shop_id=make_shop().pk, order_amount=5000)

        assert (result.amount_charged, result.balance_after) == (4000, None)

    def test_insufficient_balance_changes_nothing(self):
        user = make_chat_user(profile=False)
        card = make_card(user, balance=3000)
        entry = give_coupon(user, make_coupon("OFF1000"))

        with pytest.raises(ApiError) as excinfo:
            apply_coupon(user=user, coupon_id="OFF1000", shop_id=make_shop().pk, order_amount=5000)

        assert excinfo.value.error_code == "insufficient_balance"
        entry.refresh_from_db()
        card.refresh_from_db()
        assert (entry.status, card.balance, Coupon.objects.get(pk="OFF1000").total_used) == ("ACTIVE", 3000, 0)
        assert not UserProfile.objects.filter(user=user).exists()

    def test_a_used_coupon_cannot_be_applied_again(self):
        user = make_chat_user()
        give_coupon(user, make_coupon("ONCE"))
        shop = make_shop()
        apply_coupon(user=user, coupon_id="ONCE", shop_id=shop.pk, order_amount=5000)

        with pytest.raises(ApiError) as excinfo:
            apply_coupon(user=user, coupon_id="ONCE", shop_id=shop.pk, order_amount=5000)

        assert (excinfo.value.error_code, excinfo.value.status_code) == ("coupon_not_available", 409)

    def test_coupon_for_another_shop_is_refused(self):
        user = make_chat_user()
        other = make_shop()
        give_coupon(user, make_coupon("SHOPONLY", usage_type="SHOP", applicable_shop_ids=[other.pk]))

        with pytest.raises(ApiError) as excinfo:
            apply_coupon(user=user, coupon_id="SHOPONLY", shop_id=make_shop().pk, order_amount=5000)

        assert (excinfo.value.error_code, excinfo.value.status_code) == ("coupon_not_applicable", 422)

    def test_expired_wallet_coupon_is_refused(self):
        user = make_chat_user()
        give_coupon(user, make_coupon("OLD"), issued_at=timezone.now() - dt.timedelta(days=1), expires_in=-MINUTE)

        with pytest.raises(ApiError) as excinfo:
            apply_coupon(user=user, coupon_id="OLD", shop_id=make_shop().pk, order_amount=5000)

        assert excinfo.value.error_code == "coupon_expired"

    def test_unknown_coupon_is_not_found(self):
        with pytest.raises(ApiError) as excinfo:
            apply_coupon(user=make_chat_user(), coupon_id="NOPE", shop_id=make_shop().pk, order_amount=5000)
        assert excinfo.value.status_code == 404

    def test_database_refuses_a_negative_balance(self):
        card = make_card(make_chat_user(), balance=1000)
        with pytest.raises(IntegrityError), transaction.atomic():
            FoodcardUser.objects.filter(pk=card.pk).update(balance=F("balance") - 1001)

    def test_database_refuses_used_without_used_at(self):
        entry = give_coupon(make_chat_user(), make_coupon())
        with pytest.raises(IntegrityError), transaction.atomic():
            UserCouponWallet.objects.filter(pk=entry.pk).update(status=WalletStatus.USED)


def _run_concurrently(count, fn):
    barrier = threading.Barrier(WORKERS)

    def attempt(index):
        try:
            if index < WORKERS:
                barrier.wait(timeout=10)
            fn(index)
            return "ok"
        except ApiError as exc:
            return exc.error_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(attempt, range(count)))


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_applies_of_a_single_use_coupon_succeed_exactly_once():
    user = make_chat_user()
    card = make_card(user, balance=100_000)
    shop = make_shop()
    give_coupon(user, make_coupon("RACE", discount_amount=1000, total_issued=1))

    outcomes = _run_concurrently(
        200, lambda _: apply_coupon(user=user, coupon_id="RACE", shop_id=shop.pk, order_amount=5000)
    )

    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "coupon_not_available"}
    card.refresh_from_db()
    assert card.balance == 100_000 - 4000
    assert Coupon.objects.get(pk="RACE").total_used == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw_the_card():
    user = make_chat_user()
    card = make_card(user, balance=10_000)
    shop = make_shop()
    for index in range(WORKERS):
        give_coupon(user, make_coupon(f"C{index}", discount_amount=1000))

    outcomes = _run_concurrently(
        WORKERS, lambda i: apply_coupon(user=user, coupon_id=f"C{i}", shop_id=shop.pk, order_amount=4000)
    )

    card.refresh_from_db()
    assert outcomes.count("ok") == 3  # 3 x 3,000 won fit into 10,000
    assert card.balance == 1000
    assert outcomes.count("insufficient_balance") == WORKERS - 3


@pytest.mark.django_db
class TestIssuing:
    def test_issue_limit_is_enforced(self):
        coupon = make_coupon(max_issue_count=1)
        issue_coupon(make_chat_user(), coupon, source=AcquisitionSource.PROMOTION)

        with pytest.raises(ApiError) as excinfo:
            issue_coupon(make_chat_user(), coupon, source=AcquisitionSource.PROMOTION)

        assert excinfo.value.error_code == "coupon_exhausted"
        assert Coupon.objects.get(pk=coupon.pk).total_issued == 1

    def test_one_active_copy_per_user(self):
        user = make_chat_user()
        coupon = make_coupon(max_issue_count=5)
        issue_coupon(user, coupon, source=AcquisitionSource.PROMOTION)

        with pytest.raises(ApiError) as excinfo:
            issue_coupon(user, coupon, source=AcquisitionSource.PROMOTION)

        assert excinfo.value.error_code == "coupon_already_held"
        assert Coupon.objects.get(pk=coupon.pk).total_issued == 1  # the claimed slot was rolled back

    def test_wallet_copy_expires_with_the_coupon(self):
        coupon = make_coupon(valid_until=timezone.localdate() + dt.timedelta(days=2))
        entry = issue_coupon(make_chat_user(), coupon, source=AcquisitionSource.ADMIN_GRANT)
        assert entry.expires_at.date() <= coupon.valid_until + dt.timedelta(days=1)

    def test_emergency_coupon_for_low_balance_expires_in_24_hours(self):
        user = make_chat_user()
        make_card(user, balance=2000, threshold=5000)
        now = timezone.now()

        entry = grant_emergency_coupon(user, now)

        assert entry.coupon_id == EMERGENCY_COUPON_ID
        assert entry.expires_at == now + dt.timedelta(hours=24)
        assert FoodcardUser.objects.get(user=user).balance_alert_sent

    def test_emergency_coupon_at_most_once_per_24_hours(self):
        user = make_chat_user()
        make_card(user, balance=0)
        now = timezone.now()
        grant_emergency_coupon(user, now)

        assert grant_emergency_coupon(user, now + dt.timedelta(hours=23)) is None
        again = grant_emergency_coupon(user, now + dt.timedelta(hours=24, minutes=1))

        assert again is not None
        statuses = sorted(UserCouponWallet.objects.filter(user=user).values_list("status", flat=True))
        assert statuses == ["ACTIVE", "EXPIRED"]

    def test_no_emergency_coupon_when_balance_is_enough_or_card_inactive(self):
        rich = make_chat_user()
        make_card(rich, balance=5000, threshold=5000)
        lost = make_chat_user()
        make_card(lost, balance=0, status="LOST")

        assert grant_emergency_coupon(rich) is None
        assert grant_emergency_coupon(lost) is None

    def test_welcome_coupons_only_once(self):
        user = make_chat_user()
        first = grant_welcome_coupons(user)
        second = grant_welcome_coupons(user)

        assert sorted(entry.coupon_id for entry in first) == sorted(WELCOME_COUPON_IDS)
        assert second == []
        assert UserCouponWallet.objects.filter(user=user).count() == len(WELCOME_COUPON_IDS)

    def test_a_system_coupon_first_granted_for_an_earlier_day_is_valid_on_that_day(self):
        yesterday = timezone.now() - dt.timedelta(days=1)  # a backdated turn (the learning-loop simulation's)

        granted = grant_welcome_coupons(make_chat_user(), yesterday)

        assert sorted(entry.coupon_id for entry in granted) == sorted(WELCOME_COUPON_IDS)

    def test_expiry_job_marks_past_coupons_expired(self):
        user = make_chat_user()
        stale = give_coupon(user, make_coupon(), issued_at=timezone.now() - dt.timedelta(days=1), expires_in=-MINUTE)
        fresh = give_coupon(user, make_coupon())

        assert expire_wallet_coupons() == 1
        assert UserCouponWallet.objects.get(pk=stale.pk).status == "EXPIRED"
        assert UserCouponWallet.objects.get(pk=fresh.pk).status == "ACTIVE"
