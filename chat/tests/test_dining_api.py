"""HTTP API of the dining assistant: shapes, access rules and 4xx answers in the project format."""

import pytest

from chat.models import ChatUser, UserCouponWallet, UserProfile
from chat.services.profiles import chat_user_for
from chat.tests.dining_factories import KONDAE, give_coupon, make_card, make_coupon, make_menu, make_shop

pytestmark = pytest.mark.django_db

HERE = {"latitude": KONDAE.latitude, "longitude": KONDAE.longitude}


@pytest.fixture
def kimbap():
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 3500)
    return shop


def error_code(response):
    return response.json()["error"]["code"]


def chat(client, **body):
    return client.post("/api/v1/chat", {"message": "5천원으로 점심 뭐 먹지?", "location": HERE, **body}, format="json")


class TestChat:
    def test_chat_returns_response_recommendations_and_session_info(self, alice_client, kimbap):
        response = chat(alice_client)

        assert response.status_code == 200
        body = response.json()
        assert "김밥천국" in body["response"]
        recommendation = body["recommendations"][0]
        assert {"shop_id", "shop_name", "menus", "applicable_coupons", "distance", "estimated_time"} <= set(
            recommendation
        )
        assert {"menu_id", "menu_name", "price", "final_price"} <= set(recommendation["menus"][0])
        info = body["session_info"]
        assert info["conversation_turn"] == 1
        assert info["entities"]["budget"] == 5000
        assert 0 <= info["confidence"] <= 1 and info["intent"]

    def test_first_chat_creates_the_callers_chat_user(self, alice_client, kimbap):
        chat(alice_client)
        assert ChatUser.objects.get(auth_user=alice_client.user).external_user_id == f"django:{alice_client.user.pk}"

    def test_anonymous_is_refused(self, api_client):
        assert chat(api_client).status_code == 401

    def test_partner_keys_are_refused(self, partner_client):
        response = chat(partner_client)
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"

    @pytest.mark.parametrize(
        "body",
        [
            {"message": ""},
            {"message": "   "},
            {"message": "가" * 2001},
            {"location": {"latitude": 91, "longitude": 127}},
            {"location": {"latitude": 37.5, "longitude": "east"}},
            {"location": {"latitude": 37.5}},
            {"session_id": "not-a-uuid"},
            {"context": {"companion_count": 0}},
        ],
    )
    def test_bad_input_is_a_400_in_the_project_format(self, alice_client, body):
        response = chat(alice_client, **body)
        assert response.status_code == 400
        assert error_code(response) == "invalid"
        assert response.json()["error"]["message"]

    def test_missing_message_is_a_400(self, alice_client):
        response = alice_client.post("/api/v1/chat", {"location": HERE}, format="json")
        assert (response.status_code, error_code(response)) == (400, "invalid")

    def test_a_2000_character_message_is_accepted(self, alice_client):
        assert chat(alice_client, message="배고파 " * 500).status_code == 200

    def test_another_users_session_is_forbidden(self, alice_client, bob_client, kimbap):
        session_id = chat(alice_client).json()["session_info"]["session_id"]
        response = chat(bob_client, session_id=session_id)
        assert (response.status_code, error_code(response)) == (403, "session_forbidden")


