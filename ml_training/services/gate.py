"""The promotion gate (NLU): a candidate replaces the champion only when, on the frozen test split,
its macro-F1 is higher by at least δ (`min_f1_gain`, default settings.NLU_PROMOTION_MIN_F1_GAIN)
and McNemar's exact test on the paired right/wrong answers gives p < `ALPHA`. A gain that is not
significant (or below δ) is inconclusive: an A/B test at a small share may start instead. Anything
else is refused. The decision and its reason are stored on the job (`promotion`)."""

from dataclasses import asdict, dataclass

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
