"""Embedding providers: the local hashed Kiwi embedder and the OpenAI-compatible HTTP embedder."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rag.providers import ProviderError, get_embedder, kiwi_morphemes, kiwi_morphemes_batch
from rag.providers.embeddings import HttpEmbedder
from rag.providers.local_embedder import LocalHashedEmbedder


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- local default ---------------------------------------------------------------------------------


def test_local_embedder_is_used_when_no_base_url_is_set(settings):
    settings.EMBEDDING_BASE_URL = ""

    assert isinstance(get_embedder(), LocalHashedEmbedder)


def test_local_vectors_have_the_configured_dimensions(settings):
    settings.EMBEDDING_BASE_URL = ""
    settings.EMBEDDING_DIMENSIONS = 256

    embedder = get_embedder()
    vectors = embedder.embed(["점심 메뉴 추천", "회의록 요약"])

    assert embedder.dimensions == 256
    assert [len(v) for v in vectors] == [256, 256]


def test_local_vectors_are_l2_normalised_even_for_empty_text():
    vectors = np.array(LocalHashedEmbedder(1536).embed(["김치찌개 맛집을 알려주세요", "", "?!", "N2SQL"]))

    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_embedding_is_deterministic_across_instances():
    text = "프로젝트 진행률이 대시보드에 표시됩니다."

    first = LocalHashedEmbedder(512).embed([text])[0]
    second = LocalHashedEmbedder(512).embed([text, "다른 문장"])[0]

    assert first == second


def test_local_embedding_does_not_depend_on_python_hash_seed():
    # Python's hash() changes per process; the embedder must not. Compare with a fresh interpreter.
    text = "코칭노트에 공개 댓글이 달렸습니다"
    code = (
        "import json; from rag.providers.local_embedder import LocalHashedEmbedder; "
        f"print(json.dumps(LocalHashedEmbedder(64).embed([{text!r}])[0]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    other_process = np.array(eval(output.stdout))
    assert np.allclose(other_process, LocalHashedEmbedder(64).embed([text])[0], atol=1e-6)


def test_similar_korean_texts_are_closer_than_unrelated_ones():
    question, paraphrase, unrelated = LocalHashedEmbedder(1536).embed(
        [
            "강남역 근처 김치찌개 맛집 추천해 주세요",
            "강남역 주변에서 김치찌개가 맛있는 식당을 알려줘",
            "분기별 매출 보고서의 제출 기한은 언제인가요",
        ]
    )

    assert cosine(question, paraphrase) > cosine(question, unrelated) + 0.2


def test_inflected_forms_share_the_lemma():
    eat, ate, study = LocalHashedEmbedder(1536).embed(["밥을 먹다", "밥을 먹었습니다", "수학을 공부하다"])

    assert cosine(eat, ate) > cosine(eat, study)


def test_kiwi_morphemes_keeps_content_lemmas_and_drops_particles():
    morphemes = kiwi_morphemes("맛있는 김치찌개를 먹었습니다")

    assert morphemes == ["맛있다", "김치찌개", "먹다"]


def test_kiwi_morphemes_keeps_latin_and_digit_identifiers_whole():
    assert "n2sql" in kiwi_morphemes("N2SQL 기술을 사용했다")


# --- HTTP -------------------------------------------------------------------------------------------


def test_http_embedder_is_used_when_base_url_is_set(openai_server):
    embedder = get_embedder()

    assert isinstance(embedder, HttpEmbedder)
    assert embedder.model == "stub-embedding"


def test_http_embedder_posts_model_and_inputs_in_batches_of_64(openai_server):
    texts = [f"문서 {i}번 내용" for i in range(150)]

    get_embedder().embed(texts)

    calls = openai_server.requests_to("/v1/embeddings")
    assert [len(c.json["input"]) for c in calls] == [64, 64, 22]
    assert all(c.json["model"] == "stub-embedding" for c in calls)
    assert [t for c in calls for t in c.json["input"]] == texts


def test_http_embedder_orders_vectors_by_index_not_by_position(openai_server, settings):
    settings.EMBEDDING_DIMENSIONS = openai_server.embedding_dimensions = 3
    openai_server.embedding_fn = lambda text: {"a": [1, 0, 0], "b": [0, 1, 0], "c": [0, 0, 1]}[text]
    assert openai_server.embeddings_reversed

    vectors = get_embedder().embed(["a", "b", "c"])

    assert vectors == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_http_embedder_normalises_returned_vectors(openai_server, settings):
    settings.EMBEDDING_DIMENSIONS = openai_server.embedding_dimensions = 2
    openai_server.embedding_fn = lambda text: [3.0, 4.0]

    (vector,) = get_embedder().embed(["x"])

    assert vector == pytest.approx([0.6, 0.8])


def test_http_embedder_sends_the_api_key_as_bearer_token(openai_server):
    get_embedder().embed(["안녕하세요"])

    assert openai_server.requests[0].authorization == "Bearer test-embedding-key"


def test_http_embedder_sends_no_authorization_without_a_key(openai_server, settings):
    settings.EMBEDDING_API_KEY = ""

    get_embedder().embed(["안녕하세요"])

    assert "authorization" not in openai_server.requests[0].headers


def test_http_embedder_retries_after_500_and_429_then_succeeds(openai_server):
    openai_server.fail_next(1, status=500)
    openai_server.fail_next(1, status=429)

    vectors = get_embedder().embed(["재시도 테스트"])

    assert len(vectors) == 1
    assert len(openai_server.requests) == 3


def test_http_embedder_raises_a_clear_error_when_retries_are_exhausted(openai_server, settings):
    settings.PROVIDER_MAX_RETRIES = 2
    openai_server.fail_next(3, status=503, body={"error": {"message": "model is loading"}})

    with pytest.raises(ProviderError) as caught:
        get_embedder().embed(["실패"])

    message = str(caught.value)
    assert "embedding provider" in message
    assert openai_server.base_url + "/embeddings" in message
    assert "HTTP 503" in message
    assert "model is loading" in message
    assert caught.value.attempts == 3
    assert len(openai_server.requests) == 3


def test_http_embedder_does_not_retry_a_client_error(openai_server):
    openai_server.fail_next(1, status=400, body={"error": {"message": "unknown model"}})

    with pytest.raises(ProviderError, match="HTTP 400.*unknown model"):
        get_embedder().embed(["잘못된 요청"])

    assert len(openai_server.requests) == 1


def test_http_embedder_retries_a_timeout_then_reports_it(openai_server, settings):
    settings.PROVIDER_TIMEOUT_SECONDS = 0.2
    settings.PROVIDER_MAX_RETRIES = 1
    openai_server.timeout_sleep = 0.6
    openai_server.fail_next(2, timeout=True)

    with pytest.raises(ProviderError, match="timed out") as caught:
        get_embedder().embed(["느린 서버"])

    assert caught.value.attempts == 2
    assert len(openai_server.requests) == 2


def test_http_embedder_recovers_when_only_the_first_call_times_out(openai_server, settings):
    settings.PROVIDER_TIMEOUT_SECONDS = 0.2
    openai_server.timeout_sleep = 0.6
    openai_server.fail_next(1, timeout=True)

    assert len(get_embedder().embed(["한 번만 느림"])) == 1


def test_http_embedder_rejects_vectors_of_the_wrong_dimension(openai_server, settings):
    settings.EMBEDDING_DIMENSIONS = 1536
    openai_server.embedding_fn = lambda text: [0.1] * 8

    with pytest.raises(ProviderError, match="8-dimensional.*EMBEDDING_DIMENSIONS is 1536"):
        get_embedder().embed(["차원 확인"])


def test_unreachable_server_gives_a_provider_error(settings):
    settings.EMBEDDING_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    settings.PROVIDER_MAX_RETRIES = 1
    settings.PROVIDER_RETRY_BACKOFF_SECONDS = 0.01

    with pytest.raises(ProviderError, match="embedding provider POST http://127.0.0.1:9/v1/embeddings failed"):
        get_embedder().embed(["연결 실패"])


def test_kiwi_morphemes_batch_matches_one_text_at_a_time():
    texts = ["맛있는 김치찌개를 먹었습니다", "", "N2SQL 기술을 사용했다", "맛있는 김치찌개를 먹었습니다"]

    assert kiwi_morphemes_batch(texts) == [kiwi_morphemes(t) for t in texts]
