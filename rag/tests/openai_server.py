"""The `openai_server` pytest fixture: a running `rag.providers.loopback.OpenAIStubServer` with every
provider setting pointed at it (see that module for what the server does)."""

import pytest

from rag.providers.loopback import OpenAIStubServer


@pytest.fixture
def openai_server(settings):
    """A running `OpenAIStubServer` with every provider setting pointed at it (see rag.providers.loopback)."""
    with OpenAIStubServer(embedding_dimensions=settings.EMBEDDING_DIMENSIONS) as server:
        for name, value in server.env().items():
            if name != "EMBEDDING_DIMENSIONS":
                setattr(settings, name, value)
        settings.PROVIDER_TIMEOUT_SECONDS = 2.0
        settings.PROVIDER_MAX_RETRIES = 2
        settings.PROVIDER_RETRY_BACKOFF_SECONDS = 0.01
        yield server
