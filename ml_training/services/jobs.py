"""Training jobs (seed 003 §8.5, §9.4, §9.12): creation by the four triggers, the state machine the
Celery task runs, progress, cancellation and the promotion that follows.

    scheduled -> queued -> preparing -> training -> evaluating -> completed
                                   \\-> failed (error_message says why) / cancelled (on request)

`schedule_job` validates the config first (unknown keys and out-of-range values are refused before
any row exists), allows one unfinished job per model type, and queues the task after commit.
`run_job` claims a queued job once (a redelivered task does nothing), writes its phase, percent and
a log tail with UPDATEs (so a concurrent cancel request is never overwritten) and checks for a
cancel request between phases and between candidates. The queue's ready rows are `training` while
the job runs, `completed` after it, `ready` again if it fails or is cancelled.
"""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from chat.services.nlu import get_classifier
from ml_training.models import DataQueueItem, ModelType, QueueStatus, TrainingJob, TrainingJobStatus, TriggeredBy
from ml_training.services import gate, nlu_model, nlu_trainer, registry
from ml_training.services.nlu_data import build_splits
from ml_training.services.preparation import MINIMUM_READY

logger = logging.getLogger(__name__)

S = TrainingJobStatus
UNFINISHED = (S.SCHEDULED, S.QUEUED, S.PREPARING, S.TRAINING, S.EVALUATING)
LOG_TAIL_LINES = 40


class JobConfigError(ValueError):
    """A training config that is refused (unknown keys, wrong types, values out of range)."""


class JobError(ValueError):
    """A job action that does not apply now (e.g. cancelling a finished job)."""


class JobCancelled(Exception):
    pass


# key: (type, minimum, maximum, default); a tuple type of choices for lists.
NLU_CONFIG = {
    "candidates": (list, None, None, list(nlu_trainer.CANDIDATES)),
    "epochs": (int, 10, 3000, 300),
    "l2": (float, 0.0, 1.0, 0.01),
    "C": (float, 0.001, 1000.0, 20.0),
    "max_iter": (int, 50, 10000, 2000),
    "weak_label_weight": (float, 0.0, 1.0, 0.0),
    "min_f1_gain": (float, 0.0, 0.5, None),  # None: settings.NLU_PROMOTION_MIN_F1_GAIN
    "ab_percentage_if_inconclusive": (float, 0.0, 50.0, 10.0),
    "auto_promote": (bool, None, None, True),
}
CONFIGS = {ModelType.NLU: NLU_CONFIG}


def validate_config(model_type: str, config) -> dict:
    """The config with defaults filled in; JobConfigError naming every problem otherwise."""
    schema = CONFIGS.get(model_type)
    if schema is None:
        raise JobConfigError(
            gettext("No trainer for model type %(model_type)s yet (available: %(available)s).")
            % {"model_type": repr(model_type), "available": sorted(CONFIGS)}
        )
    if not isinstance(config, dict):
        raise JobConfigError(gettext("The training config must be a JSON object."))
    problems = [gettext("unknown key %(key)s") % {"key": repr(key)} for key in sorted(set(config) - set(schema))]
    cleaned = {}
    for key, (kind, low, high, default) in schema.items():
        value = config.get(key, default)
        if key == "min_f1_gain" and value is None:
            value = settings.NLU_PROMOTION_MIN_F1_GAIN
        if kind is list:
            if not isinstance(value, list) or not value or set(value) - set(nlu_trainer.CANDIDATES):
                choices = list(nlu_trainer.CANDIDATES)
                problems.append(
                    gettext("%(key)s must be a non-empty list of %(choices)s") % {"key": key, "choices": choices}
                )
        elif kind is bool:
            if not isinstance(value, bool):
                problems.append(gettext("%(key)s must be true or false") % {"key": key})
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            message = gettext("%(key)s must be an integer") if kind is int else gettext("%(key)s must be a number")
            problems.append(message % {"key": key})
        elif not low <= value <= high:
            problems.append(
                gettext("%(key)s must be between %(low)s and %(high)s") % {"key": key, "low": low, "high": high}
            )
        else:
            value = kind(value)
        cleaned[key] = value
    if problems:
        raise JobConfigError(gettext("Training config refused: %(problems)s.") % {"problems": "; ".join(problems)})
    return cleaned


