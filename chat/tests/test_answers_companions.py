"""Counting people (issue 15): "누나 둘이랑" is two companions plus the user (3 people), "형 넷이랑" is 5,
while "둘이서" is everyone."""

import pytest

from chat.services.nlu import understand
from chat.tests.dining_factories import chat_turn, make_chat_user, make_menu, make_shop


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("누나 둘이랑 저녁 먹을 곳", 3),
        ("형 넷이랑 밥 먹을 데", 5),
        ("동생 셋하고 피자", 4),
        ("친구 둘이랑 떡볶이", 3),
        ("둘이서 먹을 곳", 2),
        ("친구랑 둘이 점심", 2),
        ("친구 3명이랑 저녁", 4),
    ],
)
def test_companion_count_includes_the_user(text, people):
    assert understand(text).entities["companion_count"] == people


@pytest.mark.django_db
def test_a_group_with_two_sisters_is_searched_for_three():
    make_menu(make_shop("한솥"), "제육덮밥", 5000)

    body = chat_turn(make_chat_user(data_completeness="0.80"), "누나 둘이랑 저녁 먹을 곳")

    assert body["search"]["group_size"] == 3
    assert "× 3명 15,000원" in body["response"]
