"""Follow-up amounts (issue 15): "그럼 8천원이면?" replaces the budget with the same meaning (per
person unless it says otherwise) and keeps the rest of the context (meal time, place, food)."""

import pytest

from chat.tests.dining_factories import chat_turn, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

PAIR = {"companion_count": 2}


@pytest.fixture
def user():
    make_menu(make_shop("한솥"), "제육덮밥", 7500)
    make_menu(make_shop("김밥천국", category="분식"), "참치김밥", 4000)
    return make_chat_user(data_completeness="0.80")


def follow_up(user, first, second, context=None, **turn):
    one = chat_turn(user, first, context=context, **turn)
    two = chat_turn(user, second, context=context, session_id=one["session_info"]["session_id"], **turn)
    return one, two


def test_a_follow_up_amount_for_two_stays_per_person(user):
    one, two = follow_up(user, "5천원으로 점심", "그럼 8천원이면?", context=PAIR)

    assert (one["search"]["budget"], two["search"]["budget"]) == (5000, 8000)
    assert two["search"]["group_size"] == 2
    assert "제육덮밥" in two["response"]


def test_a_follow_up_keeps_the_meal_time(user):
    _, two = follow_up(user, "5천원으로 점심", "그럼 8천원이면?", context=PAIR)

    assert two["session_info"]["entities"]["meal_time"] == "점심"
    assert two["session_info"]["entities"]["budget_scope"] == "per_person"


def test_a_follow_up_keeps_the_place_and_the_food(user):
    _, two = follow_up(user, "건대입구에서 5천원으로 김밥", "그럼 8천원이면?", location=None)

    entities = two["session_info"]["entities"]
    assert (entities["location"], entities["food_type"], two["search"]["budget"]) == ("건대입구", "김밥", 8000)
    assert "김밥천국" in two["response"]


def test_a_group_total_follow_up_stays_a_total(user):
    one, two = follow_up(user, "둘이서 다 합쳐서 만원으로 저녁", "그럼 2만원이면?")

    assert (one["search"]["budget"], two["search"]["budget"]) == (5000, 10000)


def test_a_follow_up_that_says_per_person_is_per_person(user):
    _, two = follow_up(user, "둘이서 다 합쳐서 만원으로 저녁", "그럼 1인당 8천원이면?")

    assert two["search"]["budget"] == 8000
