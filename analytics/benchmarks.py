"""Measurements shared by the chat benchmarks (`bench_chat_logging`, `bench_knowledge_chat`): chat
latency with message logging on vs off, the flush of the queued logs, and SSE time to first token."""

import statistics
import time
from collections.abc import Callable, Iterable

from django.test import override_settings

from analytics.services.message_logs import flush_log_outbox
from config.benchmarks import percentile


def time_logging_on_off(run: Callable[[bool, int], object], turns: int, *, warmup: int = 1) -> dict[bool, list[float]]:
    """Milliseconds of `run(logging, i)` for logging on (True) and off (False), `turns` each.

    The sides alternate in ABBA order so that drift in machine load hits both alike; `warmup` rounds
    of each side run first and are not counted. DEBUG is off, as in production: its per-query log
    would be measured too otherwise.
    """
    with override_settings(DEBUG=False):
        for i in range(warmup):
            run(True, i)
            run(False, i)
        timings: dict[bool, list[float]] = {True: [], False: []}
        for i in range(turns):
            for logging in (True, False) if i % 2 == 0 else (False, True):
                started = time.perf_counter()
                run(logging, i)
                timings[logging].append((time.perf_counter() - started) * 1000)
    return timings


def write_logging_on_off(
    stdout,
    timings: dict[bool, list[float]],
    *,
    target: float = 1.05,
    switch: str = "logging",
    tail_target: float | None = None,
) -> None:
    """p50/p95/mean with `switch` on and off; the verdict holds the p50 ratio to `target` and, when given, the
    p95 ratio to `tail_target`."""
    on, off = timings[True], timings[False]
    stdout.write(f"chat latency, {len(on)} turns per variant (ms):")
    stdout.write(f"  {'':16}{'p50':>9}{'p95':>9}{'mean':>9}")
    for label, values in ((f"{switch} on", on), (f"{switch} off", off)):
        stdout.write(
            f"  {label:16}{percentile(values, 0.5):9.1f}{percentile(values, 0.95):9.1f}{statistics.fmean(values):9.1f}"
        )
    p50_ratio = percentile(on, 0.5) / percentile(off, 0.5)
    p95_ratio = percentile(on, 0.95) / percentile(off, 0.95)
    held = p50_ratio <= target and (tail_target is None or p95_ratio <= tail_target)
    targets = f"p50 <= {target}" + ("" if tail_target is None else f", p95 <= {tail_target}")
    verdict = "OK" if held else "ABOVE TARGET"
    stdout.write(f"  ratio on/off: p50 {p50_ratio:.3f}, p95 {p95_ratio:.3f} (target {targets}: {verdict})")


def write_flush_cost(stdout) -> None:
    """Flush what the logged side queued and print its cost per exchange (the worker's, off the chat path)."""
    started = time.perf_counter()
    written = flush_log_outbox().written
    if written:
        per_exchange = (time.perf_counter() - started) * 1000 / written
        stdout.write(f"  the worker's flush of the queued logs: {per_exchange:.2f} ms per exchange ({written} written)")


def time_first_token(client, path: str, bodies: Iterable[dict], *, headers: dict, warmup: int = 2):
    """POST each body to the SSE endpoint `path`; return (time to first `token` event, whole stream) in ms.

    The first `warmup` requests warm the server up and are not counted. A non-200 answer raises.
    """
    first_token_ms, total_ms = [], []
    for number, body in enumerate(bodies):
        started = time.perf_counter()
        first = None
        with client.stream("POST", path, json=body, headers=headers) as response:
            if response.status_code != 200:
                raise RuntimeError(f"stream answered {response.status_code}: {response.read()[:300]!r}")
            for line in response.iter_lines():
                if first is None and line == "event: token":
                    first = time.perf_counter()
        ended = time.perf_counter()
        if number >= warmup and first is not None:
            first_token_ms.append((first - started) * 1000)
            total_ms.append((ended - started) * 1000)
    return first_token_ms, total_ms


def write_first_token(stdout, first_token_ms: list[float], total_ms: list[float]) -> None:
    stdout.write(f"SSE over a live ASGI server (uvicorn, 127.0.0.1), {len(first_token_ms)} requests (ms):")
    stdout.write(f"  {'':20}{'p50':>9}{'p95':>9}")
    for label, values in (("time to first token", first_token_ms), ("whole stream", total_ms)):
        stdout.write(f"  {label:20}{percentile(values, 0.5):9.1f}{percentile(values, 0.95):9.1f}")
