"""Helpers shared by the benchmark commands (`bench_*`): percentiles, a throw-away database and an
HTTP load driver."""

import io
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test.utils import override_settings


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: `percentile(latencies, 0.95)` is the p95."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _point_default_connection_at(name: str) -> None:
    connection = connections["default"]
    connection.close()
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close_pool()
    connection.settings_dict["NAME"] = name


@contextmanager
def throwaway_database(prefix: str, *, apps: tuple[str, ...] = (), keep: bool = False, stdout=None):
    """Create `<prefix>_<pid>`, migrate it (all apps, or only `apps`), make it the default database
    for the duration, then drop it: benchmarks never touch the development data.

    Yields the database name, so that subprocesses (e.g. a uvicorn server) can be pointed at it.
    The cache gets a key prefix of its own too (in this process and, through CACHE_KEY_PREFIX, in the
    subprocesses it starts): cached session contexts, user contexts and search results of the development
    database must not answer for rows of the throw-away one.
    """
    say = stdout.write if stdout else (lambda message: None)
    original = connections["default"].settings_dict["NAME"]
    name = f"{prefix}_{os.getpid()}"
    cache_prefix = f"{settings.CACHES['default']['KEY_PREFIX']}:{name}"
    previous_env = os.environ.get("CACHE_KEY_PREFIX")
    with connections["default"].cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    _point_default_connection_at(name)
    os.environ["CACHE_KEY_PREFIX"] = cache_prefix
    own_cache = override_settings(CACHES={"default": {**settings.CACHES["default"], "KEY_PREFIX": cache_prefix}})
    own_cache.enable()
    try:
        for app in apps or (None,):
            call_command("migrate", *([app] if app else []), verbosity=0, interactive=False)
        say(f"database {name}: created and migrated")
        yield name
    finally:
        own_cache.disable()
        if previous_env is None:
            os.environ.pop("CACHE_KEY_PREFIX", None)
        else:
            os.environ["CACHE_KEY_PREFIX"] = previous_env
        _point_default_connection_at(original)
        if keep:
            say(f"database {name}: kept")
        else:
            with connections["default"].cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"database {name}: dropped")


def api_token_for(username: str, *, staff: bool = False) -> str:
    """A new API token of that user (created if needed), through `manage.py issue_token`."""
    out, quiet = io.StringIO(), io.StringIO()
    call_command("issue_token", username, staff=staff, stdout=out, stderr=quiet)
    return out.getvalue().split()[-1]


def database_url(name: str) -> str:
    """The configured DATABASE_URL pointed at database `name` (for a server started in a subprocess)."""
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings

    return urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{name}"))


@dataclass
class LoadResult:
    """What `drive_http_load` measured: each request's latency and status (or exception name)."""

    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    wall_s: float = 0.0

    def merged_with(self, other: "LoadResult") -> "LoadResult":
        """Both runs as one (their requests and their wall time added up)."""
        return LoadResult(
            self.latencies_ms + other.latencies_ms, self.outcomes + other.outcomes, self.wall_s + other.wall_s
        )

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    @property
    def server_errors(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if not isinstance(outcome, int) or outcome >= 500)

    def summary(self) -> str:
        p50, p95, p99 = (percentile(self.latencies_ms, fraction) for fraction in (0.5, 0.95, 0.99))
        return (
            f"{len(self.latencies_ms):5d} req {self.per_second:6.1f}/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  p99 {p99:6.1f} ms"
            f"  outcomes {dict(sorted(self.outcomes.items(), key=str))}"
        )


def drive_http_load(
    base_url: str,
    request_for: Callable[[int, int], tuple[str, str, dict]],
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    timeout: float = 30.0,
    outcome_of: Callable[[int, bytes], int | str] | None = None,
) -> LoadResult:
    """`clients` concurrent keep-alive HTTP clients (one asyncio loop, aiohttp) sending requests back
    to back until `seconds` have passed or `max_requests` were sent, whichever comes first.

    aiohttp rather than httpx: the clients share the machine with the server they measure, and
    httpx spent about 1.5 ms of CPU per request where aiohttp spends 0.4 ms.
    `request_for(client_index, request_number)` returns (method, path, aiohttp keyword arguments:
    `json`, `headers`, `data`). The response body is read whole. A request that fails below HTTP
    counts under its exception's name; nothing is retried. `outcome_of(status, body)` names what a
    response counts as (default: its status code).
    """
    import asyncio

    import aiohttp

    result = LoadResult()
    sent = 0

    async def client_loop(session: aiohttp.ClientSession, index: int, deadline: float) -> None:
        nonlocal sent
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            method, path, kwargs = request_for(index, sent)
            began = time.perf_counter()
            try:
                async with session.request(method, path, **kwargs) as response:
                    body = await response.read()
                outcome = outcome_of(response.status, body) if outcome_of else response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                outcome = type(exc).__name__
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            result.outcomes[outcome] += 1

    async def run() -> None:
        connector = aiohttp.TCPConnector(limit=clients)  # one keep-alive connection per client
        async with aiohttp.ClientSession(
            base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as session:
            started = time.perf_counter()
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(client_loop(session, index, deadline) for index in range(clients)))
            result.wall_s = time.perf_counter() - started

    asyncio.run(run())
    return result


def measure_stream(pieces, *, rows: int, label: str, trace: bool = False) -> str:
    """Consume an export's byte pieces and say how fast it went and the process's peak memory so far
    (max RSS; with `trace`, peak Python allocations too): run after N/10 and N rows, a flat peak shows
    the export streams instead of holding its rows."""
    import resource
    import time
    import tracemalloc

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    written = sum(len(piece) for piece in pieces)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    traced = ""
    if trace:
        traced = f", peak Python allocations {tracemalloc.get_traced_memory()[1] / 1e6:.1f} MB"
        tracemalloc.stop()
    return (
        f"  {label} of {rows:,} rows: {elapsed:.1f} s = {rows / max(elapsed, 1e-9):,.0f} rows/s, "
        f"{written / 1e6:,.0f} MB written; process peak memory so far {peak_mb:.0f} MB{traced}"
    )