class TestProfile:
    def test_read_own_profile_by_id_and_me(self, alice_client):
        user = chat_user_for(alice_client.user)
        UserProfile.objects.create(user=user, preferred_categories=["분식"], average_budget=6000)

        by_id = alice_client.get(f"/api/v1/users/{user.pk}/profile")
        by_me = alice_client.get("/api/v1/users/me/profile")

        assert by_id.status_code == by_me.status_code == 200
        assert by_id.json() == by_me.json()
        assert by_id.json()["preferences"]["categories"] == ["분식"]
        assert by_id.json()["preferences"]["budget_range"] == {"min": 6000, "max": 6000}

    def test_someone_elses_profile_is_forbidden(self, alice_client, bob_client):
        bob = chat_user_for(bob_client.user)
        response = alice_client.get(f"/api/v1/users/{bob.pk}/profile")
        assert (response.status_code, error_code(response)) == (403, "permission_denied")

    def test_staff_may_read_any_profile(self, staff_client, bob_client):
        bob = chat_user_for(bob_client.user)
        assert staff_client.get(f"/api/v1/users/{bob.pk}/profile").status_code == 200

    def test_unknown_user_is_404(self, alice_client):
        assert alice_client.get("/api/v1/users/999999/profile").status_code == 404
        assert alice_client.get("/api/v1/users/abc/profile").status_code == 404

    def test_put_preferences_updates_the_profile(self, alice_client):
        response = alice_client.put(
            "/api/v1/users/me/preferences",
            {"categories": ["한식", "분식"], "budget": 7000, "dietary_restrictions": ["채식"]},
            format="json",
        )

        assert response.status_code == 200
        profile = UserProfile.objects.get(user__auth_user=alice_client.user)
        assert (profile.preferred_categories, profile.average_budget) == (["한식", "분식"], 7000)
        assert profile.dietary_restrictions == ["채식"]
        assert response.json()["preferences"]["categories"] == ["한식", "분식"]

    @pytest.mark.parametrize(
        "body", [{"categories": ["라면집"]}, {"budget": -1}, {}, {"good_influence_preference": "1.5"}]
    )
    def test_bad_preferences_are_a_400(self, alice_client, body):
        response = alice_client.put("/api/v1/users/me/preferences", body, format="json")
        assert (response.status_code, error_code(response)) == (400, "invalid")

    def test_even_staff_cannot_change_someone_elses_preferences(self, staff_client, bob_client):
        bob = chat_user_for(bob_client.user)
        response = staff_client.put(f"/api/v1/users/{bob.pk}/preferences", {"budget": 1}, format="json")
        assert response.status_code == 403


class TestCoupons:
    def test_wallet_is_grouped_into_active_expired_and_used(self, alice_client):
        user = chat_user_for(alice_client.user)
        shop = make_shop()
        give_coupon(user, make_coupon("ACTIVE1"))
        give_coupon(user, make_coupon("USED1"), status="USED", used_at=shop.created_at)
        give_coupon(user, make_coupon("EXPIRED1"), status="EXPIRED")

        body = alice_client.get("/api/v1/users/me/coupons").json()

        assert [c["coupon_id"] for c in body["active_coupons"]] == ["ACTIVE1"]
        assert [c["coupon_id"] for c in body["used_coupons"]] == ["USED1"]
        assert [c["coupon_id"] for c in body["expired_coupons"]] == ["EXPIRED1"]
        assert {"name", "discount_amount", "discount_rate", "expires_at", "applicable_shops"} <= set(
            body["active_coupons"][0]
        )

    def test_wallet_can_be_filtered(self, alice_client):
        user = chat_user_for(alice_client.user)
        give_coupon(user, make_coupon("FIX"))
        give_coupon(user, make_coupon("RATE", discount_rate="0.10"))

        body = alice_client.get("/api/v1/users/me/coupons?coupon_type=PERCENTAGE&state=active").json()

        assert [c["coupon_id"] for c in body["active_coupons"]] == ["RATE"]

    def test_bad_filter_value_is_a_400(self, alice_client):
        response = alice_client.get("/api/v1/users/me/coupons?state=lost")
        assert (response.status_code, error_code(response)) == (400, "invalid")

    def test_someone_elses_wallet_is_forbidden(self, alice_client, bob_client):
        bob = chat_user_for(bob_client.user)
        assert alice_client.get(f"/api/v1/users/{bob.pk}/coupons").status_code == 403

    def test_apply_debits_the_card(self, alice_client):
        user = chat_user_for(alice_client.user)
        make_card(user, balance=10000)
        shop = make_shop()
        give_coupon(user, make_coupon("OFF1000"))

        response = alice_client.post(
            "/api/v1/coupons/apply", {"coupon_id": "OFF1000", "shop_id": shop.pk, "order_amount": 5000}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["amount_charged"] == 4000
        assert response.json()["balance_after"] == 6000
        assert UserCouponWallet.objects.get(user=user).status == "USED"

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            ({"coupon_id": "NOPE", "order_amount": 5000}, 404, "coupon_not_found"),
            ({"coupon_id": "OFF1000", "order_amount": -5}, 400, "invalid"),
            ({"coupon_id": "OFF1000", "order_amount": 0}, 400, "invalid"),
            ({"coupon_id": "OFF1000"}, 400, "invalid"),
            ({"coupon_id": "OFF1000", "order_amount": 5000, "shop_id": 999999}, 404, "shop_not_found"),
        ],
    )
    def test_apply_bad_input(self, alice_client, body, status, code):
        user = chat_user_for(alice_client.user)
        give_coupon(user, make_coupon("OFF1000"))
        payload = {"shop_id": make_shop().pk, **body}

        response = alice_client.post("/api/v1/coupons/apply", payload, format="json")

        assert (response.status_code, error_code(response)) == (status, code)

    def test_apply_for_someone_else_is_forbidden(self, alice_client, bob_client):
        bob = chat_user_for(bob_client.user)
        give_coupon(bob, make_coupon("BOBS"))

        response = alice_client.post(
            "/api/v1/coupons/apply",
            {"user_id": bob.pk, "coupon_id": "BOBS", "shop_id": make_shop().pk, "order_amount": 5000},
            format="json",
        )

        assert response.status_code == 403
        assert UserCouponWallet.objects.get(user=bob).status == "ACTIVE"


