"""handle_turn end to end: scenarios of seed 003 §5.3 and what every turn writes."""

import uuid

import pytest

from chat.models import (
    AcquisitionSource,
    Conversation,
    PerformanceLog,
    RecommendationLog,
    UserCouponWallet,
    UserProfile,
)
from chat.services import dining_chat
from chat.services.coupons import WELCOME_COUPON_IDS
from chat.services.dining_chat import handle_turn
from chat.tests.dining_factories import CLOSED_ALL_WEEK, KONDAE, make_card, make_chat_user, make_menu, make_shop
from config.api.exceptions import ApiError

pytestmark = pytest.mark.django_db

HERE = {"latitude": KONDAE.latitude, "longitude": KONDAE.longitude}


@pytest.fixture
def turn(django_capture_on_commit_callbacks):
    """Run a chat turn the way production does: on-commit work (cache invalidation) happens."""

    def run(user, message, session_id=None, location=HERE, context=None):
        with django_capture_on_commit_callbacks(execute=True):
            return handle_turn(
                chat_user=user, message=message, session_id=session_id, location=location, context=context
            )

    return run


def complete_profile(**fields):
    """A returning user whose profile is already filled in (NORMAL strategy)."""
    return make_chat_user(data_completeness="0.80", preferred_categories=["분식"], average_budget=6000, **fields)


@pytest.fixture
def kimbap():
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 3500)
    make_menu(shop, "돈까스", 6000)
    return shop


def test_answer_names_shop_menu_and_price_within_budget(kimbap, turn):
    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    assert "김밥천국" in body["response"]
    assert "참치김밥 3,500원" in body["response"]
    assert "돈까스" not in body["response"]
    assert body["recommendations"][0]["shop_id"] == kimbap.pk
    assert all(menu["final_price"] <= 5000 for rec in body["recommendations"] for menu in rec["menus"])
    assert body["session_info"]["entities"]["budget"] == 5000


def test_closed_shop_is_never_named_in_the_answer(kimbap, turn):
    closed = make_shop("문닫은분식", category="분식", north_m=50, hours=CLOSED_ALL_WEEK, popularity="1.000")
    make_menu(closed, "라면", 3000)

    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    assert "문닫은분식" not in body["response"]
    assert closed.pk not in [rec["shop_id"] for rec in body["recommendations"]]


def test_widened_radius_is_said_in_the_answer(turn):
    far = make_shop("멀리김밥", category="분식", north_m=1600)
    make_menu(far, "김밥", 3000)

    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    assert "1km 안에는 조건에 맞는 곳이 없어서 2km까지 넓혀서 찾아봤어요" in body["response"]
    assert body["search"]["radius_widened"] is True


def test_nothing_found_is_said_honestly(turn):
    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    assert body["recommendations"] == []
    assert "찾지 못했어요" in body["response"]


def test_low_balance_grants_an_emergency_coupon_once_and_says_so(kimbap, turn):
    user = complete_profile()
    make_card(user, balance=1000, threshold=5000)

    first = turn(user, "배고파 5천원으로 뭐 먹지?")
    second = turn(user, "배고파 5천원으로 뭐 먹지?")

    assert "긴급 식사 쿠폰" in first["response"]
    assert [c["coupon_id"] for c in first["coupons_issued"]] == ["EMERGENCY_FOOD_AID"]
    assert second["coupons_issued"] == []
    assert "긴급 식사 쿠폰(" not in second["response"]
    emergency = UserCouponWallet.objects.filter(user=user, acquisition_source=AcquisitionSource.EMERGENCY_ASSIST)
    assert emergency.count() == 1


def test_budget_is_capped_by_the_meal_card_balance(kimbap, turn):
    user = complete_profile()
    make_card(user, balance=6000, threshold=1000)

    body = turn(user, "만원으로 뭐 먹지?")

    assert body["search"]["budget"] == 6000
    assert "급식카드 잔액(6,000원)에 맞춰" in body["response"]


def test_new_user_gets_onboarding_profile_and_welcome_coupons_once(kimbap, turn):
    user = make_chat_user(profile=False)

    first = turn(user, "안녕")
    second = turn(user, "5천원으로 뭐 먹지?", session_id=first["session_info"]["session_id"])

    assert first["session_info"]["strategy"] == "ONBOARDING"
    assert "어떤 음식을 좋아하세요?" in first["response"]
    assert sorted(c["coupon_id"] for c in first["coupons_issued"]) == sorted(WELCOME_COUPON_IDS)
    assert UserProfile.objects.filter(user=user).exists()
    assert second["session_info"]["strategy"] != "ONBOARDING"
    assert second["coupons_issued"] == []
    welcome = UserCouponWallet.objects.filter(user=user, acquisition_source=AcquisitionSource.WELCOME_BONUS)
    assert welcome.count() == len(WELCOME_COUPON_IDS)


def test_group_budget_is_split_per_person_and_the_answer_counts_people(turn):
    shop = make_shop("한솥", category="한식", north_m=100)
    for name, price in (("제육", 5000), ("불고기", 4500), ("비빔밥", 4000)):
        make_menu(shop, name, price)
    make_menu(make_shop("비싼집", category="한식", north_m=100), "정식", 9000)

    body = turn(complete_profile(), "친구 3명이랑 4명이서 2만원으로 저녁 먹을 곳", context={"companion_count": 4})

    assert body["search"]["group_size"] == 4
    assert body["search"]["budget"] == 5000
    assert "4명이서 1인당 5천원" in body["response"]
    assert [rec["shop_name"] for rec in body["recommendations"]] == ["한솥"]


