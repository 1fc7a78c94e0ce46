"""A small OpenAI-compatible HTTP client: JSON POSTs and SSE streams, sync and async.

Every call gets the configured timeout, `Authorization: Bearer <key>` when a key is set, and retries
with exponential backoff plus jitter on connection errors, timeouts, 429 and 5xx. Other 4xx answers
are the caller's mistake and fail at once. Whatever fails ends as one `ProviderError` naming the
provider, the URL, the status and the reason.

A stream is retried only until its response starts; once tokens flow, a failure is raised as is
(the caller has already shown part of the answer).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
from django.conf import settings

from .errors import ProviderError

logger = logging.getLogger(__name__)

_RETRYABLE_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_MAX_RETRY_AFTER_SECONDS = 30.0


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs tens of milliseconds of CPU; do it once per process, not per call."""
    return httpx.create_ssl_context()


def is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


def error_reason(response: httpx.Response) -> str:
    """The server's own words: OpenAI's `{"error": {"message": ...}}` or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] or response.reason_phrase or "no response body"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
        if body.get("detail"):
            return str(body["detail"])[:300]
    return json.dumps(body, ensure_ascii=False)[:300]


def _describe_exception(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass
class HttpEndpoint:
    """One OpenAI-compatible base URL (e.g. `http://vllm:8000/v1`) used by one provider kind."""

    provider: str
    base_url: str
    api_key: str = ""
    timeout: float = 30.0
    max_retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_settings(cls, provider: str, base_url: str, api_key: str = "") -> HttpEndpoint:
        return cls(
            provider=provider,
            base_url=base_url,
            api_key=api_key or "",
            timeout=float(settings.PROVIDER_TIMEOUT_SECONDS),
            max_retries=max(0, int(settings.PROVIDER_MAX_RETRIES)),
            backoff=float(getattr(settings, "PROVIDER_RETRY_BACKOFF_SECONDS", 0.5)),
        )

    # --- helpers -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def error(self, path: str, reason: str, *, status_code: int | None = None, attempts: int = 1) -> ProviderError:
        return ProviderError(
            reason, provider=self.provider, url=self.url(path), status_code=status_code, attempts=attempts
        )

    def retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Exponential backoff with jitter; a server's `Retry-After` (seconds) is honoured, capped."""
        delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.0)
        if response is not None:
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = 0.0
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER_SECONDS))
        return delay

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout)

    def _log_retry(self, path: str, attempt: int, reason: str, delay: float) -> None:
        logger.warning(
            "%s provider %s attempt %d failed (%s); retrying in %.2fs",
            self.provider,
            self.url(path),
            attempt + 1,
            reason,
            delay,
        )

    # --- sync ----------------------------------------------------------------------------------

    def post_json(self, path: str, payload: dict) -> dict:
        attempts = self.max_retries + 1
        with httpx.Client(timeout=self._timeout(), verify=shared_ssl_context()) as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                try:
                    response = client.post(self.url(path), json=payload, headers=self.headers())
                except _RETRYABLE_EXCEPTIONS as exc:
                    if last:
                        raise self.error(path, _describe_exception(exc), attempts=attempts) from exc
                    delay = self.retry_delay(attempt)
                    self._log_retry(path, attempt, _describe_exception(exc), delay)
                    time.sleep(delay)
                    continue
                except httpx.HTTPError as exc:
                    raise self.error(path, _describe_exception(exc), attempts=attempt + 1) from exc
                if response.status_code < 400:
                    return self._parse_json(path, response)
                reason = error_reason(response)
                if not is_retryable_status(response.status_code) or last:
                    raise self.error(path, reason, status_code=response.status_code, attempts=attempt + 1)
                delay = self.retry_delay(attempt, response)
                self._log_retry(path, attempt, f"HTTP {response.status_code}", delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def stream_events(self, path: str, payload: dict) -> Iterator[dict]:
        """POST and yield each SSE `data:` JSON object until `[DONE]` (or the stream ends)."""
        attempts = self.max_retries + 1
        with httpx.Client(timeout=self._timeout(), verify=shared_ssl_context()) as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                try:
                    with client.stream("POST", self.url(path), json=payload, headers=self.headers()) as response:
                        if response.status_code >= 400:
                            response.read()
                            reason = error_reason(response)
                            if not is_retryable_status(response.status_code) or last:
                                raise self.error(path, reason, status_code=response.status_code, attempts=attempt + 1)
                            delay = self.retry_delay(attempt, response)
                        else:
                            yield from self._iter_events(path, response)
                            return
                except _RETRYABLE_EXCEPTIONS as exc:
                    if last:
                        raise self.error(path, _describe_exception(exc), attempts=attempts) from exc
                    delay = self.retry_delay(attempt)
                except httpx.HTTPError as exc:
                    raise self.error(path, _describe_exception(exc), attempts=attempt + 1) from exc
                self._log_retry(path, attempt, "stream did not start", delay)
                time.sleep(delay)

    def _iter_events(self, path: str, response: httpx.Response) -> Iterator[dict]:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            # A server that ignored `stream: true` answers with one JSON body: hand it over whole.
            response.read()
            yield self._parse_json(path, response)
            return
        try:
            for line in response.iter_lines():
                event = self._parse_sse_line(path, line)
                if event is _DONE:
                    return
                if event is not None:
                    yield event
        except _RETRYABLE_EXCEPTIONS as exc:
            raise self.error(path, "stream interrupted: " + _describe_exception(exc)) from exc
        raise self.error(path, "stream ended before [DONE] (connection closed mid-answer)")

    # --- async ---------------------------------------------------------------------------------

    async def apost_json(self, path: str, payload: dict) -> dict:
        attempts = self.max_retries + 1
        async with httpx.AsyncClient(timeout=self._timeout(), verify=shared_ssl_context()) as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                try:
                    response = await client.post(self.url(path), json=payload, headers=self.headers())
                except _RETRYABLE_EXCEPTIONS as exc:
                    if last:
                        raise self.error(path, _describe_exception(exc), attempts=attempts) from exc
                    await asyncio.sleep(self.retry_delay(attempt))
                    continue
                except httpx.HTTPError as exc:
                    raise self.error(path, _describe_exception(exc), attempts=attempt + 1) from exc
                if response.status_code < 400:
                    return self._parse_json(path, response)
                reason = error_reason(response)
                if not is_retryable_status(response.status_code) or last:
                    raise self.error(path, reason, status_code=response.status_code, attempts=attempt + 1)
                await asyncio.sleep(self.retry_delay(attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover

    async def astream_events(self, path: str, payload: dict) -> AsyncIterator[dict]:
        attempts = self.max_retries + 1
        async with httpx.AsyncClient(timeout=self._timeout(), verify=shared_ssl_context()) as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                try:
                    async with client.stream("POST", self.url(path), json=payload, headers=self.headers()) as response:
                        if response.status_code >= 400:
                            await response.aread()
                            reason = error_reason(response)
                            if not is_retryable_status(response.status_code) or last:
                                raise self.error(path, reason, status_code=response.status_code, attempts=attempt + 1)
                            delay = self.retry_delay(attempt, response)
                        else:
                            async for event in self._aiter_events(path, response):
                                yield event
                            return
                except _RETRYABLE_EXCEPTIONS as exc:
                    if last:
                        raise self.error(path, _describe_exception(exc), attempts=attempts) from exc
                    delay = self.retry_delay(attempt)
                except httpx.HTTPError as exc:
                    raise self.error(path, _describe_exception(exc), attempts=attempt + 1) from exc
                self._log_retry(path, attempt, "stream did not start", delay)
                await asyncio.sleep(delay)

    async def _aiter_events(self, path: str, response: httpx.Response) -> AsyncIterator[dict]:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
            yield self._parse_json(path, response)
            return
        try:
            async for line in response.aiter_lines():
                event = self._parse_sse_line(path, line)
                if event is _DONE:
                    return
                if event is not None:
                    yield event
        except _RETRYABLE_EXCEPTIONS as exc:
            raise self.error(path, "stream interrupted: " + _describe_exception(exc)) from exc
        raise self.error(path, "stream ended before [DONE] (connection closed mid-answer)")

    # --- parsing -------------------------------------------------------------------------------

    def _parse_json(self, path: str, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            raise self.error(path, "response is not JSON", status_code=response.status_code) from exc
        if not isinstance(body, dict):
            raise self.error(path, "response JSON is not an object", status_code=response.status_code)
        return body

    def _parse_sse_line(self, path: str, line: str):
        """One SSE line -> a JSON object, `_DONE`, or None (blank lines, comments, other fields)."""
        if not line.startswith("data:"):
            return None
        data = line[5:].strip()
        if data == "[DONE]":
            return _DONE
        if not data:
            return None
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise self.error(path, f"malformed SSE data: {data[:120]!r}") from exc
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise self.error(path, f"error inside stream: {message}")
        return event if isinstance(event, dict) else None


_DONE = object()
