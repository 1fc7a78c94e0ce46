"""What a trainer gives the job runner (services.jobs), one trainer per model type.

A trainer is a `Trainer(options, run)`: `options` is its config schema (validated before any job
exists), `run(job, config, progress)` prepares the data, trains, evaluates against the champion on the
frozen test split and returns an `Outcome`; the runner registers the artifact and applies the gate's
decision (activate, A/B, or nothing) in one transaction. `progress(line, percent, status=...)` writes
the job's phase and log tail and raises when a cancel was requested.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ml_training.services import registry

logger = logging.getLogger(__name__)


class Decision(Protocol):
    """A promotion gate's verdict: `decision` is gate.ACCEPTED / INCONCLUSIVE / REFUSED."""

    decision: str
    reason: str
    gain: float  # the candidate's improvement in the gate's metric, stored as the job's improvement_rate

    def as_dict(self) -> dict: ...


@dataclass(frozen=True)
class Option:
    """One config key: its type, default and allowed range (numbers) or choices (lists)."""

    kind: type
    default: object
    low: float | None = None
    high: float | None = None
    choices: tuple = ()


@dataclass(frozen=True)
class Outcome:
    manifest: dict
    arrays: dict
    metrics: dict
    decision: Decision
    base_model: str
    architecture: dict
    training_data_stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Trainer:
    options: dict[str, Option]
    run: Callable[..., Outcome]
    has_data: Callable[[], bool] = lambda: True  # whether the weekly job has anything to learn from


# Keys every trainer accepts: what the runner does with the gate's verdict.
PROMOTION_OPTIONS = {
    "ab_percentage_if_inconclusive": Option(float, 10.0, 0.0, 50.0),
    "auto_promote": Option(bool, True),
}


def champion_model(model_type: str, loader: Callable, fallback) -> tuple[object | None, object]:
    """(the champion's version or None, its model) to compare a candidate with; `fallback` (the chat's
    builtin model) when there is no champion or its artifact is refused."""
    version = registry.champion(model_type)
    if version is not None:
        try:
            return version, loader(*registry.load_artifact(version))
        except ValueError:
            logger.exception("champion %s unusable; comparing against the builtin model", version)
    return version, fallback
