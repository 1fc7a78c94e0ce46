"""Fixtures of the ml_training tests: dining turns and knowledge answers made through the real chats."""

import pytest

from chat.tests.conftest import knowledge_corpus  # noqa: F401  (fixture)
from chat.tests.dining_factories import KONDAE, make_menu, make_shop
from rag.tests.openai_server import openai_server  # noqa: F401  (fixture)

HERE = {"latitude": KONDAE.latitude, "longitude": KONDAE.longitude}


@pytest.fixture
def kimbap(db):
    shop = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(shop, "참치김밥", 3500)
    return shop


def dining_turn(client, message="5천원으로 점심 뭐 먹지?", **body) -> dict:
    response = client.post("/api/v1/chat", {"message": message, "location": HERE, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def knowledge_answer(client, message="환불은 며칠 안에 신청할 수 있나요?") -> dict:
    from chat.tests.conftest import KNOWLEDGE_KEY

    response = client.post("/api/v1/rag/chat", {"message": message, "rag_key": KNOWLEDGE_KEY}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def model_store(settings, tmp_path):
    """A fresh MODEL_STORE_DIR and no models loaded by this process's serving."""
    from ml_training.services import serving

    settings.MODEL_STORE_DIR = tmp_path / "models"
    serving.forget()
    yield settings.MODEL_STORE_DIR
    serving.forget()
