"""Fixtures for the rag app's tests. `openai_server` (a loopback OpenAI-compatible stub with every
provider setting pointed at it) lives in `rag.tests.openai_server`; other apps import it the same way."""

from rag.tests.openai_server import openai_server  # noqa: F401
