"""The intent model on short questions (issue 15): food + 맛집, dietary asks and money idioms, and a
held-out test split that shares no utterance with the train split."""

import pytest

from chat.services.nlu import understand
from chat.services.nlu.dataset import load_examples


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("회 맛집 있어?", "FOOD_REQUEST"),
        ("비건 되는 식당", "FOOD_REQUEST"),
        ("통장이 텅장이라 배고파", "EMERGENCY_FOOD"),
        ("배고픈데 돈이 하나도 없어", "EMERGENCY_FOOD"),
        ("밤 11시에 갈 만한 데", "TIME_INQUIRY"),
    ],
)
def test_the_issues_examples_get_their_intent(text, intent):
    assert understand(text).intent == intent


def test_no_test_utterance_is_in_the_train_split():
    train = {example.normalized_text for example in load_examples("train")}
    seen = [example.text for example in load_examples("test") if example.normalized_text in train]
    assert seen == []


def test_the_money_idioms_say_there_is_no_money():
    assert understand("통장이 텅장이라 배고파").entities["no_money"] is True
    assert understand("5천원 있어 뭐 먹지").entities["no_money"] is False
