"""Shared helpers for the SQL|RAG router tests: a few catalogue rows and a snapshot of the database.

`database_state()` captures everything a statement could have changed - row counts and contents of
the allow-listed and personal tables, tables, roles, sequences, large objects and the session's
settings - so a test can assert that nothing did.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from chat.models import ChatUser, Coupon, Menu, Shop

_WATCHED_TABLES = ("shops", "menus", "coupons", "users", "auth_user")
_WATCHED_SETTINGS = (
    "statement_timeout",
    "lock_timeout",
    "transaction_read_only",
    "default_transaction_read_only",
    "search_path",
    "role",
)


@pytest.fixture
def catalogue(db):
    """Three shops in two categories with menus, two coupons and one chat user with personal data."""
    shops = [
        Shop.objects.create(
            shop_name=name, category=category, address_name="서울시 강남구", latitude=Decimal("37.5"),
            longitude=Decimal("127.0"), is_food_card_shop="Y", is_good_influence_shop=good,
        )
        for name, category, good in [("김밥천국", "분식", True), ("한솥", "도시락/죽", False), ("엽떡", "분식", False)]
    ]  # fmt: skip
    for shop, price in zip(shops, [3500, 4500, 14000], strict=True):
        Menu.objects.create(shop=shop, menu_name="대표메뉴", price=price)
    valid_until = dt.date.today() + dt.timedelta(days=30)
    Coupon.objects.create(
        id="WELCOME3000", coupon_name="웰컴 쿠폰", description="첫 주문", coupon_type="FIXED_AMOUNT",
        discount_amount=3000, usage_type="NEW_USER", valid_until=valid_until, total_issued=10, total_used=4,
    )  # fmt: skip
    Coupon.objects.create(
        id="FOODCARD20", coupon_name="급식카드 20%", description="급식카드", coupon_type="PERCENTAGE",
        discount_rate=Decimal("0.20"), usage_type="FOODCARD", valid_until=valid_until, total_issued=5, total_used=5,
    )  # fmt: skip
    ChatUser.objects.create(external_user_id="kid-1", name="홍길동", phone_number="010-1234-5678")
    return shops


def database_state() -> dict:
    state = {}
    with connection.cursor() as cursor:
        for table in _WATCHED_TABLES:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            )
            state[table] = cursor.fetchone()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
        state["tables"] = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname")
        state["roles"] = cursor.fetchall()
        cursor.execute(  # the routing log itself is expected to grow
            "SELECT schemaname, sequencename, last_value FROM pg_sequences"
            " WHERE sequencename <> 'chat_routedecisionlog_id_seq' ORDER BY 1, 2"
        )
        state["sequences"] = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_largeobject_metadata")
        state["large_objects"] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s) ORDER BY name", [list(_WATCHED_SETTINGS)]
        )
        state["settings"] = cursor.fetchall()
        cursor.execute("SELECT current_user, session_user")
        state["user"] = cursor.fetchone()
        cursor.execute(
            "SELECT relname, relacl::text FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relacl IS NOT NULL ORDER BY 1"
        )
        state["grants"] = cursor.fetchall()
    return state


def llm_replies(*, route: dict | None = None, sql: str | None = None):
    """A stub reply function: routing prompts get `route`, SQL-writing prompts get `{"sql": sql}`."""
    import json

    def reply(request: dict) -> str:
        system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
        if '"route"' in system:
            return json.dumps(route if route is not None else {"route": "sql", "reason": "집계 질문"})
        return json.dumps({"sql": sql if sql is not None else "SELECT 1"}, ensure_ascii=False)

    return reply