def schedule_job(
    model_type: str, *, config: dict | None = None, triggered_by: str = TriggeredBy.MANUAL, created_by: str = "system"
) -> TrainingJob:
    """Create a job (validated config) and queue its Celery task once the transaction commits."""
    cleaned = validate_config(model_type, config or {})
    with transaction.atomic():
        ensure_none_unfinished(model_type, lock=True)
        now = timezone.now()
        job = TrainingJob.objects.create(
            job_name=f"{model_type}_training_{timezone.localtime(now):%Y%m%d_%H%M%S}",
            model_type=model_type,
            training_config=cleaned,
            data_count=0,
            scheduled_at=now,
            triggered_by=triggered_by,
            created_by=created_by,
            log_tail=[_line(f"scheduled by {created_by} ({triggered_by})")],
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def ensure_none_unfinished(model_type: str, *, lock: bool = False) -> None:
    unfinished = TrainingJob.objects.filter(model_type=model_type, status__in=UNFINISHED)
    if (unfinished.select_for_update() if lock else unfinished).exists():
        raise JobError(
            gettext("A %(model_type)s training job is already scheduled or running.") % {"model_type": model_type}
        )


def _enqueue(job_id: int) -> None:
    from ml_training.tasks import run_training_job

    TrainingJob.objects.filter(pk=job_id, status=S.SCHEDULED).update(status=S.QUEUED)
    run_training_job.delay(job_id)


def cancel(job: TrainingJob, *, by: str) -> TrainingJob:
    """A job not started yet is cancelled at once; a running one stops at its next checkpoint."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in UNFINISHED:
            raise JobError(gettext("Job %(job)s is already %(status)s.") % {"job": job.pk, "status": job.status})
        if job.status in (S.SCHEDULED, S.QUEUED):
            job.status, job.end_time = S.CANCELLED, timezone.now()
            job.start_time = job.start_time or job.end_time
        job.cancel_requested = True
        job.log_tail = [*job.log_tail, _line(f"cancel requested by {by}")][-LOG_TAIL_LINES:]
        job.save(update_fields=["status", "end_time", "start_time", "cancel_requested", "log_tail"])
    return job


def run_job(job_id: int) -> TrainingJob | None:
    claimed = TrainingJob.objects.filter(pk=job_id, status__in=(S.SCHEDULED, S.QUEUED), cancel_requested=False).update(
        status=S.PREPARING, start_time=timezone.now(), progress_percent=1
    )
    job = TrainingJob.objects.filter(pk=job_id).first()
    if not claimed:
        return job  # cancelled before it started, a redelivered task, or a deleted job (None)
    queue = DataQueueItem.objects.filter(model_type=job.model_type)
    queue.filter(status=QueueStatus.READY).update(status=QueueStatus.TRAINING)
    try:
        _run_nlu(job)
    except JobCancelled:
        _finish(job, S.CANCELLED, "cancelled")
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.READY)
    except Exception as exc:
        logger.exception("training job %s failed", job_id)
        _finish(job, S.FAILED, f"failed: {type(exc).__name__}: {exc}", error_message=f"{type(exc).__name__}: {exc}")
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.READY)
    else:
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.COMPLETED, trained_at=timezone.now())
    return TrainingJob.objects.get(pk=job_id)


def _run_nlu(job: TrainingJob) -> None:
    # Jobs made elsewhere (e.g. `create_training_job`) reach here unvalidated: a bad config fails the job.
    config = validate_config(job.model_type, job.training_config)
    progress = Progress(job)
    progress("preparing the data: curated set, human labels, augmentations", 5)
    splits = build_splits(weak_label_weight=config["weak_label_weight"])
    counts = splits.counts()
    total = counts["train"] + counts["validation"] + counts["test"] + counts["frozen_test"]
    TrainingJob.objects.filter(pk=job.pk).update(
        data_count=total, train_count=counts["train"], validation_count=counts["validation"],
        test_count=counts["test"],
    )  # fmt: skip
    progress(f"split {counts}", 10)

    progress("training the candidates", 15, status=S.TRAINING)
    started = time.perf_counter()
    trained = nlu_trainer.train_candidates(splits.train, splits.validation, config, log=lambda line: progress(line))
    train_seconds = round(time.perf_counter() - started, 2)

    progress(f"evaluating {trained['winner']} against the champion on the frozen test split", 80, status=S.EVALUATING)
    champion_version = registry.champion(ModelType.NLU)
    champion_model = _champion_model(champion_version)
    candidate_metrics = nlu_trainer.evaluate(trained["model"], splits.frozen)
    champion_metrics = nlu_trainer.evaluate(champion_model, splits.frozen)
    truth = [row.intent for row in splits.frozen]
    decision = gate.decide(
        truth=truth,
        champion=[p for p, _ in nlu_trainer.predictions(champion_model, splits.frozen)],
        candidate=[p for p, _ in nlu_trainer.predictions(trained["model"], splits.frozen)],
        champion_f1=champion_metrics["macro_f1"],
        candidate_f1=candidate_metrics["macro_f1"],
        min_gain=config["min_f1_gain"],
    )
    progress(f"gate: {decision.decision} - {decision.reason}", 90)
    metrics = {
        "frozen_test": candidate_metrics,
        "champion_frozen_test": {k: champion_metrics[k] for k in ("accuracy", "macro_f1", "ece")},
        "candidates": trained["candidates"],
        "winner": trained["winner"],
        "train_seconds": train_seconds,
        "data": counts,
    }
    Progress.check_cancel(job)
    manifest, arrays = nlu_model.to_artifact(trained["model"])
    with transaction.atomic():
        version = registry.register(
            ModelType.NLU,
            manifest=manifest,
            arrays=arrays,
            metrics=metrics,
            job=job,
            base_model=champion_version.version if champion_version else "curated",
            architecture={"kind": trained["winner"], "features": manifest.get("features")},
            training_data_stats=counts,
            created_by=job.created_by,
        )
        by = f"gate (job {job.pk})"
        promotion = {**decision.as_dict(), "version": version.version, "action": "none"}
        if decision.decision == gate.ACCEPTED and config["auto_promote"]:
            registry.activate(version, by=by)
            promotion["action"] = "activated"
        elif decision.decision == gate.INCONCLUSIVE and config["ab_percentage_if_inconclusive"] > 0:
            registry.start_ab(version, config["ab_percentage_if_inconclusive"], by=by)
            promotion["action"] = f"A/B at {config['ab_percentage_if_inconclusive']} %"
        version.notes = f"{version.notes}\ngate: {decision.decision} - {decision.reason}".strip()
        version.save(update_fields=["notes"])
        TrainingJob.objects.filter(pk=job.pk).update(
            metrics=metrics,
            promotion=promotion,
            model_version=version.version,
            model_path=version.model_path,
            model_size_mb=version.model_size_mb,
            improvement_rate=max(-1.0, min(1.0, decision.gain)),
        )
    _finish(job, S.COMPLETED, f"completed: version {version.version}, {promotion['action']}")


def _champion_model(version):
    """The champion's classifier; the curated model when there is none or its artifact is refused."""
    if version is not None:
        try:
            return nlu_model.from_artifact(*registry.load_artifact(version))
        except ValueError:
            logger.exception("champion %s unusable; comparing against the curated model", version)
    return get_classifier()


class Progress:
    """Writes a job's phase, percent and log tail; raises JobCancelled when a cancel was requested."""

    def __init__(self, job: TrainingJob):
        self.job = job

    def __call__(self, line: str, percent: int | None = None, *, status: str | None = None) -> None:
        self.check_cancel(self.job)
        _append(self.job.pk, line, percent=percent, status=status)

    @staticmethod
    def check_cancel(job: TrainingJob) -> None:
        if TrainingJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise JobCancelled


def _append(job_id: int, line: str, *, percent=None, status=None, **fields) -> None:
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().only("log_tail").get(pk=job_id)
        fields["log_tail"] = [*job.log_tail, _line(line)][-LOG_TAIL_LINES:]
        if percent is not None:
            fields["progress_percent"] = percent
        if status is not None:
            fields["status"] = status
        TrainingJob.objects.filter(pk=job_id).update(**fields)


def _finish(job: TrainingJob, status: str, line: str, **fields) -> None:
    percent = 100 if status == S.COMPLETED else None
    _append(job.pk, line, percent=percent, status=status, end_time=timezone.now(), **fields)


def _line(text: str) -> str:
    return f"{timezone.localtime():%H:%M:%S} {text}"


# --- triggers ------------------------------------------------------------------------------------------


def trigger(model_type: str, triggered_by: str) -> TrainingJob | None:
    try:
        return schedule_job(model_type, triggered_by=triggered_by, created_by=f"trigger:{triggered_by}")
    except JobError:
        return None  # one already running: the trigger fires again next time


def enqueue_due_jobs(now=None) -> list[int]:
    """Queue the scheduled jobs whose time has come (jobs created with a delay, seed §9.12)."""
    due = list(
        TrainingJob.objects.filter(status=S.SCHEDULED, scheduled_at__lte=now or timezone.now(), cancel_requested=False)
        .values_list("pk", flat=True)
    )
    for job_id in due:
        _enqueue(job_id)
    return due


def weekly_training() -> TrainingJob | None:
    return trigger(ModelType.NLU, TriggeredBy.SCHEDULED)


def threshold_training() -> TrainingJob | None:
    """A job when the ready NLU rows reach the seed's minimum (preparation's MINIMUM_READY)."""
    ready = DataQueueItem.objects.filter(model_type=ModelType.NLU, status=QueueStatus.READY).count()
    if ready < MINIMUM_READY[ModelType.NLU]:
        return None
    return trigger(ModelType.NLU, TriggeredBy.THRESHOLD)
