"""Embedding providers: OpenAI-compatible `/embeddings` over HTTP, or the local hashed embedder."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from .errors import ProviderError
from .http import HttpEndpoint
from .local_embedder import LocalHashedEmbedder

EMBEDDING_BATCH_SIZE = 64


class HttpEmbedder:
    """POST {EMBEDDING_BASE_URL}/embeddings with `model` and a list `input`, 64 texts per call."""

    def __init__(self, endpoint: HttpEndpoint, model: str, dimensions: int, batch_size: int = EMBEDDING_BATCH_SIZE):
        self.endpoint = endpoint
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size

    def embed_array(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            matrix[start : start + len(batch)] = self._embed_batch(batch)
        return matrix

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalised vector per text, in the order given."""
        return self.embed_array(texts).tolist()

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        # Some servers reject empty strings; a single space embeds as "nothing" everywhere.
        inputs = [text if text.strip() else " " for text in batch]
        body = self.endpoint.post_json("embeddings", {"model": self.model, "input": inputs})
        data = body.get("data")
        if not isinstance(data, list) or len(data) != len(batch):
            got = len(data) if isinstance(data, list) else "no"
            raise self.endpoint.error("embeddings", f"expected {len(batch)} embeddings in `data`, got {got}")
        rows = np.zeros((len(batch), self.dimensions), dtype=np.float32)
        seen: set[int] = set()
        for position, item in enumerate(data):
            index = item.get("index", position) if isinstance(item, dict) else None
            vector = item.get("embedding") if isinstance(item, dict) else None
            valid_index = isinstance(index, int) and 0 <= index < len(batch) and index not in seen
            if not valid_index or not isinstance(vector, list):
                raise self.endpoint.error("embeddings", f"malformed embedding item at position {position}")
            if len(vector) != self.dimensions:
                raise self.endpoint.error(
                    "embeddings",
                    f"model {self.model!r} returned {len(vector)}-dimensional vectors but EMBEDDING_DIMENSIONS is "
                    f"{self.dimensions}; set EMBEDDING_DIMENSIONS to the model's size (and re-embed) or pick "
                    "another model",
                )
            seen.add(index)
            rows[index] = vector
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise self.endpoint.error("embeddings", "model returned a zero vector")
        return rows / norms


def get_embedder() -> HttpEmbedder | LocalHashedEmbedder:
    """The configured embedder: HTTP when EMBEDDING_BASE_URL is set, else the local hashed one.

    Both have `.model`, `.dimensions`, `embed(texts) -> list[list[float]]` and
    `embed_array(texts) -> numpy.ndarray` (float32, rows L2-normalised).
    """
    dimensions = int(settings.EMBEDDING_DIMENSIONS)
    if settings.EMBEDDING_BASE_URL:
        endpoint = HttpEndpoint.from_settings("embedding", settings.EMBEDDING_BASE_URL, settings.EMBEDDING_API_KEY)
        return HttpEmbedder(endpoint, settings.EMBEDDING_MODEL, dimensions)
    return LocalHashedEmbedder(dimensions)


__all__ = ["EMBEDDING_BATCH_SIZE", "HttpEmbedder", "LocalHashedEmbedder", "ProviderError", "get_embedder"]
