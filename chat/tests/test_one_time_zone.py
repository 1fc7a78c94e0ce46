"""One time zone on screen: payloads and titles are in Asia/Seoul (+09:00), never UTC."""

import datetime as dt

import pytest

from analytics.models import ChatStatistics
from chat.models import RouteDecisionLog

pytestmark = pytest.mark.django_db


def test_coupons_issued_in_a_chat_answer_expire_in_seoul_time(alice_client):
    body = alice_client.post("/api/v1/chat", {"message": "안녕"}, format="json").json()

    assert body["coupons_issued"]  # a new user's welcome coupons
    assert all(coupon["expires_at"].endswith("+09:00") for coupon in body["coupons_issued"])


def test_wallet_coupons_expire_in_seoul_time(alice_client):
    assert alice_client.post("/api/v1/chat", {"message": "안녕"}, format="json").status_code == 200

    wallet = alice_client.get("/api/v1/users/me/coupons").json()

    assert wallet["active_coupons"]
    assert all(c["expires_at"].endswith("+09:00") for c in wallet["active_coupons"])


def test_object_titles_use_seoul_time():
    midnight_utc = dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)  # 00:30 the next day in Seoul
    decision = RouteDecisionLog(route="rag", outcome="ok", created_at=midnight_utc)
    stats = ChatStatistics(period="hourly", period_start=midnight_utc, channel="dining", collection_name="x")

    assert "2026-03-02 00:30" in str(decision)
    assert "2026-03-02 00:00" in str(stats)
