"""Partner API keys issued from the admin: the secret is shown exactly once and works."""

import re

import pytest
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey

pytestmark = pytest.mark.django_db


def shown_keys(response):
    return re.findall(r'<code class="issued-key">([^<]+)</code>', response.content.decode())


def issue_from_admin(admin_client, *partners):
    return admin_client.post(
        "/admin/chat/partner/",
        {"action": "issue_api_keys", "_selected_action": [partner.pk for partner in partners]},
    )


def test_issuing_shows_a_working_key_once_and_stores_only_its_hash(admin_client):
    partner = Partner.objects.create(partner_id="kindhabit")

    response = issue_from_admin(admin_client, partner)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [plain] = shown_keys(response)
    key = PartnerApiKey.objects.get(partner=partner)
    assert plain.split(".", 1)[1] not in key.key_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    assert client.get("/api/v1/me").json()["partner_id"] == "kindhabit"


def test_the_key_change_page_never_shows_the_secret_again(admin_client):
    partner = Partner.objects.create(partner_id="kindhabit")
    [plain] = shown_keys(issue_from_admin(admin_client, partner))
    key = PartnerApiKey.objects.get(partner=partner)

    page = admin_client.get(f"/admin/chat/partnerapikey/{key.pk}/change/").content.decode()

    assert plain.split(".", 1)[1] not in page


def test_inactive_partners_get_no_key_and_the_run_is_a_warning(admin_client):
    partner = Partner.objects.create(partner_id="gone", is_active=False)

    response = issue_from_admin(admin_client, partner)

    assert response.status_code == 302
    assert not PartnerApiKey.objects.filter(partner=partner).exists()
    [message] = list(response.wsgi_request._messages)
    assert message.level_tag == "warning"
