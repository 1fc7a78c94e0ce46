"""Context carry-over: follow-ups inherit what the previous turn already said."""

from chat.services.nlu import understand


def previous(text):
    result = understand(text)
    return {"intent": result.intent, "entities": result.entities}


def test_follow_up_with_new_budget_keeps_food_and_location():
    context = previous("건대입구에서 치킨 먹고 싶어")

    result = understand("그럼 8천원이면?", context)

    assert result.entities["budget"] == 8000
    assert result.entities["food_type"] == "치킨"
    assert result.entities["category"] == "치킨"
    assert result.entities["location"] == "건대입구"
    assert result.intent == "BUDGET_INQUIRY"
    assert set(result.carried_over) == {"food_type", "category", "location"}


def test_without_context_nothing_is_inherited():
    result = understand("그럼 8천원이면?")

    assert result.entities["food_type"] is None
    assert result.entities["location"] is None
    assert result.carried_over == ()


def test_new_food_replaces_food_type_and_category_but_keeps_budget():
    context = previous("5천원으로 치킨 먹을 수 있어?")

    result = understand("피자는?", context)

    assert result.entities["food_type"] == "피자"
    assert result.entities["category"] == "피자"
    assert result.entities["budget"] == 5000


def test_companions_travel_with_their_count():
    context = previous("친구랑 둘이 피자 먹을래")

    result = understand("그럼 만원이면 돼?", context)

    assert result.entities["companions"] == ["친구"]
    assert result.entities["companion_count"] == 2
    assert result.entities["budget"] == 10000


def test_unrelated_question_does_not_inherit_food():
    context = previous("건대입구에서 치킨 먹고 싶어")

    result = understand("급식카드 잔액 얼마 남았어?", context)

    assert result.intent == "BALANCE_CHECK"
    assert result.entities["food_type"] is None
    assert result.carried_over == ()


def test_follow_up_to_another_topic_does_not_inherit_food():
    context = previous("건대입구에서 치킨 먹고 싶어")

    result = understand("그럼 잔액은 얼마야?", context)

    assert result.intent == "BALANCE_CHECK"
    assert result.carried_over == ()


def test_elliptical_follow_up_keeps_the_previous_intent():
    context = {"intent": "TIME_INQUIRY", "entities": {"food_type": "떡볶이", "category": "분식"}}

    result = understand("그럼 내일은?", context)

    assert result.intent == "TIME_INQUIRY"
    assert result.entities["food_type"] == "떡볶이"


def test_inherited_lists_are_copies():
    context = previous("친구랑 둘이 순살 치킨 먹을래")

    result = understand("그럼 만원이면?", context)
    result.entities["companions"].append("동생")

    assert context["entities"]["companions"] == ["친구"]


def test_small_talk_after_a_food_request_stays_small_talk():
    context = previous("건대입구에서 치킨 먹고 싶어")

    result = understand("안녕하세요", context)

    assert result.intent == "GENERAL_CHAT"
    assert result.carried_over == ()
