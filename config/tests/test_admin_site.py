"""The admin index is grouped by what staff do, not by Python app."""

import pytest

pytestmark = pytest.mark.django_db


def index_groups(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    return {app["name"]: [model["object_name"] for model in app["models"]] for app in response.context["app_list"]}


def test_dining_groups_shops_menus_coupons_wallet_users_cards_and_profiles(admin_client):
    assert set(index_groups(admin_client)["식사 도우미"]) == {
        "Shop", "Menu", "Coupon", "UserCouponWallet", "ChatUser", "FoodcardUser", "UserProfile"
    }


def test_dining_logs_knowledge_partners_and_routing_are_their_own_groups(admin_client):
    groups = index_groups(admin_client)

    assert set(groups["식사 도우미 기록"]) == {"Conversation", "RecommendationLog", "PerformanceLog"}
    assert {"Document", "KnowledgeConversation", "KnowledgeMessage"} <= set(groups["지식 베이스"])
    assert {"Partner", "PartnerApiKey", "PartnerChatTuningLog"} <= set(groups["파트너"])
    assert groups["라우팅"] == ["RouteDecisionLog"]


def test_schedules_and_accounts_close_the_index(admin_client):
    names = list(index_groups(admin_client))

    assert names[-2:] == ["스케줄", "계정"]


def test_every_registered_model_appears_exactly_once(admin_client):
    from django.contrib import admin

    listed = [name for models in index_groups(admin_client).values() for name in models]
    assert sorted(listed) == sorted(model.__name__ for model in admin.site._registry)


def test_an_apps_own_index_page_still_lists_that_app(admin_client):
    response = admin_client.get("/admin/chat/")

    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == ["chat"]


def test_a_list_page_is_titled_with_the_models_korean_plural_name(admin_client):
    page = admin_client.get("/admin/chat/conversation/").content.decode()

    assert "<h1>식사 대화</h1>" in page and "<title>식사 대화 |" in page
    assert "를(을)" not in page and "보기위한" not in page
