"""Intent classification through `understand`: every intent, confidence, result shape."""

import dataclasses

import pytest

from chat.services.nlu import ENTITY_KEYS, INTENTS, NluResult, understand


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("떡볶이 먹고 싶은데 추천해줘", "FOOD_REQUEST"),
        ("오늘 저녁 뭐 먹지?", "FOOD_REQUEST"),
        ("5천원으로 점심 뭐 먹지?", "BUDGET_INQUIRY"),
        ("만 오천원이면 뭐 먹을 수 있어?", "BUDGET_INQUIRY"),
        ("쓸 수 있는 쿠폰 있어?", "COUPON_INQUIRY"),
        ("할인 받을 수 있는 가게 알려줘", "COUPON_INQUIRY"),
        ("근처에 김밥집 어디 있어?", "LOCATION_INQUIRY"),
        ("건대입구역에서 가까운 식당", "LOCATION_INQUIRY"),
        ("그 분식집 몇 시에 닫아?", "TIME_INQUIRY"),
        ("지금 문 연 치킨집 있어?", "TIME_INQUIRY"),
        ("안녕하세요", "GENERAL_CHAT"),
        ("고마워 잘 먹을게", "GENERAL_CHAT"),
        ("도움말", "GENERAL_CHAT"),  # how to use the assistant is not a wish to eat
        ("뭘 할 수 있어?", "GENERAL_CHAT"),
        ("음 떡볶이 먹고 싶다", "FOOD_REQUEST"),
        ("음식 추천해줘", "FOOD_REQUEST"),
        ("짜장면 곱빼기 돼요?", "MENU_OPTION"),
        ("떡볶이 덜 맵게 해줄 수 있어?", "MENU_OPTION"),
        ("배고파 죽겠어 돈이 없어", "EMERGENCY_FOOD"),
        ("하루 종일 굶었어", "EMERGENCY_FOOD"),
        ("친구 3명이랑 같이 먹을 곳", "GROUP_DINING"),
        ("동생이랑 둘이 먹을 데 추천해줘", "GROUP_DINING"),
        ("급식카드 잔액 얼마 남았어?", "BALANCE_CHECK"),
        ("카드에 돈 얼마 있어?", "BALANCE_CHECK"),
        ("급식카드 충전하고 싶어", "BALANCE_CHARGE"),
        ("2만원 충전해줘", "BALANCE_CHARGE"),
        ("ㅁㄴㅇㄹㄴㅇ", "UNKNOWN"),
        ("수학 숙제 도와줘", "UNKNOWN"),
    ],
)
def test_intent_of_message(text, intent):
    assert understand(text).intent == intent


def test_a_stated_amount_makes_a_food_wish_a_budget_inquiry():
    assert understand("떡볶이 먹고 싶은데 5천원 있어").intent == "BUDGET_INQUIRY"


def test_eating_together_outranks_the_amount():
    assert understand("동생이랑 둘이 2만원으로 먹을 수 있는 거").intent == "GROUP_DINING"


def test_result_carries_intent_confidence_entities_and_tokens():
    result = understand("５천원으로 점심 뭐 먹지？")

    assert isinstance(result, NluResult)
    assert result.intent in INTENTS
    assert 0.0 <= result.confidence <= 1.0
    assert set(result.entities) == set(ENTITY_KEYS)
    assert result.entities["budget"] == 5000
    assert result.entities["meal_time"] == "점심"
    assert result.normalized_text == "5천원으로 점심 뭐 먹지?"
    assert result.tokens[:4] == ["5", "천", "원", "으로"]
    assert result.carried_over == ()


def test_result_is_frozen():
    result = understand("치킨 먹고 싶어")

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.intent = "UNKNOWN"


def test_result_serialises_to_a_plain_dict():
    data = understand("치킨 먹고 싶어").to_dict()

    assert data["intent"] == "FOOD_REQUEST"
    assert data["entities"]["food_type"] == "치킨"


def test_clear_message_gets_higher_confidence_than_vague_one():
    assert understand("급식카드 잔액 얼마 남았어?").confidence > understand("음 그냥").confidence


@pytest.mark.parametrize("text", ["", "   ", "\u200b"])
def test_empty_message_is_unknown_with_empty_entities(text):
    result = understand(text)

    assert result.intent == "UNKNOWN"
    assert result.entities["budget"] is None
    assert result.entities["companions"] == []
    assert result.entities["urgency"] == "normal"
    assert result.tokens == []
