"""Dining turns never fail because of a coupon grant (issue 12): a grant that cannot happen is logged
and skipped and the turn answered; the emergency coupon is granted again on each eligible day (at most
once per 24 h, seed 003 §5.3), also after the earlier ones were used."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from chat.models import AcquisitionSource, ChatUser, Coupon, UserCouponWallet, WalletStatus
from chat.services.coupons import EMERGENCY_COUPON_ID, apply_coupon, ensure_system_coupon
from chat.services.profiles import chat_user_for
from chat.tests.dining_factories import HERE, chat_turn, give_coupon, make_card, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def kimbap():
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 4000)
    return shop


def turn(user, message, now):
    return chat_turn(user, message, now=now)


def low_balance_user():
    user = make_chat_user(data_completeness="0.80")
    make_card(user, balance=1000, threshold=5000)
    return user


def emergency_coupons(user):
    return UserCouponWallet.objects.filter(user=user, acquisition_source=AcquisitionSource.EMERGENCY_ASSIST)


class TestEmergencyCouponEachEligibleDay:
    def test_a_used_emergency_coupon_is_granted_again_a_day_later(self, kimbap):
        user, start = low_balance_user(), timezone.now()
        turn(user, "배고파 5천원으로 뭐 먹지?", start)
        apply_coupon(user=user, coupon_id=EMERGENCY_COUPON_ID, shop_id=kimbap.pk, order_amount=4000, now=start + HOUR)

        body = turn(user, "배고파 5천원으로 뭐 먹지?", start + 25 * HOUR)

        assert [c["coupon_id"] for c in body["coupons_issued"]] == [EMERGENCY_COUPON_ID]
        assert "긴급 식사 쿠폰" in body["response"]
        assert list(emergency_coupons(user).order_by("issued_at").values_list("status", flat=True)) == [
            WalletStatus.USED,
            WalletStatus.ACTIVE,
        ]

    def test_a_greeting_after_the_emergency_coupon_was_used_is_answered(self, kimbap):
        user, start = low_balance_user(), timezone.now()
        turn(user, "배고파", start)
        apply_coupon(user=user, coupon_id=EMERGENCY_COUPON_ID, shop_id=kimbap.pk, order_amount=4000, now=start + HOUR)

        later = [turn(user, "안녕", start + hours * HOUR) for hours in (2, 30)]

        assert all(body["response"] for body in later)
        assert emergency_coupons(user).count() == 2

    def test_the_emergency_coupon_is_still_granted_at_most_once_per_24_hours(self, kimbap):
        user, start = low_balance_user(), timezone.now()
        turn(user, "배고파", start)
        apply_coupon(user=user, coupon_id=EMERGENCY_COUPON_ID, shop_id=kimbap.pk, order_amount=4000, now=start + HOUR)

        body = turn(user, "배고파", start + 23 * HOUR)

        assert body["coupons_issued"] == []
        assert emergency_coupons(user).count() == 1

    def test_over_the_api_a_user_who_used_yesterdays_coupon_gets_todays(self, alice_client, kimbap):
        user = chat_user_for(alice_client.user)
        make_card(user, balance=1000, threshold=5000)
        yesterday = timezone.now() - 30 * HOUR
        give_coupon(
            user,
            ensure_system_coupon(EMERGENCY_COUPON_ID),
            issued_at=yesterday,
            acquisition_source=AcquisitionSource.EMERGENCY_ASSIST,
            status=WalletStatus.USED,
            used_at=yesterday + HOUR,
        )

        response = alice_client.post("/api/v1/chat", {"message": "안녕", "location": HERE}, format="json")

        assert response.status_code == 200, response.content
        assert EMERGENCY_COUPON_ID in [c["coupon_id"] for c in response.json()["coupons_issued"]]

    def test_a_deactivated_emergency_coupon_is_skipped_and_logged(self, kimbap, caplog):
        Coupon.objects.filter(pk=ensure_system_coupon(EMERGENCY_COUPON_ID).pk).update(is_active=False)
        user = low_balance_user()

        with caplog.at_level(logging.WARNING, logger="chat.services.coupons"):
            body = turn(user, "배고파 5천원으로 뭐 먹지?", timezone.now())

        assert body["coupons_issued"] == []
        assert "긴급 식사 쿠폰" not in body["response"]
        assert "급식카드 잔액(1,000원)에 맞춰" in body["response"]
        assert f"coupon {EMERGENCY_COUPON_ID} not granted" in caplog.text


class TestWelcomeCouponsThatCannotBeGranted:
    def first_chat(self, client):
        return client.post("/api/v1/chat", {"message": "안녕", "location": HERE}, format="json")

    def test_a_deactivated_welcome_coupon_does_not_fail_a_new_users_first_chat(self, alice_client, caplog):
        Coupon.objects.filter(pk=ensure_system_coupon("WELCOME3000").pk).update(is_active=False)

        with caplog.at_level(logging.WARNING, logger="chat.services.coupons"):
            response = self.first_chat(alice_client)

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["session_info"]["strategy"] == "ONBOARDING"
        assert [c["coupon_id"] for c in body["coupons_issued"]] == ["FIRST_ORDER10"]
        assert "coupon WELCOME3000 not granted" in caplog.text and "coupon_inactive" in caplog.text

    def test_an_exhausted_welcome_coupon_does_not_fail_a_new_users_first_chat(self, alice_client):
        Coupon.objects.filter(pk=ensure_system_coupon("WELCOME3000").pk).update(max_issue_count=3, total_issued=3)

        response = self.first_chat(alice_client)

        assert response.status_code == 200, response.content
        assert [c["coupon_id"] for c in response.json()["coupons_issued"]] == ["FIRST_ORDER10"]
        assert Coupon.objects.get(pk="WELCOME3000").total_issued == 3

    def test_a_welcome_coupon_already_in_the_wallet_does_not_fail_the_first_chat(self, alice_client):
        user = chat_user_for(alice_client.user)
        give_coupon(user, ensure_system_coupon("WELCOME3000"), acquisition_source=AcquisitionSource.ADMIN_GRANT)

        response = self.first_chat(alice_client)

        assert response.status_code == 200, response.content
        assert [c["coupon_id"] for c in response.json()["coupons_issued"]] == ["FIRST_ORDER10"]
        assert ChatUser.objects.filter(auth_user=alice_client.user).count() == 1
