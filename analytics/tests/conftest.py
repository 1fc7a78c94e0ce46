import pytest

from rag.tests.openai_server import openai_server  # noqa: F401  (the loopback OpenAI stub fixture)


@pytest.fixture(autouse=True)
def outbox_in_tmp(settings, tmp_path):
    """Every test gets its own outbox directory (settings.VAR_DIR / "log-outbox")."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "log-outbox"
