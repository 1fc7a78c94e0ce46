"""Without a location (issue 15): the user's last or profile location is used, and when there is
none the assistant asks for it in one short question instead of mixing shops of distant areas."""

import pytest

from chat.services.geo import find_place
from chat.services.respond import ASK_LOCATION
from chat.tests.dining_factories import chat_turn, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

GANGNAM = find_place("강남역")


@pytest.fixture
def two_areas():
    make_menu(make_shop("건대김밥", category="분식"), "김밥", 3000)
    make_menu(make_shop("강남김밥", category="분식", near=GANGNAM), "김밥", 3000)


def names(body):
    return [rec["shop_name"] for rec in body["recommendations"]]


def test_the_last_location_the_user_asked_from_is_used(two_areas):
    user = make_chat_user(data_completeness="0.80")
    chat_turn(user, "5천원으로 점심", location={"latitude": GANGNAM.latitude, "longitude": GANGNAM.longitude})

    body = chat_turn(user, "5천원으로 저녁", location=None)  # a new session, no coordinates

    assert names(body) == ["강남김밥"]


def test_the_profile_location_is_used_when_there_is_no_last_one(two_areas):
    user = make_chat_user(data_completeness="0.80", location_preferences=["건대입구"])

    body = chat_turn(user, "5천원으로 점심", location=None)

    assert names(body) == ["건대김밥"]


def test_without_any_location_the_assistant_asks_for_one(two_areas):
    user = make_chat_user(data_completeness="0.80")

    body = chat_turn(user, "5천원으로 점심", location=None)

    assert body["recommendations"] == []
    assert body["response"].strip().endswith(ASK_LOCATION)
    assert "김밥" not in body["response"]


def test_the_answer_to_the_question_finds_shops_there(two_areas):
    user = make_chat_user(data_completeness="0.80")
    first = chat_turn(user, "5천원으로 점심", location=None)

    body = chat_turn(user, "강남역", location=None, session_id=first["session_info"]["session_id"])

    assert names(body) == ["강남김밥"]
    assert body["search"]["budget"] == 5000


def test_a_place_named_in_the_message_wins_over_the_last_location(two_areas):
    user = make_chat_user(data_completeness="0.80")
    chat_turn(user, "5천원으로 점심", location={"latitude": GANGNAM.latitude, "longitude": GANGNAM.longitude})

    body = chat_turn(user, "건대입구에서 5천원으로 저녁", location=None)

    assert names(body) == ["건대김밥"]


def test_a_place_not_known_is_asked_about_rather_than_searched_elsewhere(two_areas):
    user = make_chat_user(data_completeness="0.80")
    chat_turn(user, "5천원으로 점심", location={"latitude": GANGNAM.latitude, "longitude": GANGNAM.longitude})

    body = chat_turn(user, "성북동에서 5천원으로 저녁", location=None)

    assert body["recommendations"] == []
    assert ASK_LOCATION in body["response"]
