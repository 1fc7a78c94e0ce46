"""Dining admin (as a superuser): every page renders, the business-hours editor round-trips, actions
work through the services, and shops can be imported from an upload."""

import datetime as dt
import io

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from chat.admin_dining import ShopAdminForm
from chat.models import (
    ChatUser,
    Conversation,
    Coupon,
    FoodcardUser,
    Menu,
    PerformanceLog,
    RecommendationLog,
    Shop,
    ShopStatus,
    UserCouponWallet,
    UserProfile,
    WalletStatus,
)
from chat.tests.dining_factories import (
    LUNCH_WITH_BREAK,
    give_coupon,
    make_card,
    make_chat_user,
    make_coupon,
    make_menu,
    make_shop,
)

pytestmark = pytest.mark.django_db

DINING_MODELS = [Shop, Menu, ChatUser, FoodcardUser, UserProfile, Coupon, UserCouponWallet, Conversation,
                 RecommendationLog, PerformanceLog]  # fmt: skip


@pytest.fixture
def admin_client(client, django_user_model):
    """A logged-in superuser (no password: hashing one costs more than the test)."""
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", password=None)
    client.force_login(user)
    return client


@pytest.fixture
def dining_rows():
    """One row of every dining table."""
    shop = make_shop("건대분식", hours=LUNCH_WITH_BREAK)
    menu = make_menu(shop, "떡볶이", 4000)
    user = make_chat_user()
    card = make_card(user, balance=3000)
    coupon = make_coupon("ADMIN1000")
    wallet = give_coupon(user, coupon)
    conversation = Conversation.objects.create(
        user=user, input_text="5천원으로 점심", response_text="건대분식 떡볶이 어때요?",
        extracted_intent="FOOD_REQUEST", intent_confidence="0.900", user_strategy="NORMAL",
    )  # fmt: skip
    log = RecommendationLog.objects.create(
        user=user, conversation=conversation, session_id=conversation.session_id, request_intent="FOOD_REQUEST",
        recommendations=[{"shop_id": shop.pk, "shop_name": shop.shop_name, "score": 0.9, "ranking": 1}],
        recommendation_count=1, recommendation_method="HYBRID",
    )  # fmt: skip
    perf = PerformanceLog.objects.create(operation_type="chat_turn", conversation=conversation, total_time_ms=12)
    return {
        Shop: shop, Menu: menu, ChatUser: user, FoodcardUser: card, UserProfile: user.profile, Coupon: coupon,
        UserCouponWallet: wallet, Conversation: conversation, RecommendationLog: log, PerformanceLog: perf,
    }  # fmt: skip


