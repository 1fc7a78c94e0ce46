"""Dining admin forms staff edit all day: masked meal cards, readable JSON, shops with unknown hours."""

import pytest
from django.urls import reverse

from chat.models import FoodcardUser, Menu, Shop
from chat.tests.dining_factories import make_card, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db

CARD_NUMBER = "9410-1234-5678-4321"


@pytest.fixture
def card():
    card = make_card(make_chat_user())
    card.card_number = CARD_NUMBER
    card.save()
    return card


def test_the_card_change_page_shows_the_number_masked_and_never_in_full(admin_client, card):
    page = admin_client.get(reverse("admin:chat_foodcarduser_change", args=[card.pk])).content.decode()

    assert "***************4321" in page
    assert CARD_NUMBER not in page and "1234-5678" not in page


def test_the_chat_user_page_inline_masks_the_card_number_too(admin_client, card):
    page = admin_client.get(reverse("admin:chat_chatuser_change", args=[card.user.pk])).content.decode()

    assert "***************4321" in page and CARD_NUMBER not in page


def card_form(card, **changes):
    return {
        "user": card.user.pk, "card_type": card.card_type, "balance": card.balance,
        "target_age_group": card.target_age_group, "status": card.status,
        "balance_alert_threshold": card.balance_alert_threshold, "new_card_number": "", **changes,
    }  # fmt: skip


def test_saving_the_card_without_a_new_number_keeps_the_stored_one(admin_client, card):
    url = reverse("admin:chat_foodcarduser_change", args=[card.pk])

    response = admin_client.post(url, card_form(card, balance=7000))

    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.card_number, card.balance) == (CARD_NUMBER, 7000)


def test_a_new_card_number_typed_in_replaces_the_stored_one(admin_client, card):
    url = reverse("admin:chat_foodcarduser_change", args=[card.pk])

    admin_client.post(url, card_form(card, new_card_number="1111-2222-3333-4444"))

    assert FoodcardUser.objects.get(pk=card.pk).card_number == "1111-2222-3333-4444"


def test_menu_options_are_shown_as_indented_json(admin_client):
    menu = make_menu(make_shop("치킨집"), "후라이드", 15000)
    Menu.objects.filter(pk=menu.pk).update(options={"size": [{"name": "곱빼기", "price": 2000}]})

    page = admin_client.get(reverse("admin:chat_menu_change", args=[menu.pk])).content.decode()

    assert '{\n  &quot;size&quot;: [\n    {\n      &quot;name&quot;: &quot;곱빼기&quot;' in page


def test_shops_with_unknown_hours_are_flagged_and_filterable(admin_client):
    known = make_shop("아는집")
    unknown = make_shop("모르는집")
    Shop.objects.filter(pk=unknown.pk).update(business_hours=None)
    changelist = reverse("admin:chat_shop_changelist")

    flagged = admin_client.get(changelist, {"hours": "unknown"})
    listed = admin_client.get(changelist, {"hours": "known"})

    assert list(flagged.context["cl"].result_list) == [unknown]
    assert list(listed.context["cl"].result_list) == [known]
    assert 'alt="False"' in flagged.content.decode()
