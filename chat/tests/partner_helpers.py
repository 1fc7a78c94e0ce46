"""Helpers for the partner chat tests: partners with keys, and reading SSE streams."""

import json
import time

import httpx
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey

WARMUP = "/api/v1/partners/chat/warmup"
MESSAGE = "/api/v1/partners/chat/message"
SESSIONS = "/api/v1/partners/chat/sessions"


def partner_with_key(partner_id: str, name: str = "") -> tuple[Partner, str]:
    partner, _ = Partner.objects.get_or_create(partner_id=partner_id, defaults={"name": name or partner_id})
    _, key = PartnerApiKey.issue(partner)
    return partner, key


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def auth(key: str) -> dict:
    return {"Authorization": f"Api-Key {key}"}


def read_events(lines) -> list[tuple[str, dict, float]]:
    """(event name, data, arrival time) for each SSE event of an iterator of text lines."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: ")), time.monotonic()))
    return events


def stream_message(server, key, message="내 상태 어떠니?", session_id="sess-1", **extra):
    """POST a partner message to a live server; its SSE events (see read_events)."""
    with httpx.stream(
        "POST", server.url + MESSAGE, json={"session_id": session_id, "message": message, **extra},
        headers=auth(key), timeout=20,
    ) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response.iter_lines())