def _url(model, view, *args):
    return reverse(f"admin:chat_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", DINING_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_form_render(admin_client, dining_rows, model):
    changelist = admin_client.get(_url(model, "changelist"))
    change = admin_client.get(_url(model, "change", dining_rows[model].pk))

    assert model in admin.site._registry
    assert changelist.status_code == 200 and len(changelist.context["cl"].result_list) == 1
    assert change.status_code == 200


@pytest.mark.parametrize("model", [Conversation, RecommendationLog, PerformanceLog], ids=lambda m: m.__name__)
def test_logs_are_read_only(admin_client, dining_rows, model):
    response = admin_client.get(_url(model, "change", dining_rows[model].pk))

    assert response.context["has_change_permission"] is False
    assert admin_client.get(_url(model, "add")).status_code == 403


@pytest.mark.parametrize(
    "query",
    ["intent=FOOD_REQUEST", "user_strategy__exact=NORMAL", "timestamp__year={year}", "chat_user={user}"],
)
def test_conversations_filter_by_intent_strategy_date_and_user(admin_client, dining_rows, query):
    other = Conversation.objects.create(input_text="안녕", response_text="안녕하세요", extracted_intent="GENERAL_CHAT",
                                        timestamp=timezone.now() - dt.timedelta(days=365 * 30))  # fmt: skip

    query = query.format(user=dining_rows[ChatUser].pk, year=timezone.localdate().year)

    response = admin_client.get(_url(Conversation, "changelist") + "?" + query)

    results = list(response.context["cl"].result_list)
    assert results == [dining_rows[Conversation]] and other not in results


@pytest.mark.parametrize("query", ["intent=FOOD_REQUEST", "strategy=NORMAL", "recommendation_method__exact=HYBRID",
                                   "chat_user={external}"])  # fmt: skip
def test_recommendation_logs_filter_by_intent_strategy_method_and_user(admin_client, dining_rows, query):
    RecommendationLog.objects.create(session_id=dining_rows[Conversation].session_id, request_intent="GENERAL_CHAT",
                                     recommendation_count=0, recommendation_method="FALLBACK")  # fmt: skip
    external = dining_rows[ChatUser].external_user_id

    response = admin_client.get(_url(RecommendationLog, "changelist") + "?" + query.format(external=external))

    assert list(response.context["cl"].result_list) == [dining_rows[RecommendationLog]]


def test_coupon_changelist_shows_issued_and_used_counts(admin_client, dining_rows):
    coupon = dining_rows[Coupon]
    for _ in range(2):
        give_coupon(make_chat_user(), coupon, status=WalletStatus.USED, used_at=timezone.now())

    response = admin_client.get(_url(Coupon, "changelist"))

    row = response.context["cl"].result_list[0]
    assert (row.wallet_issued, row.wallet_used) == (3, 2)


def test_a_coupon_with_both_an_amount_and_a_rate_is_refused_in_korean(admin_client):
    response = admin_client.post(_url(Coupon, "add"), {
        "id": "BOTH1000", "coupon_name": "둘 다", "description": "금액과 할인율", "coupon_type": "FIXED_AMOUNT",
        "discount_amount": 1000, "discount_rate": "0.10", "min_order_amount": 0, "usage_type": "ALL",
        "valid_from": "2026-12-01", "valid_until": "2026-12-31", "max_use_per_user": 1, "priority_score": "0.50",
        "total_issued": 0, "total_used": 0, "is_active": "on",
    })  # fmt: skip

    assert response.status_code == 200 and not Coupon.objects.filter(pk="BOTH1000").exists()
    assert "할인 금액과 할인율 중 정확히 하나만 입력하세요." in response.content.decode()


# --- business hours editor -------------------------------------------------------------------


def _form_data(shop, **overrides):
    data = {field: getattr(shop, field) for field in ["shop_name", "category", "is_food_card_shop", "data_source",
                                                      "address_name", "latitude", "longitude"]}  # fmt: skip
    return {**data, **overrides}


def test_business_hours_form_shows_stored_hours_per_day():
    shop = make_shop(hours={**LUNCH_WITH_BREAK, "sunday": {"closed": True}})

    form = ShopAdminForm(instance=shop)

    assert form["monday_open"].value() == "11:00" and form["monday_break_end"].value() == "17:00"
    assert form["sunday_closed"].value() is True


def test_business_hours_form_round_trips_the_json():
    hours = {
        "monday": {"open": "09:00", "close": "22:00", "break_start": "15:00", "break_end": "17:00"},
        "friday": {"open": "18:00", "close": "02:00"},
        "sunday": {"closed": True},
        "holiday": {"closed": True},
        "closed_dates": ["2026-09-25"],
    }
    shop = make_shop(hours=hours)
    unbound = ShopAdminForm(instance=shop)
    data = {name: unbound[name].value() for name in unbound.fields}
    data = {key: value for key, value in data.items() if value not in (None, False)}

    form = ShopAdminForm(data=data, instance=shop)
    assert form.is_valid(), form.errors
    form.save()

    shop.refresh_from_db()
    assert shop.business_hours == hours


def test_business_hours_form_rejects_a_break_outside_opening_hours():
    shop = make_shop()
    data = _form_data(shop, monday_open="09:00", monday_close="20:00", monday_break_start="21:00",
                      monday_break_end="22:00")  # fmt: skip

    form = ShopAdminForm(data=data, instance=shop)

    assert not form.is_valid()
    assert form.errors["monday_break_start"] == ["monday: 휴게 시간은 영업시간 안에 있어야 합니다"]


def test_business_hours_form_normalises_times_and_rejects_garbage():
    shop = make_shop()
    good = ShopAdminForm(data=_form_data(shop, tuesday_open="9:00", tuesday_close="2100"), instance=shop)
    bad = ShopAdminForm(data=_form_data(shop, tuesday_open="nine", tuesday_close="21:00"), instance=shop)

    assert good.is_valid(), good.errors
    assert good.instance.business_hours == {"tuesday": {"open": "09:00", "close": "21:00"}}
    assert "tuesday_open" in bad.errors


def test_saving_the_shop_page_writes_business_hours(admin_client):
    shop = make_shop(hours=None)
    data = _form_data(shop, wednesday_open="10:00", wednesday_close="20:00", **{
        "menus-TOTAL_FORMS": "0", "menus-INITIAL_FORMS": "0", "_save": "Save"})  # fmt: skip

    response = admin_client.post(_url(Shop, "change", shop.pk), data)

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.business_hours == {"wednesday": {"open": "10:00", "close": "20:00"}}


# --- actions ---------------------------------------------------------------------------------


def test_mark_closed_action_closes_shops_for_today(admin_client):
    from chat.services.business_hours import refresh_shop_status, seoul_now
    from chat.tests.dining_factories import ALWAYS_OPEN

    shop, untouched = make_shop(hours=ALWAYS_OPEN), make_shop(hours=ALWAYS_OPEN)
    refresh_shop_status()

    admin_client.post(_url(Shop, "changelist"), {"action": "mark_closed_today", "_selected_action": [shop.pk]})
    refresh_shop_status()  # the every-minute job must not reopen it today

    shop.refresh_from_db(), untouched.refresh_from_db()
    assert shop.current_status == ShopStatus.CLOSED
    assert shop.business_hours["closed_dates"] == [seoul_now().date().isoformat()]
    assert untouched.current_status == ShopStatus.OPEN


def test_recompute_popularity_action_sets_scores_from_recent_activity(admin_client, dining_rows):
    shop = dining_rows[Shop]
    quiet = make_shop(popularity="0.900")

    admin_client.post(_url(Shop, "changelist"), {"action": "recompute_popularity",
                                                 "_selected_action": [shop.pk, quiet.pk]})  # fmt: skip

    shop.refresh_from_db(), quiet.refresh_from_db()
    assert (shop.popularity_score, quiet.popularity_score) == (1, 0)


def test_issue_coupon_action_asks_for_the_coupon_then_issues_it(admin_client):
    users = [make_chat_user() for _ in range(3)]
    coupon = make_coupon("GIFT2000", discount_amount=2000)
    selected = {"action": "issue_coupon", "_selected_action": [user.pk for user in users]}

    page = admin_client.post(_url(ChatUser, "changelist"), selected)
    issued_before_confirming = UserCouponWallet.objects.filter(coupon=coupon).count()
    done = admin_client.post(_url(ChatUser, "changelist"), {**selected, "apply": "1", "coupon": coupon.pk})

    assert page.status_code == 200 and "쿠폰 발급" in page.content.decode()
    assert issued_before_confirming == 0
    assert done.status_code == 302
    entries = UserCouponWallet.objects.filter(coupon=coupon)
    assert entries.count() == 3
    assert set(entries.values_list("acquisition_source", "issued_by")) == {("ADMIN_GRANT", "admin")}
    coupon.refresh_from_db()
    assert coupon.total_issued == 3


def test_issue_coupon_action_skips_users_who_already_hold_it(admin_client):
    holder, newcomer = make_chat_user(), make_chat_user()
    coupon = make_coupon("GIFT1000")
    admin_client.post(_url(ChatUser, "changelist"), {"action": "issue_coupon", "_selected_action": [holder.pk],
                                                     "apply": "1", "coupon": coupon.pk})  # fmt: skip

    response = admin_client.post(_url(ChatUser, "changelist"), {
        "action": "issue_coupon", "_selected_action": [holder.pk, newcomer.pk], "apply": "1", "coupon": coupon.pk,
    }, follow=True)  # fmt: skip

    assert UserCouponWallet.objects.filter(coupon=coupon).count() == 2
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("success", "쿠폰 GIFT1000: 1명에게 발급했습니다.") in messages
    assert [m for m in messages if m[1].startswith("건너뜀")] == [
        ("warning", f"건너뜀 1명 (이미 지갑에 있는 쿠폰입니다.): {holder.external_user_id}")
    ]


def test_issue_coupon_run_that_issues_nothing_is_a_warning_not_a_success(admin_client):
    holder = make_chat_user()
    coupon = make_coupon("GIFT1500")
    form = {"action": "issue_coupon", "_selected_action": [holder.pk], "apply": "1", "coupon": coupon.pk}
    admin_client.post(_url(ChatUser, "changelist"), form, follow=True)  # the first grant, its message read

    response = admin_client.post(_url(ChatUser, "changelist"), form, follow=True)

    levels = {m.level_tag for m in response.context["messages"]}
    assert levels == {"warning"}


def test_cancel_action_cancels_only_active_wallet_coupons(admin_client, dining_rows):
    wallet = dining_rows[UserCouponWallet]

    admin_client.post(_url(UserCouponWallet, "changelist"), {"action": "cancel_coupons",
                                                             "_selected_action": [wallet.pk]})  # fmt: skip

    wallet.refresh_from_db()
    assert wallet.status == WalletStatus.CANCELLED


# --- import page -----------------------------------------------------------------------------


def test_shop_changelist_links_to_the_import_page(admin_client):
    response = admin_client.get(_url(Shop, "changelist"))

    assert reverse("admin:chat_shop_import") in response.content.decode()
    assert admin_client.get(reverse("admin:chat_shop_import")).status_code == 200


def test_import_page_imports_good_rows_and_lists_bad_ones(admin_client):
    csv_text = (
        "shop_name,category,address_name,latitude,longitude,monday_open,monday_close\n"
        "새가게,한식,서울 광진구 1,37.54,127.07,09:00,21:00\n"
        "이상한가게,라멘,서울 광진구 2,37.54,127.07,,\n"
    )
    upload = io.BytesIO(csv_text.encode())
    upload.name = "shops.csv"

    response = admin_client.post(reverse("admin:chat_shop_import"), {"shops_file": upload})

    assert response.status_code == 200
    assert Shop.objects.filter(shop_name="새가게").exists()
    report = response.context["report"]
    assert [(e.row, e.column) for e in report.errors] == [(3, "category")]
    assert "import-errors" in response.content.decode()


def test_import_page_refuses_other_file_types(admin_client):
    upload = io.BytesIO(b"{}")
    upload.name = "shops.json"

    response = admin_client.post(reverse("admin:chat_shop_import"), {"shops_file": upload})

    assert response.context["form"].errors["shops_file"]
    assert response.context["report"] is None


# --- big log tables --------------------------------------------------------------------------


def test_log_paginator_estimates_unfiltered_counts_and_counts_filtered_lists(dining_rows, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from config.admin_tools import LargeTablePaginator

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations")
    monkeypatch.setattr(LargeTablePaginator, "ESTIMATE_ABOVE", 0)

    with CaptureQueriesContext(connection) as unfiltered:
        estimated = LargeTablePaginator(Conversation.objects.all(), 100).count
    with CaptureQueriesContext(connection) as filtered:
        exact = LargeTablePaginator(Conversation.objects.filter(extracted_intent="FOOD_REQUEST"), 100).count

    assert estimated == exact == 1
    assert "COUNT(" not in unfiltered[-1]["sql"].upper() and "pg_class" in unfiltered[-1]["sql"]
    assert "COUNT(" in filtered[-1]["sql"].upper()
