"""The web server of `make run` (config.live_server.web_server_command): several worker processes, and the
SSE streams still stream through them."""

import httpx
import psutil
import pytest
from django.conf import settings

from config.benchmarks import database_url
from config.live_server import LiveServerProcess


@pytest.mark.django_db(transaction=True)  # the server's processes see only committed rows
def test_the_web_server_runs_several_worker_processes_and_still_streams_answers(alice_client):
    env = {"DATABASE_URL": database_url(settings.DATABASES["default"]["NAME"])}
    headers = {"Authorization": alice_client._credentials["HTTP_AUTHORIZATION"], "Accept": "text/event-stream"}

    with LiveServerProcess(workers=2, env=env) as server:
        workers = [
            child
            for child in psutil.Process(server.process.pid).children()
            if "spawn_main" in " ".join(child.cmdline()) and "resource_tracker" not in " ".join(child.cmdline())
        ]
        with (
            httpx.Client(base_url=server.url, timeout=60) as client,
            client.stream(
                "POST", "/api/v1/rag/chat/stream", json={"message": "환불 규정", "rag_key": "web"}, headers=headers
            ) as response,
        ):
            events = [line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")]

    assert len(workers) == 2
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[0] == "token"
    assert events[-1] == "done"
