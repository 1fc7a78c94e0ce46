"""Korean particles are chosen, not templated (issue 15): "할인을(를)" -> "할인을"."""

import pytest

from chat.services.josa import attach
from chat.tests.dining_factories import chat_turn, make_chat_user


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("첫 주문 10% 할인", "을", "첫 주문 10% 할인을"),
        ("치즈", "을", "치즈를"),
        ("김밥", "는", "김밥은"),
        ("떡볶이", "은", "떡볶이는"),
        ("쿠폰", "가", "쿠폰이"),
        ("누나", "이", "누나가"),
        ("5천원", "으로", "5천원으로"),
        ("서울", "으로", "서울로"),  # ㄹ takes 로
        ("학교", "으로", "학교로"),
        ("12,000원", "이에요", "12,000원이에요"),
        ("치즈", "이에요", "치즈예요"),
        ("친구", "과", "친구와"),
        ("WELCOME3000", "은", "WELCOME3000은"),  # 삼천
        ("12", "을", "12를"),  # 십이
        ("10", "이", "10이"),  # 십
        ("7", "은", "7은"),  # 칠
    ],
)
def test_the_particle_follows_the_last_sound(word, particle, expected):
    assert attach(word, particle) == expected


def test_a_word_whose_sound_is_unknown_gets_both_forms():
    assert attach("🍕", "을") == "🍕을(를)"


@pytest.mark.django_db
def test_the_welcome_message_has_no_templated_particles():
    body = chat_turn(make_chat_user(profile=False), "안녕")

    assert "첫 주문 10% 할인을 지갑에 넣어드렸어요" in body["response"]
    assert "(를)" not in body["response"]