def test_every_turn_logs_conversation_recommendation_and_timings(kimbap, turn):
    user = complete_profile()

    body = turn(user, "5천원으로 점심 뭐 먹지?")

    conversation = Conversation.objects.get(user=user)
    assert conversation.input_text == "5천원으로 점심 뭐 먹지?"
    assert conversation.response_text == body["response"]
    assert conversation.extracted_intent == body["session_info"]["intent"]
    assert conversation.recommended_shop_ids == [kimbap.pk]
    assert conversation.processing_time_ms >= conversation.nlu_time_ms >= 0
    assert conversation.rag_time_ms is not None and conversation.response_time_ms is not None
    log = RecommendationLog.objects.get(pk=body["session_info"]["recommendation_id"])
    assert log.conversation_id == conversation.pk
    assert log.recommendations[0]["shop_id"] == kimbap.pk
    assert log.recommendation_count == 1
    assert PerformanceLog.objects.filter(conversation=conversation, operation_type="dining_chat_turn").exists()
    kimbap.refresh_from_db()
    assert kimbap.recommendation_count == 1
    assert sorted(kimbap.menus.values_list("recommendation_frequency", flat=True)) == [0, 1]  # 돈까스 over budget


def test_turns_in_a_session_are_numbered_and_previous_intent_kept(kimbap, turn):
    user = complete_profile()
    first = turn(user, "5천원으로 점심 뭐 먹지?")
    session_id = first["session_info"]["session_id"]

    second = turn(user, "그럼 8천원이면?", session_id=session_id)

    assert second["session_info"]["conversation_turn"] == 2
    latest = Conversation.objects.filter(session_id=session_id).order_by("-conversation_turn").first()
    assert latest.previous_intent == first["session_info"]["intent"]


def test_someone_elses_session_is_refused(kimbap, turn):
    first = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    with pytest.raises(ApiError) as excinfo:
        turn(complete_profile(), "나도", session_id=first["session_info"]["session_id"])

    assert excinfo.value.status_code == 403


def test_unknown_session_id_starts_that_session(kimbap, turn):
    session_id = str(uuid.uuid4())
    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?", session_id=session_id)
    assert (body["session_info"]["session_id"], body["session_info"]["conversation_turn"]) == (session_id, 1)


def test_balance_check_reports_the_card_balance(turn):
    user = complete_profile()
    make_card(user, balance=12000)

    body = turn(user, "급식카드 잔액 얼마 남았어?")

    assert body["session_info"]["intent"] == "BALANCE_CHECK"
    assert "12,000원" in body["response"]


def test_a_failing_message_log_does_not_fail_the_chat(kimbap, monkeypatch, turn):
    def broken(**kwargs):
        raise RuntimeError("analytics down")

    monkeypatch.setattr(dining_chat, "record_exchange", broken)

    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")

    assert "김밥천국" in body["response"]
    assert Conversation.objects.count() == 1


def test_the_turn_is_written_to_the_analytics_message_log(kimbap, turn):
    from analytics.models import MessageLog
    from analytics.services.message_logs import flush_log_outbox

    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")
    flush_log_outbox()

    assert MessageLog.objects.filter(session_id=body["session_info"]["session_id"]).count() == 2


def test_the_profile_learns_the_asked_category_and_budget(turn):
    user = make_chat_user(average_budget=10000)

    turn(user, "5천원으로 치킨 먹고 싶어")

    profile = UserProfile.objects.get(user=user)
    assert "치킨" in profile.preferred_categories
    assert profile.average_budget == 8500  # 0.7 x 10000 + 0.3 x 5000
    assert profile.interaction_count == 1


def test_a_failing_turn_log_write_does_not_fail_the_chat(kimbap, monkeypatch, turn):
    from decimal import Decimal

    monkeypatch.setattr(dining_chat, "_score", lambda value: Decimal("5"))  # violates the 0..1 CHECKs

    user = complete_profile()

    body = turn(user, "5천원으로 점심 뭐 먹지?")

    assert "김밥천국" in body["response"]
    assert body["session_info"]["recommendation_id"] is None
    assert Conversation.objects.count() == 0
    assert UserProfile.objects.get(user=user).average_budget == 5500  # the rest of the turn still ran


def test_a_turn_with_nothing_to_learn_still_counts_one_interaction(turn):
    user = complete_profile()

    turn(user, "쿠폰 뭐 있어?")

    assert UserProfile.objects.get(user=user).interaction_count == 1


def test_coupon_inquiry_lists_the_usable_wallet_coupons(turn):
    from chat.tests.dining_factories import give_coupon, make_coupon

    user = complete_profile()
    give_coupon(user, make_coupon("LUNCH2000", coupon_name="점심 2천원 할인", discount_amount=2000))

    body = turn(user, "쿠폰 뭐 있어?")

    assert body["session_info"]["intent"] == "COUPON_INQUIRY"
    assert "점심 2천원 할인 (2,000원 할인" in body["response"]


def test_a_turn_whose_turn_log_write_fails_still_reaches_the_message_log(kimbap, turn):
    from django.db import connection

    from analytics.models import MessageLog
    from analytics.services.message_logs import flush_log_outbox

    with connection.cursor() as cursor:  # the database refuses the turn log (rolled back with the test)
        cursor.execute("CREATE FUNCTION refuse_turn() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'turn log refused'; END $$")  # fmt: skip
        cursor.execute(f"CREATE TRIGGER refuse_turn BEFORE INSERT ON {Conversation._meta.db_table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_turn()")  # fmt: skip

    body = turn(complete_profile(), "5천원으로 점심 뭐 먹지?")
    flush_log_outbox()

    assert "김밥천국" in body["response"]
    assert not Conversation.objects.exists()
    assert MessageLog.objects.filter(session_id=body["session_info"]["session_id"]).count() == 2
