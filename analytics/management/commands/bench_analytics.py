"""Benchmark the analytics reads: rollups vs percentile_cont over the raw logs, in one run.

    python manage.py bench_analytics [--logs 5000000] [--days 30] [--repeat 30] [--raw-repeat 3] [--keep-db]

1. creates database `bench_analytics_<pid>`, migrates it and generates `--logs` message logs over
   `--days` days with one INSERT ... SELECT over generate_series (`analytics.traffic`), then ANALYZE;
2. rolls them up (`statistics.roll_up`, the scheduled job), prints how long that took, and
   VACUUM ANALYZEs the rollup table (as autovacuum would);
3. times the dashboard's question - a `--days` summary plus its daily timeline - answered from the
   rollups (`reports.summary` + `reports.timeline`, what the API serves) `--repeat` times, and
   the same numbers computed from the raw rows with percentile_cont `--raw-repeat` times;
4. prints p50/p95 of both, the speed-up, and how far the merged-histogram percentiles are from
   the exact ones (overall and per day), next to what averaging hourly p95s would have said.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from analytics import traffic
from analytics.models import ChatStatistics, ConversationHistory, MessageLog
from analytics.services import reports, statistics
from config.benchmarks import percentile, throwaway_database

TARGET_P95_MS = 100
TARGET_SPEEDUP = 50
TARGET_ERROR = 0.01

_MS = statistics.JSON_NUMBER.format(column="performance", key="response_time_ms")
_RAW_SUMMARY = f"""
SELECT count(*) FILTER (WHERE NOT regenerated), avg({_MS}),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_MS}), percentile_cont(0.95) WITHIN GROUP (ORDER BY {_MS}),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY {_MS}),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY {_MS}), percentile_disc(0.95) WITHIN GROUP (ORDER BY {_MS}),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY {_MS}),
       count(*) FILTER (WHERE error <> ''),
       (SELECT count(DISTINCT (channel, collection_name, session_id)) FROM {MessageLog._meta.db_table}
        WHERE created_at >= %(start)s AND created_at < %(end)s)
FROM {MessageLog._meta.db_table}
WHERE message_type = 'assistant' AND created_at >= %(start)s AND created_at < %(end)s
"""
_RAW_TIMELINE = f"""
SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, count(*) FILTER (WHERE NOT regenerated),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_MS}), percentile_cont(0.95) WITHIN GROUP (ORDER BY {_MS}),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY {_MS}),
       -- the exact nearest-rank percentiles, the definition the histogram's one-per-cent bound is about
       percentile_disc(0.5) WITHIN GROUP (ORDER BY {_MS}), percentile_disc(0.95) WITHIN GROUP (ORDER BY {_MS}),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY {_MS}), count(DISTINCT session_id)
