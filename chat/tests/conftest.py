"""Fixtures for the chat app's tests."""

import pytest

from chat.tests.live_server import LiveAsgiServer
from rag.tests.openai_server import openai_server  # noqa: F401  (the loopback OpenAI stub fixture)


@pytest.fixture
def live_asgi_server(transactional_db):
    """The project's ASGI app on a real uvicorn server (127.0.0.1, random port); `.url` is its base URL."""
    with LiveAsgiServer() as server:
        yield server
