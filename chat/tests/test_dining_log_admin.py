"""Dining logs read like a report in admin: tables and labelled fields instead of raw JSON; never deleted here."""

import pytest
from django.urls import reverse

from chat.models import Conversation, PerformanceLog, RecommendationLog
from chat.tests.dining_factories import make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_turn():
    shop = make_shop("건대분식")
    menu = make_menu(shop, "떡볶이", 4000)
    user = make_chat_user()
    conversation = Conversation.objects.create(
        user=user, input_text="5천원으로 점심", response_text="건대분식 떡볶이 어때요?",
        extracted_intent="FOOD_REQUEST",
        extracted_entities={"budget": 5000, "meal_time": "점심", "food_type": None},
    )  # fmt: skip
    log = RecommendationLog.objects.create(
        user=user, conversation=conversation, session_id=conversation.session_id, request_intent="FOOD_REQUEST",
        request_entities={"budget": 5000, "companion_count": 2},
        recommendations=[{
            "shop_id": shop.pk, "shop_name": shop.shop_name, "score": 0.913, "ranking": 1, "distance_meters": 240,
            "reason_codes": ["BUDGET_FIT", "NEARBY"],
            "menus": [{"menu_id": menu.pk, "name": "떡볶이", "price": 4000, "final_price": 3000, "coupon_id": "W1000"}],
        }],
        filtering_steps={"budget": 5000, "food_card_only": True,
                         "radius_steps": [{"radius_m": 1000, "shops_in_box": 7, "closed_shops": 2}]},
        recommendation_count=1, recommendation_method="HYBRID",
    )  # fmt: skip
    return shop, conversation, log


def change_page(admin_client, obj):
    url = reverse(f"admin:chat_{obj._meta.model_name}_change", args=[obj.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_recommendation_log_shows_its_shops_as_a_table_with_linked_shops_and_final_prices(admin_client, logged_turn):
    shop, _, log = logged_turn

    page = change_page(admin_client, log)

    assert 'class="recommended-shops"' in page
    assert reverse("admin:chat_shop_change", args=[shop.pk]) in page
    assert "4000원 → <strong>3000원</strong> (W1000)" in page
    assert "BUDGET_FIT, NEARBY" in page and "240 m" in page and "0.913" in page
    assert '"shop_id"' not in page  # no raw JSON


def test_recommendation_log_shows_filtering_steps_as_a_list_and_entities_as_labelled_fields(admin_client, logged_turn):
    page = change_page(admin_client, logged_turn[2])

    assert 'class="filtering-steps"' in page
    assert "반경 (m) 1000, 범위 안 가게 7, 영업 안 함 2" in page
    assert "<dt>급식카드 가맹점만</dt><dd>예</dd>" in page
    assert "<dt>동행 수</dt><dd>2</dd>" in page


def test_conversation_shows_entities_as_labelled_fields_and_leaves_out_empty_ones(admin_client, logged_turn):
    page = change_page(admin_client, logged_turn[1])

    assert "<dt>예산 (원)</dt><dd>5000</dd>" in page and "<dt>식사 시간</dt><dd>점심</dd>" in page
    assert "<dt>음식</dt>" not in page


def test_conversation_list_shows_the_answer(admin_client, logged_turn):
    response = admin_client.get(reverse("admin:chat_conversation_changelist"))

    assert "건대분식 떡볶이 어때요?" in response.content.decode()


@pytest.mark.parametrize("model", [Conversation, RecommendationLog, PerformanceLog], ids=lambda m: m.__name__)
def test_audit_logs_cannot_be_deleted_from_admin(admin_client, logged_turn, model):
    obj = model.objects.first() or PerformanceLog.objects.create(operation_type="chat_turn", total_time_ms=1)

    response = admin_client.post(reverse(f"admin:chat_{model._meta.model_name}_delete", args=[obj.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(
    "changelist", ["admin:analytics_messagelog_changelist", "admin:chat_routedecisionlog_changelist",
                   "admin:chat_partnerchattuninglog_changelist", "admin:analytics_conversationhistory_changelist"],
)  # fmt: skip
def test_other_audit_logs_offer_no_delete_action(admin_client, changelist):
    response = admin_client.get(reverse(changelist))

    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()
