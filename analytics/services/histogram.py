"""Mergeable histograms kept in the rollups: response times (log-spaced) and retrieval top scores (linear).

Response time: bucket i >= 1 holds the values in (GAMMA^(i-1), GAMMA^i] milliseconds, with
GAMMA = (1 + ALPHA) / (1 - ALPHA); reporting 2 GAMMA^i / (GAMMA + 1) for a value in bucket i is off by
at most ALPHA = 1 % relative (the DDSketch bound). Bucket 0 holds everything up to 1 ms, the last bucket
everything from its lower bound up. The buckets are fixed, so two histograms merge by adding their
counts element-wise: hours add up to days, days to any range, and a percentile of a range is read
from the merged counts (never averaged from per-hour percentiles).
"""

import math
from collections.abc import Iterable

import numpy as np

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
MAX_RESPONSE_MS = 3_600_000  # an hour; slower answers share the last bucket
LATENCY_BUCKETS = math.ceil(math.log(MAX_RESPONSE_MS) / math.log(GAMMA)) + 1

SCORE_BUCKETS = 20  # top retrieval score in [0, 1], 0.05 wide; scores outside are clamped

# The bucket of a response time `{ms}` (a SQL expression giving milliseconds, > 0), 1-based for arrays.
LATENCY_BUCKET_SQL = (
    f"(1 + least({LATENCY_BUCKETS - 1}, greatest(0, ceil(ln(greatest({{ms}}, 1.0)) / {math.log(GAMMA)!r})))::int)"
)
SCORE_BUCKET_SQL = f"(1 + least({SCORE_BUCKETS - 1}, greatest(0, floor({{score}} * {SCORE_BUCKETS})))::int)"


def latency_bucket(ms: float) -> int:
    """0-based bucket of a response time, the same as LATENCY_BUCKET_SQL minus one."""
    return min(LATENCY_BUCKETS - 1, max(0, math.ceil(math.log(max(ms, 1.0)) / math.log(GAMMA))))


def latency_value(bucket: int) -> float:
    """The value reported for a bucket: within ALPHA of every value in it (bucket 0: up to 1 ms)."""
    return 2 * GAMMA**bucket / (GAMMA + 1)


def counts(stored: bytes | memoryview) -> np.ndarray:
    """A stored histogram (big-endian int32 per bucket, as the rollup writes it) as an array."""
    return np.frombuffer(bytes(stored), dtype=">i4")


def encode(values) -> bytes:
    return np.asarray(values, dtype=">i4").tobytes()


def merge(histograms: Iterable[bytes | memoryview | None], size: int) -> np.ndarray:
    """Bucket-wise sum of stored histograms (empty ones count as all zeros)."""
    total = np.zeros(size, dtype=np.int64)
    for stored in histograms:
        if stored:
            total += counts(stored)
    return total


def quantile(counts: np.ndarray, q: float) -> float | None:
    """Nearest-rank q-quantile of a merged response-time histogram, in ms; None when it is empty."""
    n = int(counts.sum())
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    return latency_value(int(np.searchsorted(np.cumsum(counts), rank)))


def score_bucket_edges() -> list[float]:
    return [round(i / SCORE_BUCKETS, 2) for i in range(SCORE_BUCKETS)]
