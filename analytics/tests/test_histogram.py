import math
import random

import pytest
from django.db import connection

from analytics.services import histogram


@pytest.mark.parametrize("ms", [1.5, 7, 42.3, 100, 999, 1234.5, 60_000, 3_000_000])
def test_a_bucket_reports_its_values_within_one_percent(ms):
    assert histogram.latency_value(histogram.latency_bucket(ms)) == pytest.approx(ms, rel=histogram.ALPHA)


@pytest.mark.django_db
def test_the_database_puts_a_value_in_the_same_bucket_as_python():
    values = [0.2, 1, 1.01, 2.5, 99.9, 100, 4321, 10**7]
    sql = ", ".join(histogram.LATENCY_BUCKET_SQL.format(ms=f"{v}::float") for v in values)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")
        in_database = [b - 1 for b in cursor.fetchone()]

    assert in_database == [histogram.latency_bucket(v) for v in values]


def test_percentiles_of_merged_histograms_are_within_one_percent_of_the_exact_ones():
    rng = random.Random(7)
    hours = [[rng.lognormvariate(6 + hour / 12, 0.8) for _ in range(500)] for hour in range(24)]
    counts = []
    for values in hours:
        hour_counts = [0] * histogram.LATENCY_BUCKETS
        for ms in values:
            hour_counts[histogram.latency_bucket(ms)] += 1
        counts.append(histogram.encode(hour_counts))

    merged = histogram.merge(counts, histogram.LATENCY_BUCKETS)

    everything = sorted(v for values in hours for v in values)
    for q in (0.5, 0.95, 0.99):
        exact = everything[math.ceil(q * len(everything)) - 1]
        assert histogram.quantile(merged, q) == pytest.approx(exact, rel=histogram.ALPHA)


def test_an_empty_histogram_has_no_percentile():
    assert histogram.quantile(histogram.merge([], histogram.LATENCY_BUCKETS), 0.5) is None


@pytest.mark.django_db
def test_hyperloglog_estimates_large_counts_within_a_few_percent_and_small_ones_exactly():
    from analytics.services import hll

    def sketch_of(values):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {hll.REGISTER_SQL.format(value='v')}, max({hll.RANK_SQL.format(value='v')}) "
                "FROM unnest(%s::text[]) AS v GROUP BY 1",
                [values],
            )
            registers = bytearray(hll.REGISTERS)
            for register, rank in cursor.fetchall():
                registers[register - 1] = rank
        return bytes(registers)

    many = [f"session-{i}" for i in range(50_000)]
    merged = hll.merge([sketch_of(many[:30_000]), sketch_of(many[20_000:])])  # overlapping halves

    assert hll.estimate(merged) == pytest.approx(50_000, rel=0.05)
    assert hll.estimate(hll.merge([sketch_of(["a", "b", "c"]), sketch_of(["c", "d"])])) == 4
