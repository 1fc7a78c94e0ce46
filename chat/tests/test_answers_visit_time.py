"""A time in the message is the time of the visit (issue 15): shops open at the time asked, said in
the answer; shops open now when no time is given. The clock is fixed at 15:30 (Asia/Seoul)."""

import pytest

from chat.services.nlu import understand
from chat.services.schemas import WEEKDAYS
from chat.tests.dining_factories import at_seoul, chat_turn, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

EVENING = {day: {"open": "17:00", "close": "24:00"} for day in WEEKDAYS}
LATE_NIGHT = {day: {"open": "22:00", "close": "04:00"} for day in WEEKDAYS}
DAYTIME = {day: {"open": "10:00", "close": "16:00"} for day in WEEKDAYS}
CHICKEN_OPTIONS = {"size": [{"name": "곱빼기", "price": 2000}], "extras": [{"name": "순살", "price": 1000}]}
HALF_PAST_THREE = at_seoul(15, 30)


@pytest.fixture
def shops():
    evening = make_shop("저녁치킨", category="치킨", hours=EVENING)
    make_menu(evening, "후라이드치킨", 15000, options=CHICKEN_OPTIONS)
    make_menu(make_shop("심야포차", category="분식", hours=LATE_NIGHT), "라볶이", 5000)
    make_menu(make_shop("낮분식", category="분식", hours=DAYTIME), "떡볶이", 4000)
    return make_chat_user(data_completeness="0.80")


def names(body):
    return [rec["shop_name"] for rec in body["recommendations"]]


def test_dinner_asked_in_the_afternoon_looks_at_shops_open_for_dinner(shops):
    body = chat_turn(shops, "저녁에 혼자 순살 치킨 곱빼기 되는 곳?", now=HALF_PAST_THREE)

    assert names(body) == ["저녁치킨"]
    assert "오늘 18:00에 문을 여는 곳으로 찾아봤어요" in body["response"]


def test_eleven_at_night_looks_at_shops_open_at_23_00(shops):
    body = chat_turn(shops, "밤 11시에 갈 만한 데", now=HALF_PAST_THREE)

    assert set(names(body)) == {"저녁치킨", "심야포차"}
    assert "오늘 23:00에" in body["response"]
    assert "낮분식" not in body["response"]


def test_without_a_time_only_shops_open_now_are_named(shops):
    body = chat_turn(shops, "떡볶이 먹고 싶어", now=HALF_PAST_THREE)

    assert names(body) == ["낮분식"]
    assert "문을 여는 곳으로 찾아봤어요" not in body["response"]


def test_a_meal_happening_now_is_looked_up_now(shops):
    body = chat_turn(shops, "저녁 뭐 먹지?", now=at_seoul(19, 0))

    assert "문을 여는 곳으로 찾아봤어요" not in body["response"]
    assert "저녁치킨" in names(body)


def test_a_morning_hour_already_past_means_tomorrow_morning(shops):
    breakfast = {day: {"open": "07:00", "close": "09:00"} for day in WEEKDAYS}
    make_menu(make_shop("아침김밥", category="분식", hours=breakfast), "김밥", 3000)

    body = chat_turn(shops, "아침 8시에 먹을 곳", now=HALF_PAST_THREE)

    assert names(body) == ["아침김밥"]
    assert "내일 08:00에 문을 여는 곳으로 찾아봤어요" in body["response"]


@pytest.mark.parametrize(
    ("text", "visit_time"),
    [
        ("밤 11시에 갈 만한 데", "23:00"),
        ("저녁 7시 반에 먹을 곳", "19:30"),
        ("3시에 먹을 곳", "15:00"),
        ("아침 8시", "08:00"),
        ("밤 12시에 야식", "00:00"),
        ("새벽 2시에 하는 곳", "02:00"),
        ("밤 12시까지 하는 곳", None),  # how late a shop is open, not when the user comes
        ("점심 뭐 먹지", None),
    ],
)
def test_the_visit_time_is_read_from_the_message(text, visit_time):
    assert understand(text).entities["visit_time"] == visit_time
