"""The promotion gate of the rag model.

`bootstrap_gate` is generic: paired per-query metrics of a candidate and the champion on the same
frozen queries; the percentile bootstrap confidence interval of the mean difference decides - it lies
above 0: accepted; the mean gain is positive but the interval reaches 0: inconclusive (an A/B test may
start); otherwise refused.

`rag_decision` adds the rag rule: whatever the held-out queries say, a candidate whose parameters make
the public AutoRAG set worse than the champion's by more than `tolerance` (MRR) is refused.
"""

from dataclasses import asdict, dataclass, field

import numpy as np

from ml_training.services.gate import ACCEPTED, INCONCLUSIVE, REFUSED

CONFIDENCE = 0.95


@dataclass(frozen=True)
class BootstrapDecision:
    decision: str
    reason: str
    metric: str
    queries: int
    champion: float  # mean metric
    candidate: float
    gain: float  # candidate - champion (mean)
    ci_low: float
    ci_high: float
    confidence: float
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def bootstrap_gate(
    candidate, champion, *, metric: str, resamples: int = 2000, confidence: float = CONFIDENCE, seed: int = 0
) -> BootstrapDecision:
    """Judge paired per-query metric arrays (same queries, same order) by the bootstrap CI of the mean gain."""
    candidate, champion = np.asarray(candidate, dtype=float), np.asarray(champion, dtype=float)
    if candidate.shape != champion.shape:
        raise ValueError("candidate and champion metrics must be paired (same length)")
    n = len(candidate)
    if n == 0:
        return BootstrapDecision(REFUSED, f"no frozen queries to compare {metric} on", metric, 0, 0.0, 0.0, 0.0,
                                 0.0, 0.0, confidence)  # fmt: skip
    difference = candidate - champion
    rng = np.random.default_rng(seed)
    means = difference[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = (float(value) for value in np.quantile(means, [tail, 1.0 - tail]))
    gain = float(difference.mean())
    interval = f"{metric} {gain:+.4f} on {n} queries, {confidence:.0%} CI [{low:+.4f}, {high:+.4f}]"
    if low > 0:
        decision, reason = ACCEPTED, f"{interval} excludes 0"
    elif gain > 0:
        decision, reason = INCONCLUSIVE, f"{interval} includes 0"
    else:
        decision, reason = REFUSED, f"{interval}: not better than the champion"
    return BootstrapDecision(decision, reason, metric, n, round(float(champion.mean()), 4),
                             round(float(candidate.mean()), 4), round(gain, 4), round(low, 4), round(high, 4),
                             confidence)  # fmt: skip


def rag_decision(held_out: BootstrapDecision, autorag: dict[str, dict], *, tolerance: float) -> BootstrapDecision:
    """`held_out`'s verdict unless a parameter set loses more than `tolerance` MRR on AutoRAG against the
    champion's parameters for the same rag_key. autorag: {set name: {"candidate": mrr, "champion": mrr}}."""
    drops = {name: round(row["champion"] - row["candidate"], 4) for name, row in autorag.items()}
    details = {"autorag": autorag, "autorag_tolerance": tolerance}
    worse = {name: drop for name, drop in drops.items() if drop > tolerance}
    if worse:
        name, drop = max(worse.items(), key=lambda item: item[1])
        reason = (
            f"AutoRAG MRR of {name} is {drop:.4f} below the champion's (tolerance {tolerance}); "
            f"held-out: {held_out.reason}"
        )
        return BootstrapDecision(**{**asdict(held_out), "decision": REFUSED, "reason": reason, "details": details})
    return BootstrapDecision(**{**asdict(held_out), "details": details})