class TestSelection:
    def recommendation(self, client):
        return chat(client).json()["session_info"]["recommendation_id"]

    def test_selection_records_choice_menu_and_time(self, alice_client, kimbap):
        recommendation_id = self.recommendation(alice_client)
        menu_id = kimbap.menus.get().pk

        response = alice_client.post(
            f"/api/v1/recommendations/{recommendation_id}/selection",
            {"shop_id": kimbap.pk, "menu_id": menu_id, "time_to_decision_ms": 4200, "rating": 5},
            format="json",
        )

        assert response.status_code == 200
        assert response.json() == {
            **response.json(),
            "user_final_selection": kimbap.pk,
            "selected_menu_id": menu_id,
            "time_to_decision_ms": 4200,
            "feedback_rating": 5,
        }
        profile = UserProfile.objects.get(user__auth_user=alice_client.user)
        assert kimbap.pk in profile.favorite_shops

    def test_rating_can_follow_the_choice(self, alice_client, kimbap):
        recommendation_id = self.recommendation(alice_client)
        url = f"/api/v1/recommendations/{recommendation_id}/selection"
        alice_client.post(url, {"shop_id": kimbap.pk}, format="json")

        response = alice_client.post(url, {"rating": 3}, format="json")

        assert response.json()["feedback_rating"] == 3

    def test_choice_is_recorded_once(self, alice_client, kimbap):
        url = f"/api/v1/recommendations/{self.recommendation(alice_client)}/selection"
        alice_client.post(url, {"shop_id": kimbap.pk}, format="json")

        response = alice_client.post(url, {"shop_id": kimbap.pk}, format="json")

        assert (response.status_code, error_code(response)) == (409, "already_selected")

    def test_a_shop_that_was_not_recommended_is_refused(self, alice_client, kimbap):
        url = f"/api/v1/recommendations/{self.recommendation(alice_client)}/selection"
        response = alice_client.post(url, {"shop_id": make_shop().pk}, format="json")
        assert (response.status_code, error_code(response)) == (422, "not_recommended")

    @pytest.mark.parametrize("body", [{}, {"rating": 6}, {"shop_id": 1, "time_to_decision_ms": -1}, {"menu_id": 1}])
    def test_bad_selection_is_a_400(self, alice_client, kimbap, body):
        url = f"/api/v1/recommendations/{self.recommendation(alice_client)}/selection"
        assert alice_client.post(url, body, format="json").status_code == 400

    def test_someone_elses_recommendation_is_forbidden(self, alice_client, bob_client, kimbap):
        url = f"/api/v1/recommendations/{self.recommendation(alice_client)}/selection"
        assert bob_client.post(url, {"shop_id": kimbap.pk}, format="json").status_code == 403

    def test_unknown_recommendation_is_404(self, alice_client):
        response = alice_client.post("/api/v1/recommendations/999999/selection", {"rating": 4}, format="json")
        assert response.status_code == 404
