"""Chat LLM providers: OpenAI-compatible `/chat/completions` over HTTP, or the local extractive responder.

Both expose the same methods (`complete`, `stream`, `astream`, `complete_json`, plus `acomplete`)
and accept the same generation parameters, validated by `validate_params`:

    temperature 0..2, top_p 0..1, max_tokens 1..8192, reasoning_level low|medium|high

(`None` means "not given"). `reasoning_level` is sent as OpenAI's `reasoning_effort`; a model that
rejects that field (400 naming it) is asked again without it, and likewise for `stream_options`
and `response_format` (JSON mode, sent by `complete_json`: mention "JSON" in the prompt, as OpenAI
requires).

`stream()` / `astream()` return `TextStream` / `AsyncTextStream`: plain (async) iterators of text
deltas that also expose `.text` (everything streamed so far), `.usage` (the server's final usage
chunk when it sent one — we ask with `stream_options.include_usage` — otherwise an estimate,
marked `"estimated": True`), `.finish_reason` and `.model`. Closing a stream early (`close()` /
`aclose()`, e.g. the client disconnected) closes the HTTP response and so stops generation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings

from . import local_llm
from .errors import ProviderError
from .http import HttpEndpoint

PARAM_BOUNDS: dict[str, tuple[float, float]] = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "max_tokens": (1, 8192)}
REASONING_LEVELS = ("low", "medium", "high")
LOCAL_LLM_MODEL = "local-extractive"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    usage: dict = field(default_factory=dict)


def validate_params(params: dict) -> dict:
    """Check generation parameters; returns the given (non-None) ones, raises ValueError otherwise."""
    clean: dict = {}
    for name, value in params.items():
        if value is None:
            continue
        if name == "reasoning_level":
            if value not in REASONING_LEVELS:
                raise ValueError(f"reasoning_level must be one of {', '.join(REASONING_LEVELS)}, got {value!r}")
        elif name in PARAM_BOUNDS:
            low, high = PARAM_BOUNDS[name]
            expected = int if name == "max_tokens" else (int, float)
            if isinstance(value, bool) or not isinstance(value, expected):
                kind = "an integer" if name == "max_tokens" else "a number"
                raise ValueError(f"{name} must be {kind}, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
        else:
            allowed = ", ".join([*PARAM_BOUNDS, "reasoning_level"])
            raise ValueError(f"unknown generation parameter {name!r} (allowed: {allowed})")
        clean[name] = value
    return clean


def _validate_messages(messages: list[dict]) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {role, content} dicts")
    for message in messages:
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"each message needs a role and content, got {message!r}")
    return messages


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 UTF-8 bytes per token) for servers that report no usage."""
    return (len(text.encode("utf-8")) + 3) // 4 if text else 0


def estimate_usage(messages: list[dict], completion_text: str) -> dict:
    prompt = sum(estimate_tokens(json.dumps(m.get("content", ""), ensure_ascii=False)) for m in messages)
    completion = estimate_tokens(completion_text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "estimated": True}  # fmt: skip


