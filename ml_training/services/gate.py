"""The promotion gates.

NLU: a candidate replaces the champion only when, on the frozen test split,
its macro-F1 is higher by at least δ (`min_f1_gain`, default settings.NLU_PROMOTION_MIN_F1_GAIN)
and McNemar's exact test on the paired right/wrong answers gives p < `ALPHA`. A gain that is not
significant (or below δ) is inconclusive: an A/B test at a small share may start instead. Anything
else is refused.

Ranking and retrieval (`bootstrap_gate`): over per-query metric values of the champion and the
candidate on the same frozen queries, a paired bootstrap confidence interval of the mean difference;
accepted when the interval lies above 0, inconclusive when the mean gain is positive but the interval
includes 0, refused otherwise. The decision and its reason are stored on the job (`promotion`)."""

from dataclasses import asdict, dataclass, field

import numpy as np
from django.utils.translation import gettext
from scipy.stats import binomtest

ALPHA = 0.05
ACCEPTED, INCONCLUSIVE, REFUSED = "accepted", "inconclusive", "refused"


@dataclass(frozen=True)
class GateDecision:
    decision: str
    reason: str
    champion_macro_f1: float
    candidate_macro_f1: float
    gain: float
    candidate_only_right: int  # McNemar's discordant pairs
    champion_only_right: int
    p_value: float

    def as_dict(self) -> dict:
        return asdict(self)


def mcnemar_p(candidate_only_right: int, champion_only_right: int) -> float:
    """Exact (binomial) two-sided McNemar p-value over the discordant pairs."""
    discordant = candidate_only_right + champion_only_right
    if discordant == 0:
        return 1.0
    return float(binomtest(min(candidate_only_right, champion_only_right), discordant, 0.5).pvalue)


def decide(
    *, truth: list[str], champion: list[str], candidate: list[str], champion_f1: float, candidate_f1: float,
    min_gain: float,
) -> GateDecision:  # fmt: skip
    candidate_only = sum(c == t != h for t, h, c in zip(truth, champion, candidate, strict=True))
    champion_only = sum(h == t != c for t, h, c in zip(truth, champion, candidate, strict=True))
    p = mcnemar_p(candidate_only, champion_only)
    gain = round(candidate_f1 - champion_f1, 4)
    values = {"gain": f"{gain:+}", "min_gain": min_gain, "p": f"{p:.4f}", "alpha": ALPHA}
    if gain >= min_gain and p < ALPHA and candidate_only > champion_only:
        decision, reason = ACCEPTED, gettext("macro-F1 %(gain)s (≥ δ %(min_gain)s) and McNemar p = %(p)s < %(alpha)s")
    elif gain > 0:
        decision = INCONCLUSIVE
        reason = (
            gettext("macro-F1 %(gain)s but below δ %(min_gain)s")
            if gain < min_gain
            else gettext("macro-F1 %(gain)s but McNemar p = %(p)s ≥ %(alpha)s")
        )
    else:
        decision, reason = REFUSED, gettext("macro-F1 %(gain)s on the frozen test split: not better than the champion")
    reason = reason % values
    return GateDecision(decision, reason, champion_f1, candidate_f1, gain, candidate_only, champion_only, round(p, 6))


@dataclass(frozen=True)
class BootstrapDecision:
    decision: str
    reason: str
    metric_name: str
    queries: int
    champion_mean: float
    candidate_mean: float
    gain: float  # mean of candidate - champion over the queries
    ci_low: float
    ci_high: float
    confidence: float
    samples: int
    seed: int
    details: dict = field(default_factory=dict)  # what a model type's own rule adds (rag: AutoRAG MRR)

    def as_dict(self) -> dict:
        return asdict(self)


def bootstrap_gate(
    champion_scores, candidate_scores, *, metric_name: str, samples: int = 2000, confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapDecision:  # fmt: skip
    """Judge a candidate by the paired bootstrap CI of its mean per-query gain in `metric_name`.

    `champion_scores[i]` and `candidate_scores[i]` are the metric of query i under each model; queries
    are resampled with replacement `samples` times (numpy, fixed `seed`, so a re-run gives the same CI).
    """
    champion = np.asarray(champion_scores, dtype=float)
    candidate = np.asarray(candidate_scores, dtype=float)
    if champion.shape != candidate.shape or champion.ndim != 1:
        raise ValueError("champion and candidate scores must be paired per query")
    n = len(champion)
    if n == 0:
        reason = gettext("no frozen test queries to compare %(metric)s on") % {"metric": metric_name}
        return BootstrapDecision(REFUSED, reason, metric_name, 0,
                                 0.0, 0.0, 0.0, 0.0, 0.0, confidence, samples, seed)  # fmt: skip
    differences = candidate - champion
    resampled = differences[np.random.default_rng(seed).integers(0, n, size=(samples, n))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(resampled, [tail, 100 - tail]))
    gain = float(differences.mean())
    interval = gettext("%(metric)s %(gain)s, %(confidence)s CI [%(low)s, %(high)s] over %(queries)s queries") % {
        "metric": metric_name, "gain": f"{gain:+.4f}", "confidence": f"{confidence:.0%}", "low": f"{low:+.4f}",
        "high": f"{high:+.4f}", "queries": n,
    }  # fmt: skip
    if low > 0:
        decision, reason = ACCEPTED, gettext("%(interval)s: excludes 0")
    elif gain > 0:
        decision, reason = INCONCLUSIVE, gettext("%(interval)s: includes 0")
    else:
        decision, reason = REFUSED, gettext("%(interval)s: not better than the champion")
    reason = reason % {"interval": interval}
    return BootstrapDecision(decision, reason, metric_name, n, round(float(champion.mean()), 4),
                             round(float(candidate.mean()), 4), round(gain, 4), round(low, 4), round(high, 4),
                             confidence, samples, seed)  # fmt: skip