FROM {MessageLog._meta.db_table}
WHERE message_type = 'assistant' AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY 1 ORDER BY 1
"""
_AVERAGED_HOURLY_P95 = """
SELECT sum(p95_response_time_ms * response_count) / sum(response_count) FROM chat_statistics
WHERE period = 'hour' AND period_start >= %(start)s AND period_start < %(end)s
"""


class Command(BaseCommand):
    help = "Rollup summary + timeline vs percentile_cont over raw logs, on a throw-away database."

    def add_arguments(self, parser):
        parser.add_argument("--logs", type=int, default=5_000_000, help="message logs to generate (2 per exchange)")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--repeat", type=int, default=30, help="timed rollup reads")
        parser.add_argument("--raw-repeat", type=int, default=3, help="timed raw percentile_cont reads")
        parser.add_argument("--keep-db", action="store_true")

    def handle(self, *args, **options):
        if options["logs"] < 2 or not 1 <= options["days"] <= reports.MAX_DAYS:
            raise CommandError("--logs must be >= 2 and --days between 1 and 366")
        with throwaway_database("bench_analytics", apps=("analytics",), keep=options["keep_db"], stdout=self.stdout):
            self._run(options)

    def _run(self, options):
        days = options["days"]
        range_ = reports.resolve_range(period=reports.DAILY, days=days)
        started = time.perf_counter()
        written = traffic.generate(traffic.Traffic(start=range_.start, days=days, exchanges=options["logs"] // 2))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"generated {written:,} message logs and {ConversationHistory.objects.count():,} conversations "
            f"over {days} days in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        rolled = statistics.roll_up()
        self.stdout.write(
            f"roll_up: {rolled.hours:,} hourly rows over {rolled.days} days in {time.perf_counter() - started:.1f} s"
        )
        with connection.cursor() as cursor:  # what autovacuum does to a freshly written table in production
            cursor.execute(f"VACUUM ANALYZE {ChatStatistics._meta.db_table}")

        def from_rollups():
            return reports.summary(range_), reports.timeline(range_)

        def from_raw():
            params = {"start": range_.start, "end": range_.end, "tz": settings.TIME_ZONE}
            with connection.cursor() as cursor:
                cursor.execute(_RAW_SUMMARY, params)
                summary = cursor.fetchone()
                cursor.execute(_RAW_TIMELINE, params)
                return summary, cursor.fetchall()

        from_rollups()  # warm the caches alike for both sides
        rollup_ms, (summary, timeline) = _timed(from_rollups, options["repeat"])
        raw_ms, (raw_summary, raw_timeline) = _timed(from_raw, options["raw_repeat"])

        self.stdout.write(f"{days}-day summary + daily timeline ({len(timeline)} points), ms:")
        self.stdout.write(f"  {'':34}{'p50':>10}{'p95':>10}{'runs':>6}")
        self.stdout.write(f"  {'rollups (merged histograms)':34}{percentile(rollup_ms, 0.5):10.1f}"
                          f"{percentile(rollup_ms, 0.95):10.1f}{len(rollup_ms):6}")  # fmt: skip
        self.stdout.write(f"  {'raw rows (percentile_cont)':34}{percentile(raw_ms, 0.5):10.1f}"
                          f"{percentile(raw_ms, 0.95):10.1f}{len(raw_ms):6}")  # fmt: skip
        speedup = percentile(raw_ms, 0.5) / percentile(rollup_ms, 0.5)
        p95 = percentile(rollup_ms, 0.95)
        self.stdout.write(
            f"  rollup p95 {p95:.1f} ms (target <= {TARGET_P95_MS}: {'OK' if p95 <= TARGET_P95_MS else 'MISSED'}); "
            f"speed-up {speedup:.0f}x (target >= {TARGET_SPEEDUP}x: {'OK' if speedup >= TARGET_SPEEDUP else 'MISSED'})"
        )
        self._accuracy(summary, timeline, raw_summary, raw_timeline, range_)

    def _accuracy(self, summary, timeline, raw_summary, raw_timeline, range_):
        queries, _avg, *percentiles, _errors, sessions = raw_summary
        interpolated, exact = percentiles[:3], percentiles[3:]
        self.stdout.write("accuracy of the rollups against the raw rows:")
        self.stdout.write(
            f"  queries {summary['queries']:,} vs {queries:,}; sessions {summary['unique_sessions']:,} (HyperLogLog) "
            f"vs {sessions:,} ({abs(summary['unique_sessions'] - sessions) / max(sessions, 1) * 100:.2f} % off)"
        )
        worst = 0.0
        for name, nearest, cont in zip(("p50", "p95", "p99"), exact, interpolated, strict=True):
            merged = summary["response_time_ms"][name]
            error = abs(merged - nearest) / nearest
            worst = max(worst, error)
            self.stdout.write(
                f"  {name}: merged {merged:9.1f} ms, exact {nearest:9.1f} ms, error {error * 100:.2f} % "
                f"(percentile_cont {cont:9.1f} ms, {abs(merged - cont) / cont * 100:.2f} %)"
            )
        by_day = {p["start"][:10]: p for p in timeline}
        day_worst = day_cont_worst = 0.0
        for day, day_queries, *day_percentiles, _sessions in raw_timeline:
            point = by_day[day.isoformat()]
            assert point["queries"] == day_queries, (day, point["queries"], day_queries)
            for index, name in enumerate(("p50", "p95", "p99")):
                merged = point["response_time_ms"][name]
                cont, nearest = day_percentiles[index], day_percentiles[3 + index]
                day_worst = max(day_worst, abs(merged - nearest) / nearest)
                day_cont_worst = max(day_cont_worst, abs(merged - cont) / cont)
        worst = max(worst, day_worst)
        self.stdout.write(
            f"  per day: queries equal on all {len(raw_timeline)} days, worst percentile error {day_worst * 100:.2f} % "
            f"({day_cont_worst * 100:.2f} % from percentile_cont's interpolation)"
        )
        with connection.cursor() as cursor:
            cursor.execute(_AVERAGED_HOURLY_P95, {"start": range_.start, "end": range_.end})
            (averaged,) = cursor.fetchone()
        self.stdout.write(
            f"  (averaging the hourly p95s instead would say {averaged:.1f} ms, "
            f"{abs(averaged - exact[1]) / exact[1] * 100:.1f} % off)"
        )
        self.stdout.write(
            f"  worst error {worst * 100:.2f} % (target <= {TARGET_ERROR * 100:.0f} %: "
            f"{'OK' if worst <= TARGET_ERROR else 'MISSED'})"
        )


def _timed(function, runs: int):
    timings, result = [], None
    for _ in range(max(1, runs)):
        started = time.perf_counter()
        result = function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, result
