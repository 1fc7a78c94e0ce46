"""The promotion gate of the rag model: the generic bootstrap gate (`gate.bootstrap_gate`) on the
held-out queries' MRR, plus the rag rule: whatever the held-out queries say, a candidate whose
parameters make the public AutoRAG set worse than the champion's by more than `tolerance` (MRR) is
refused.
"""

from dataclasses import replace

from django.utils.translation import gettext

from ml_training.services.gate import REFUSED, BootstrapDecision


def rag_decision(held_out: BootstrapDecision, autorag: dict[str, dict], *, tolerance: float) -> BootstrapDecision:
    """`held_out`'s verdict unless a parameter set loses more than `tolerance` MRR on AutoRAG against the
    champion's parameters for the same rag_key. autorag: {set name: {"candidate": mrr, "champion": mrr}}."""
    drops = {name: round(row["champion"] - row["candidate"], 4) for name, row in autorag.items()}
    details = {"autorag": autorag, "autorag_tolerance": tolerance}
    worse = {name: drop for name, drop in drops.items() if drop > tolerance}
    if worse:
        name, drop = max(worse.items(), key=lambda item: item[1])
        reason = gettext(
            "AutoRAG MRR of %(name)s is %(drop)s below the champion's (tolerance %(tolerance)s); held-out: %(held_out)s"
        ) % {"name": name, "drop": f"{drop:.4f}", "tolerance": tolerance, "held_out": held_out.reason}
        return replace(held_out, decision=REFUSED, reason=reason, details=details)
    return replace(held_out, details=details)
