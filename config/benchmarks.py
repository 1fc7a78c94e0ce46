"""Helpers shared by the benchmark commands (`bench_*`): percentiles and a throw-away database."""

import math
import os
from contextlib import contextmanager

from django.core.management import call_command
from django.db import connections


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
    """
    say = stdout.write if stdout else (lambda message: None)
    original = connections["default"].settings_dict["NAME"]
    name = f"{prefix}_{os.getpid()}"
    with connections["default"].cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    _point_default_connection_at(name)
    try:
        for app in apps or (None,):
            call_command("migrate", *([app] if app else []), verbosity=0, interactive=False)
        say(f"database {name}: created and migrated")
        yield name
    finally:
        _point_default_connection_at(original)
        if keep:
            say(f"database {name}: kept")
        else:
            with connections["default"].cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"database {name}: dropped")