def parse_json_object(text: str) -> dict | None:
    """The first JSON object in a model's reply (plain, fenced in ```json, or inside prose)."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidates = [text] + ([fenced.group(1)] if fenced else [])
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for match in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, match.start())
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


# Optional OpenAI fields that some compatible servers or models reject with a 400.
_OPTIONAL_FIELDS = ("reasoning_effort", "stream_options", "response_format")


def _without_rejected_field(payload: dict, error: ProviderError) -> dict:
    """The payload minus the optional field a 400/422 complains about; re-raises `error` otherwise.

    Lets one configuration work with OpenAI reasoning models (which take `reasoning_effort`) and
    with models or servers that refuse it (or `stream_options` / `response_format`).
    """
    if error.status_code in (400, 422):
        reason = error.reason.lower()
        for name in _OPTIONAL_FIELDS:
            if name in payload and (name in reason or (name == "reasoning_effort" and "reasoning" in reason)):
                logger.info("llm provider rejected %r (%s); retrying without it", name, error.reason)
                return {key: value for key, value in payload.items() if key != name}
    raise error


class _StreamState:
    def __init__(self, model: str, messages: list[dict]):
        self.model = model
        self._messages = messages
        self._parts: list[str] = []
        self.reported_usage: dict | None = None
        self.finish_reason: str | None = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def usage(self) -> dict:
        return self.reported_usage or estimate_usage(self._messages, self.text)


class TextStream(_StreamState):
    """A sync iterator of text deltas; see the module docstring."""

    def __init__(self, model: str, messages: list[dict], produce: Callable[[TextStream], Iterator[str]]):
        super().__init__(model, messages)
        self._iterator = produce(self)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        piece = next(self._iterator)
        self._parts.append(piece)
        return piece

    def close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close:
            close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class AsyncTextStream(_StreamState):
    """An async iterator of text deltas; see the module docstring."""

    def __init__(self, model: str, messages: list[dict], produce: Callable[[AsyncTextStream], AsyncIterator[str]]):
        super().__init__(model, messages)
        self._iterator = produce(self)

    def __aiter__(self) -> AsyncTextStream:
        return self

    async def __anext__(self) -> str:
        piece = await self._iterator.__anext__()
        self._parts.append(piece)
        return piece

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose:
            await aclose()

    async def __aenter__(self) -> AsyncTextStream:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


class _BaseLLM:
    model: str

    def complete_json(self, messages: list[dict], **params) -> dict:
        """The JSON object in the reply; ProviderError when the reply holds none."""
        raise NotImplementedError

    def _json_from(self, completion: Completion) -> dict:
        value = parse_json_object(completion.text)
        if value is None:
            raise ProviderError(f"expected a JSON object, got {completion.text[:200]!r}", provider="llm")
        return value


class HttpLLM(_BaseLLM):
    """POST {LLM_BASE_URL}/chat/completions."""

    def __init__(self, endpoint: HttpEndpoint, model: str):
        self.endpoint = endpoint
        self.model = model

    def _payload(self, messages: list[dict], params: dict, *, stream: bool = False, json_mode: bool = False) -> dict:
        params = validate_params(params)
        payload: dict = {"model": self.model, "messages": _validate_messages(messages)}
        for name in ("temperature", "top_p", "max_tokens"):
            if name in params:
                payload[name] = params[name]
        if "reasoning_level" in params:
            payload["reasoning_effort"] = params["reasoning_level"]
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    def _completion(self, messages: list[dict], body: dict) -> Completion:
        try:
            text = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise self.endpoint.error("chat/completions", "reply has no choices[0].message.content") from exc
        text = text or ""
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else estimate_usage(messages, text)
        return Completion(text=text, model=body.get("model") or self.model, usage=usage)

    def _post(self, payload: dict) -> dict:
        while True:
            try:
                return self.endpoint.post_json("chat/completions", payload)
            except ProviderError as exc:
                payload = _without_rejected_field(payload, exc)

    async def _apost(self, payload: dict) -> dict:
        while True:
            try:
                return await self.endpoint.apost_json("chat/completions", payload)
            except ProviderError as exc:
                payload = _without_rejected_field(payload, exc)

    def complete(self, messages: list[dict], **params) -> Completion:
        return self._completion(messages, self._post(self._payload(messages, params)))

    async def acomplete(self, messages: list[dict], **params) -> Completion:
        return self._completion(messages, await self._apost(self._payload(messages, params)))

    def complete_json(self, messages: list[dict], **params) -> dict:
        body = self._post(self._payload(messages, params, json_mode=True))
        return self._json_from(self._completion(messages, body))

    @staticmethod
    def _delta(stream: _StreamState, event: dict) -> str:
        if isinstance(event.get("usage"), dict):
            stream.reported_usage = event["usage"]
        if event.get("model"):
            stream.model = event["model"]
        choices = event.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            stream.finish_reason = choice["finish_reason"]
        # A server that ignored stream=true sends a whole `message` instead of deltas.
        delta = choice.get("delta") or choice.get("message") or {}
        return delta.get("content") or ""

    def stream(self, messages: list[dict], **params) -> TextStream:
        payload = self._payload(messages, params, stream=True)

        def produce(stream: TextStream) -> Iterator[str]:
            current, started = payload, False
            while True:
                events = self.endpoint.stream_events("chat/completions", current)
                try:
                    for event in events:
                        started = True
                        piece = self._delta(stream, event)
                        if piece:
                            yield piece
                    return
                except ProviderError as exc:
                    if started:
                        raise
                    current = _without_rejected_field(current, exc)
                finally:
                    events.close()  # closes the HTTP response: the server stops generating

        return TextStream(self.model, messages, produce)

    def astream(self, messages: list[dict], **params) -> AsyncTextStream:
        payload = self._payload(messages, params, stream=True)

        async def produce(stream: AsyncTextStream) -> AsyncIterator[str]:
            current, started = payload, False
            while True:
                events = self.endpoint.astream_events("chat/completions", current)
                try:
                    async for event in events:
                        started = True
                        piece = self._delta(stream, event)
                        if piece:
                            yield piece
                    return
                except ProviderError as exc:
                    if started:
                        raise
                    current = _without_rejected_field(current, exc)
                finally:
                    await events.aclose()

        return AsyncTextStream(self.model, messages, produce)


class LocalLLM(_BaseLLM):
    """The deterministic offline responder (see `local_llm`); streams word by word."""

    model = LOCAL_LLM_MODEL

    @staticmethod
    def _pieces(messages: list[dict], params: dict) -> list[str]:
        params = validate_params(params)
        pieces = re.findall(r"\S+\s*", local_llm.answer(_validate_messages(messages)))
        return pieces[: params.get("max_tokens", len(pieces))]

    def complete(self, messages: list[dict], **params) -> Completion:
        text = "".join(self._pieces(messages, params))
        return Completion(text=text, model=self.model, usage=estimate_usage(messages, text))

    async def acomplete(self, messages: list[dict], **params) -> Completion:
        return self.complete(messages, **params)

    def complete_json(self, messages: list[dict], **params) -> dict:
        validate_params(params)
        return local_llm.complete_json(_validate_messages(messages))

    def stream(self, messages: list[dict], **params) -> TextStream:
        pieces = self._pieces(messages, params)

        def produce(stream: TextStream) -> Iterator[str]:
            yield from pieces
            stream.finish_reason = "stop"

        return TextStream(self.model, messages, produce)

    def astream(self, messages: list[dict], **params) -> AsyncTextStream:
        validate_params(params)
        _validate_messages(messages)

        async def produce(stream: AsyncTextStream) -> AsyncIterator[str]:
            # Tokenising runs in a thread so the event loop keeps serving other clients.
            pieces = await asyncio.to_thread(self._pieces, messages, params)
            for piece in pieces:
                yield piece
                await asyncio.sleep(0)  # let the event loop flush each piece before the next
            stream.finish_reason = "stop"

        return AsyncTextStream(self.model, messages, produce)


def get_llm() -> HttpLLM | LocalLLM:
    """The configured chat LLM: HTTP when LLM_BASE_URL is set, else the local extractive responder."""
    if settings.LLM_BASE_URL:
        endpoint = HttpEndpoint.from_settings("llm", settings.LLM_BASE_URL, settings.LLM_API_KEY)
        return HttpLLM(endpoint, settings.LLM_MODEL)
    return LocalLLM()
