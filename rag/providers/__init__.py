"""Model providers: one layer for embeddings, chat LLM and vision, speaking the OpenAI-compatible HTTP API.

Every model call in the project goes through here. Each kind has a factory that reads settings at call
time and returns either an HTTP client for any OpenAI-compatible server (OpenAI, vLLM, Ollama, ...) or,
when its base URL is unset, a deterministic offline default, so nothing needs the internet:

* `get_embedder()`: `EMBEDDING_BASE_URL`/`EMBEDDING_MODEL`/`EMBEDDING_API_KEY`, `EMBEDDING_DIMENSIONS`.
  Local default: hashed Kiwi content morphemes + character n-grams (`local_embedder`), L2-normalised.
  `kiwi_morphemes(text)` is the shared Korean tokenisation (also used by the RAG full-text column).
* `get_llm()`: `LLM_BASE_URL`/`LLM_MODEL`/`LLM_API_KEY`; `complete`, `acomplete`, `stream`, `astream`,
  `complete_json`. Local default: an extractive Korean responder over the `<context>` passages of the
  prompt (build them with `format_context`; convention in `prompts`), streaming word by word, plus
  deterministic JSON for routing and graph-extraction prompts (`local_llm`).
* `get_vision()`: `AI_IMAGE_MODEL_BASE_URL`/`AI_IMAGE_MODEL_NAME`/`AI_IMAGE_MODEL_API_KEY`,
  `AI_IMAGE_MODEL_PROMPT`, `AI_IMAGE_MODEL_MAX_IMAGES`; `describe(images) -> list[str]`, images sent as
  base64 data URLs. Local default: a Korean note from the image header (format, pixels, bytes).

HTTP calls (`http.HttpEndpoint`) use `PROVIDER_TIMEOUT_SECONDS`, retry connection errors, timeouts,
429 and 5xx `PROVIDER_MAX_RETRIES` times with exponential backoff and jitter
(`PROVIDER_RETRY_BACKOFF_SECONDS` first), send `Authorization: Bearer <key>` when a key is set, and end
in `ProviderError` naming the provider, URL, status and reason.

Tests stand in for real servers with `rag.providers.loopback.OpenAIStubServer` (fixture `openai_server`
in `rag.tests.openai_server`).
"""

from .embeddings import get_embedder
from .errors import ProviderError
from .llm import PARAM_BOUNDS, REASONING_LEVELS, AsyncTextStream, Completion, TextStream, get_llm, validate_params
from .local_embedder import QUESTION_WORDS, kiwi_morphemes, kiwi_morphemes_batch, warm_up
from .prompts import format_context
from .vision import get_vision

__all__ = [
    "PARAM_BOUNDS",
    "REASONING_LEVELS",
    "AsyncTextStream",
    "Completion",
    "ProviderError",
    "QUESTION_WORDS",
    "TextStream",
    "format_context",
    "get_embedder",
    "get_llm",
    "get_vision",
    "kiwi_morphemes",
    "kiwi_morphemes_batch",
    "validate_params",
    "warm_up",
]
