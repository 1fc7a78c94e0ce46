import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from chat.models import PartnerChatTuningLog
from chat.services import partner_chat
from chat.tests.partner_helpers import WARMUP, key_client, partner_with_key

pytestmark = pytest.mark.django_db

HEALTH = "총콜레스테롤 245 mg/dL (경계), 공복혈당 98 mg/dL (정상), 혈압 128/82 mmHg"


@pytest.fixture(autouse=True)
def forget_cached_health_text():
    """The cache (real Redis) outlives a test's database: drop the health text these tests leave behind."""
    yield
    cache.delete(partner_chat._context_key("medilinx", "sess-1"))


@pytest.fixture
def medilinx():
    partner, key = partner_with_key("medilinx")
    return key_client(key)


def warm(client, **overrides):
    body = {"session_id": "sess-1", "hospital_id": "hosp-9", "user_uuid": "user-abc"}
    body.update(overrides)
    return client.post(WARMUP, body, format="json")


def row(session_id="sess-1"):
    return PartnerChatTuningLog.objects.get(session_id=session_id)


def test_first_warm_up_creates_the_session_row(medilinx):
    response = warm(medilinx)

    assert response.status_code == 201
    assert response.json()["created"] is True
    session = row()
    assert (session.partner_id, session.hospital_id, session.user_uuid) == ("medilinx", "hosp-9", "user-abc")
    assert (session.conversation, session.message_count) == ([], 0)


def test_the_partner_comes_from_the_key_not_the_body(medilinx):
    warm(medilinx, partner_id="kindhabit")

    assert row().partner_id == "medilinx"


def test_warming_up_again_keeps_one_row(medilinx):
    warm(medilinx)

    response = warm(medilinx, hospital_id="other-hospital")

    assert response.status_code == 200
    assert response.json()["created"] is False
    assert PartnerChatTuningLog.objects.count() == 1
    assert row().hospital_id == "hosp-9"


def test_two_partners_may_use_the_same_session_id(medilinx):
    _, other_key = partner_with_key("kindhabit")

    warm(medilinx)
    warm(key_client(other_key))

    assert sorted(PartnerChatTuningLog.objects.values_list("partner_id", flat=True)) == ["kindhabit", "medilinx"]


def test_initial_data_is_stored_as_a_summary_never_the_health_data(medilinx):
    warm(medilinx, initial_data={"health_data": HEALTH, "patient_info": {"name": "홍길동", "birthdate": "1980-01-01"}})

    stored = row().initial_data
    assert stored == {
        "has_health_data": True,
        "health_summary_length": len(HEALTH),
        "patient_info_keys": ["birthdate", "name"],
    }
    assert "홍길동" not in str(stored) and "콜레스테롤" not in str(stored)


def test_structured_health_data_is_summarised_by_its_serialised_length(medilinx):
    warm(medilinx, initial_data={"health_data": {"ldl": 160}})

    assert row().initial_data["health_summary_length"] == len('{"ldl": 160}')


def test_health_summary_is_accepted_as_the_health_data(medilinx):
    warm(medilinx, initial_data={"health_summary": HEALTH})

    assert row().initial_data["health_summary_length"] == len(HEALTH)


def test_a_later_warm_up_fills_initial_data_only_while_it_is_empty(medilinx):
    warm(medilinx)  # no initial data yet
    assert row().initial_data == {}

    warm(medilinx, initial_data={"health_data": "첫 데이터", "patient_info": {"name": "x"}})
    warm(medilinx, initial_data={"health_data": "나중에 온 훨씬 더 긴 데이터", "patient_info": {"age": 3}})

    assert row().initial_data == {"has_health_data": True, "health_summary_length": 5, "patient_info_keys": ["name"]}


def test_client_info_keeps_only_ip_and_referer(medilinx):
    warm(
        medilinx,
        client_info={"client_ip": "210.218.238.194", "referer": "http://localhost:9000/",
                     "user_agent": "Mozilla/5.0", "cookie": "sid=secret", "phone": "010-1234-5678"},
    )  # fmt: skip

    assert row().client_info == {"client_ip": "210.218.238.194", "referer": "http://localhost:9000/"}


def test_without_client_info_the_callers_address_and_referer_header_are_used(medilinx):
    medilinx.post(WARMUP, {"session_id": "sess-1"}, format="json", HTTP_REFERER="https://partner.example/chat")

    assert row().client_info == {"client_ip": "127.0.0.1", "referer": "https://partner.example/chat"}


def test_the_health_text_is_kept_only_in_the_cache_for_answering(medilinx):
    session_id = f"cache-{uuid.uuid4()}"  # the cache outlives each test

    warm(medilinx, session_id=session_id, initial_data={"health_data": HEALTH})

    assert cache.get(partner_chat._context_key("medilinx", session_id)) == HEALTH


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"session_id": ""},
        {"session_id": "x" * 256},
        {"session_id": "s", "client_info": {"client_ip": "not-an-ip"}},
        {"session_id": "s", "initial_data": "raw text"},
    ],
)
def test_bad_warm_up_input_is_a_400_in_the_project_format(medilinx, body):
    response = medilinx.post(WARMUP, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_end_users_cannot_warm_up_partner_sessions(alice_client):
    assert alice_client.post(WARMUP, {"session_id": "s"}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_warm_ups_create_exactly_one_row():
    partner_with_key("medilinx")
    barrier = threading.Barrier(8)
    results = []

    def warm_up():
        try:
            barrier.wait()
            results.append(partner_chat.warm_up(partner_id="medilinx", session_id="race").created)
        finally:
            connection.close()

    threads = [threading.Thread(target=warm_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 7 + [True]
    assert PartnerChatTuningLog.objects.filter(session_id="race").count() == 1
