"""GET /partners/chat/sessions/{session_id}: the owning partner's key and staff see it; nobody else."""

import pytest
from django.utils import timezone

from chat.services import partner_chat
from chat.tests.partner_helpers import SESSIONS, key_client, partner_with_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions():
    _, medilinx_key = partner_with_key("medilinx")
    _, kindhabit_key = partner_with_key("kindhabit")
    partner_chat.warm_up(partner_id="medilinx", session_id="sess-1", hospital_id="h1")
    partner_chat.append_exchange(
        partner_id="medilinx", session_id="sess-1", user_message="안녕하세요", assistant_message="네, 안녕하세요.",
        asked_at=timezone.now(), answered_at=timezone.now(),
    )  # fmt: skip
    return key_client(medilinx_key), key_client(kindhabit_key)


def test_the_owning_partner_reads_its_session(sessions):
    medilinx, _ = sessions

    response = medilinx.get(f"{SESSIONS}/sess-1")

    body = response.json()
    assert response.status_code == 200
    assert (body["partner_id"], body["session_id"], body["hospital_id"]) == ("medilinx", "sess-1", "h1")
    assert [e["role"] for e in body["conversation"]] == ["user", "assistant"]
    assert body["message_count"] == 1


def test_another_partner_gets_404_not_403(sessions):
    _, kindhabit = sessions

    response = kindhabit.get(f"{SESSIONS}/sess-1")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_read_any_partners_session(sessions, staff_client):
    assert staff_client.get(f"{SESSIONS}/sess-1").json()["partner_id"] == "medilinx"


def test_staff_must_name_the_partner_when_the_session_id_is_shared(sessions, staff_client):
    partner_chat.warm_up(partner_id="kindhabit", session_id="sess-1")

    ambiguous = staff_client.get(f"{SESSIONS}/sess-1")
    named = staff_client.get(f"{SESSIONS}/sess-1", {"partner_id": "kindhabit"})

    assert ambiguous.status_code == 400
    assert named.json()["partner_id"] == "kindhabit"


def test_end_users_are_refused(sessions, alice_client):
    assert alice_client.get(f"{SESSIONS}/sess-1").status_code == 403


def test_unknown_session_is_404(sessions):
    medilinx, _ = sessions

    assert medilinx.get(f"{SESSIONS}/nope").status_code == 404


def test_append_is_one_update_that_adds_both_entries(sessions):
    count = partner_chat.append_exchange(
        partner_id="medilinx", session_id="sess-1", user_message="q", assistant_message="a",
        asked_at=timezone.now(), answered_at=timezone.now(),
    )  # fmt: skip

    assert count == 2
