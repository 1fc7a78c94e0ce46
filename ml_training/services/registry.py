"""The model registry (seed 003 §9.5): versions with data artifacts, their deployment flow and the
champion / challenger of each model type.

Flow: a job's version is registered `testing`; `activate` makes it the champion (`production`,
is_active) and retires the previous champion (`deprecated`); `start_ab` makes a non-active version the
challenger (`staging`) for a share of users; `stop_ab` ends it; `rollback` re-activates the champion
before the current one. Every change locks the model type's rows, writes who/when on the rows and an
audit line in `notes`, and bumps the serving generation so every process reloads (services.serving).
The database backs this up: one active row and one challenger per model type are partial unique
indexes.
"""

import re
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ml_training.models import DeploymentStatus, ModelType, ModelVersion, TrainingJob
from ml_training.services import artifacts

GENERATION_KEY = "ml_training:registry_generation"
CHALLENGER = "challenger"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class RegistryError(ValueError):
    """A registry action that does not apply (e.g. rolling back with no previous champion)."""


def next_version(model_type: str, *, bump: str = "minor") -> str:
    """The next semantic version of `model_type`: highest registered + 1 in `bump` (major/minor/patch)."""
    versions = [
        tuple(int(part) for part in match.groups())
        for match in map(
            _SEMVER.match, ModelVersion.objects.filter(model_type=model_type).values_list("version", flat=True)
        )
        if match
    ]
    major, minor, patch = max(versions, default=(0, 0, 0))
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor + 1}.0"


def register(
    model_type: str,
    *,
    manifest: dict,
    arrays: dict,
    metrics: dict,
    job: TrainingJob | None = None,
    base_model: str = "",
    architecture: dict | None = None,
    training_data_stats: dict | None = None,
    created_by: str = "system",
) -> ModelVersion:
    """Store the artifact under MODEL_STORE_DIR and record a `testing` version with its sha256."""
    if model_type not in ModelType.values:
        raise RegistryError(gettext("unknown model type %(model_type)s") % {"model_type": repr(model_type)})
    with transaction.atomic():
        # One registration at a time per type, so two jobs never take the same version number.
        list(ModelVersion.objects.select_for_update().filter(model_type=model_type).values_list("pk", flat=True))
        version = next_version(model_type)
        path, digest, size = artifacts.save(f"{model_type}/{version}", manifest, arrays)
        return ModelVersion.objects.create(
            model_type=model_type,
            version=version,
            version_name=f"{model_type}-v{version}",
            base_model=base_model,
            architecture=architecture,
            training_job=job,
            training_data_stats=training_data_stats,
            performance_metrics=metrics,
            deployment_status=DeploymentStatus.TESTING,
            model_path=path,
            model_size_mb=Decimal(size / 1_048_576).quantize(Decimal("0.01")),
            checksum=digest,
            created_by=created_by,
        )


def load_artifact(version: ModelVersion) -> tuple[dict, dict]:
    """The version's manifest and arrays; `artifacts.ArtifactRefused` when its checksum does not match."""
    return artifacts.load(version.model_path, version.checksum)


def champion(model_type: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(model_type=model_type, is_active=True).first()


def challenger(model_type: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(model_type=model_type, ab_test_group=CHALLENGER).first()


def activate(version: ModelVersion, *, by: str) -> ModelVersion:
    """Make `version` the champion of its model type; the previous champion is retired."""
    with transaction.atomic():
        rows = _lock(version.model_type)
        target = rows[version.pk]
        now = timezone.now()
        for row in rows.values():
            if row.is_active and row.pk != target.pk:
                _retire(
                    row, now=now, by=by, status=DeploymentStatus.DEPRECATED, line=gettext("champion replaced by %(by)s")
                )
        if not target.is_active:
            target.is_active = True
            target.ab_test_group = ""
            target.traffic_percentage = Decimal(0)
            target.deployment_status = DeploymentStatus.PRODUCTION
            target.deployed_at, target.deployed_by = now, by
            target.retired_at, target.retired_by = None, ""
            _audit(target, now, gettext("activated by %(by)s") % {"by": by})
            target.save()
        _bump_generation()
    return target


def start_ab(version: ModelVersion, percentage, *, by: str) -> ModelVersion:
    """Serve `version` to `percentage` % of users (sticky); an existing challenger keeps its users when
    its share is raised, and is replaced when another version starts."""
    percentage = Decimal(str(percentage))
    if not Decimal(0) < percentage <= Decimal(100):
        raise RegistryError(gettext("The A/B share must be between 0 (exclusive) and 100."))
    with transaction.atomic():
        rows = _lock(version.model_type)
        target = rows[version.pk]
        if target.is_active:
            raise RegistryError(
                gettext("%(version)s is the champion; an A/B test needs another version.") % {"version": target}
            )
        now = timezone.now()
        for row in rows.values():
            if row.ab_test_group == CHALLENGER and row.pk != target.pk:
                _retire(
                    row,
                    now=now,
                    by=by,
                    status=DeploymentStatus.DEPRECATED,
                    line=gettext("challenger replaced by %(by)s"),
                )
        if target.ab_test_group != CHALLENGER:
            target.deployed_at, target.deployed_by = now, by
        target.ab_test_group = CHALLENGER
        target.traffic_percentage = percentage
        target.deployment_status = DeploymentStatus.STAGING
        _audit(target, now, gettext("A/B at %(percentage)s%% by %(by)s") % {"percentage": percentage, "by": by})
        target.save()
        _bump_generation()
    return target


def stop_ab(model_type: str, *, by: str) -> ModelVersion | None:
    with transaction.atomic():
        rows = _lock(model_type)
        stopped = next((row for row in rows.values() if row.ab_test_group == CHALLENGER), None)
        if stopped is not None:
            _retire(
                stopped,
                now=timezone.now(),
                by=by,
                status=DeploymentStatus.TESTING,
                line=gettext("A/B stopped by %(by)s"),
            )
            _bump_generation()
    return stopped


def rollback(model_type: str, *, by: str) -> ModelVersion:
    """Re-activate the champion that served before the current one."""
    with transaction.atomic():
        rows = _lock(model_type)
        current = next((row for row in rows.values() if row.is_active), None)
        previous = sorted(
            (
                row
                for row in rows.values()
                if row.retired_at
                and row.deployed_at
                and row is not current
                and row.deployment_status == DeploymentStatus.DEPRECATED
            ),
            key=lambda row: row.retired_at,
            reverse=True,
        )
        if not previous:
            raise RegistryError(
                gettext("No previous %(model_type)s champion to roll back to.") % {"model_type": model_type}
            )
        return activate(previous[0], by=by)


def generation() -> int:
    return int(cache.get(GENERATION_KEY) or 0)


def _lock(model_type: str) -> dict[int, ModelVersion]:
    return {
        row.pk: row for row in ModelVersion.objects.select_for_update().filter(model_type=model_type).order_by("pk")
    }


def _retire(row: ModelVersion, *, now, by: str, status: str, line: str) -> None:
    """`line`: the audit line, with a %(by)s placeholder."""
    row.is_active = False
    row.ab_test_group = ""
    row.traffic_percentage = Decimal(0)
    row.deployment_status = status
    row.retired_at, row.retired_by = now, by
    _audit(row, now, line % {"by": by})
    row.save()


def _audit(row: ModelVersion, now, line: str) -> None:
    row.notes = f"{row.notes}\n{now:%Y-%m-%d %H:%M:%S} {line}".strip()


def _bump_generation() -> None:
    def bump():
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.set(GENERATION_KEY, 1, timeout=None)

    transaction.on_commit(bump)
