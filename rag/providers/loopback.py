"""A loopback OpenAI-compatible server: the only stand-in allowed for model providers in tests, and the
"HTTP LLM that answers at once" of `bench_knowledge_chat --llm-stub`.

Usage in any app's tests (the fixture lives in `rag.tests.openai_server`)::

    from rag.tests.openai_server import openai_server  # noqa: F401  (the pytest fixture)

    def test_answer_uses_the_llm(openai_server):
        openai_server.chat_reply = "서울역 근처예요."          # or a callable(request_json) -> str
        ...                                                   # code under test calls get_llm()
        assert openai_server.requests_to("/chat/completions")[0].json["model"] == "stub-llm"

The fixture starts one server on 127.0.0.1 (random port) and points every provider at it through
pytest-django's `settings`: LLM_BASE_URL / EMBEDDING_BASE_URL / AI_IMAGE_MODEL_BASE_URL, API keys
(`test-llm-key`, `test-embedding-key`, `test-vision-key`), model names (`stub-llm`,
`stub-embedding`, `stub-vision`), a 2 s timeout, 2 retries and a 10 ms backoff. To keep one provider
local, blank its base URL afterwards (`settings.EMBEDDING_BASE_URL = ""`). For a server in another
process, `server.env()` gives the same configuration as environment variables.

Endpoints (under `/v1`):

* `POST /v1/embeddings`: one vector per input, `data` sorted in REVERSE index order by default
  (`embeddings_reversed`) so clients must order by `index`. Vectors come from `embedding_fn(text)`;
  the default is the project's local hashed embedder (meaningful similarities, deterministic).
* `POST /v1/chat/completions`: replies `chat_reply` (str, or callable taking the request JSON).
  `reply_json(obj)` makes it reply that object as JSON text. With `"stream": true` it answers with
  SSE chunks (one word each, `stream_delay` seconds apart, role chunk first, finish chunk, a usage
  chunk when `stream_options.include_usage` and `stream_usage` is true, then `data: [DONE]`).
  `stream_break_after = n` drops the connection after n content chunks (no `[DONE]`).

Failure injection: `fail_next(n, status=500)` (or 429, 400, ...), `fail_next(n, timeout=True)`
(the handler sleeps `timeout_sleep` seconds before answering, so a client with a shorter timeout
times out). Failures are consumed in order by the next requests to any endpoint.

Every request is recorded in `requests` (`RecordedRequest(method, path, headers, json)`, header
names lower-cased) — including the failed ones.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: dict | None

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")


@dataclass
class _Failure:
    status: int = 500
    timeout: bool = False
    body: dict = field(default_factory=lambda: {"error": {"message": "injected failure", "type": "server_error"}})
    headers: dict = field(default_factory=dict)


def _local_embedding_fn(dimensions: int) -> Callable[[str], list[float]]:
    from rag.providers.local_embedder import LocalHashedEmbedder

    embedder = LocalHashedEmbedder(dimensions)
    return lambda text: embedder.embed([text])[0]


class OpenAIStubServer:
    """See the module docstring. Use as a context manager or call `start()` / `stop()`."""

    def __init__(
        self, *, embedding_dimensions: int = 1536, chat_reply: str | Callable[[dict], str] = "스텁 응답입니다."
    ):
        self.embedding_dimensions = embedding_dimensions
        self.embedding_fn: Callable[[str], list[float]] | None = None
        self.embeddings_reversed = True
        self.chat_reply = chat_reply
        self.stream_delay = 0.01
        self.stream_break_after: int | None = None
        self.stream_usage = True  # send the usage chunk when the client asks (include_usage)
        self.timeout_sleep = 3.0
        self.requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- configuration -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply_json(self, obj) -> None:
        """Make chat completions answer with `obj` serialised as JSON text."""
        self.chat_reply = json.dumps(obj, ensure_ascii=False)

    def fail_next(self, count: int = 1, *, status: int = 500, timeout: bool = False, body=None, headers=None):
        """The next `count` requests fail with `status` (or hang for `timeout_sleep` s when timeout=True)."""
        for _ in range(count):
            failure = _Failure(status=status, timeout=timeout, headers=dict(headers or {}))
            if body is not None:
                failure.body = body
            self._failures.append(failure)

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def env(self) -> dict[str, str]:
        """Environment variables pointing a separate process's providers at this server."""
        return {
            "LLM_BASE_URL": self.base_url,
            "LLM_MODEL": "stub-llm",
            "LLM_API_KEY": "test-llm-key",
            "EMBEDDING_BASE_URL": self.base_url,
            "EMBEDDING_MODEL": "stub-embedding",
            "EMBEDDING_API_KEY": "test-embedding-key",
            "EMBEDDING_DIMENSIONS": str(self.embedding_dimensions),
            "AI_IMAGE_MODEL_BASE_URL": self.base_url,
            "AI_IMAGE_MODEL_NAME": "stub-vision",
            "AI_IMAGE_MODEL_API_KEY": "test-vision-key",
        }

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> OpenAIStubServer:
        handler = type("StubHandler", (_Handler,), {"stub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="openai-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- request handling (called from handler threads) ----------------------------------------

    def _record(self, request: RecordedRequest) -> _Failure | None:
        with self._lock:
            self.requests.append(request)
            return self._failures.popleft() if self._failures else None

    def _reply_text(self, body: dict) -> str:
        return self.chat_reply(body) if callable(self.chat_reply) else str(self.chat_reply)

    def _embedding(self, text: str) -> list[float]:
        if self.embedding_fn is None:
            self.embedding_fn = _local_embedding_fn(self.embedding_dimensions)
        return list(self.embedding_fn(text))


def _estimate_tokens(text: str) -> int:
    return max(1, len(text.encode("utf-8")) // 4) if text else 0


class _Handler(BaseHTTPRequestHandler):
    stub: OpenAIStubServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        failure = self.stub._record(
            RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        try:
            if failure is not None:
                self._fail(failure)
            elif not isinstance(body, dict):
                self._send_json(400, {"error": {"message": "body must be a JSON object", "type": "invalid_request"}})
            elif self.path.rstrip("/").endswith("/embeddings"):
                self._embeddings(body)
            elif self.path.rstrip("/").endswith("/chat/completions"):
                self._chat(body)
            else:
                self._send_json(404, {"error": {"message": f"unknown path {self.path}", "type": "not_found"}})
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout, disconnect)
            pass

    def _fail(self, failure: _Failure):
        if failure.timeout:
            time.sleep(self.stub.timeout_sleep)
        self._send_json(failure.status, failure.body, failure.headers)

    def _send_json(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)

    def _embeddings(self, body: dict):
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            self._send_json(400, {"error": {"message": "input must be a string or list of strings"}})
            return
        data = [{"object": "embedding", "index": i, "embedding": self.stub._embedding(t)} for i, t in enumerate(inputs)]
        if self.stub.embeddings_reversed:
            data.reverse()
        tokens = sum(_estimate_tokens(t) for t in inputs)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _chat(self, body: dict):
        text = self.stub._reply_text(body)
        model = body.get("model", "")
        prompt_tokens = sum(_estimate_tokens(str(m.get("content", ""))) for m in body.get("messages") or [])
        pieces = re.findall(r"\S+\s*", text) or [text]
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        if not body.get("stream"):
            self._send_json(
                200,
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def chunk(delta: dict, finish_reason=None, **extra):
            event = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            self._send_event(event)

        chunk({"role": "assistant", "content": ""})
        for number, piece in enumerate(pieces):
            if self.stub.stream_break_after is not None and number >= self.stub.stream_break_after:
                self.wfile.flush()
                self.connection.close()
                return
            time.sleep(self.stub.stream_delay)
            chunk({"content": piece})
        chunk({}, "stop")
        if self.stub.stream_usage and (body.get("stream_options") or {}).get("include_usage"):
            final = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": model, "choices": []}
            self._send_event({**final, "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _send_event(self, event: dict):
        self.wfile.write(b"data: " + json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n\n")
        self.wfile.flush()
