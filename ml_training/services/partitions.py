"""Monthly partitions of ml_training_performance_metrics (seed 003 §9.6).

The seed declared `PARTITION OF` children of a table that was not partitioned; here the parent is
`PARTITION BY RANGE (measured_at)` (migration 0002) and each month is a partition named
`ml_training_performance_metrics_YYYY_MM`. A row for a month without a partition is refused by
PostgreSQL, so `ensure_partitions()` creates this month's and the next months' partitions ahead of
time: daily beat job `ml_training.create_metric_partitions` and the command of the same name.
"""

import datetime as dt

from django.db import connection
from django.utils import timezone

PARENT = "ml_training_performance_metrics"
MONTHS_AHEAD = 2


def month_start(day: dt.date, months_later: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months_later
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def ensure_partitions(*, today: dt.date | None = None, months_ahead: int = MONTHS_AHEAD, using=None) -> list[str]:
    """Create the partitions from this month to `months_ahead` months later; returns the ones created.

    Idempotent (CREATE TABLE IF NOT EXISTS); bounds are midnight UTC on the first of the month.
    """
    conn = using or connection
    today = today or timezone.now().date()
    created = []
    with conn.cursor() as cursor:
        for offset in range(months_ahead + 1):
            start, end = month_start(today, offset), month_start(today, offset + 1)
            name = partition_name(start)
            cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
            if not cursor.fetchone()[0]:
                continue
            cursor.execute(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{PARENT}" '
                f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') TO ('{end.isoformat()} 00:00:00+00')"
            )
            created.append(name)
    return created


def existing_partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [PARENT],
        )
        return [row[0] for row in cursor.fetchall()]
