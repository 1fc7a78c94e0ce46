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

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ml_training.models import DataQueueItem, ModelType, QueueStatus, TrainingJob, TrainingJobStatus, TriggeredBy
from ml_training.services import gate, nlu_trainer, rag_trainer, recommendation_trainer, registry
from ml_training.services.preparation import MINIMUM_READY
from ml_training.services.training import PROMOTION_OPTIONS, Option

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


TRAINERS = {
    ModelType.NLU: nlu_trainer.TRAINER,
    ModelType.RECOMMENDATION: recommendation_trainer.TRAINER,
    ModelType.RAG: rag_trainer.TRAINER,
}


def options_for(model_type: str) -> dict[str, Option]:
    trainer = TRAINERS.get(model_type)
    if trainer is None:
        raise JobConfigError(
            gettext("No trainer for model type %(model_type)s yet (available: %(available)s).")
            % {"model_type": repr(model_type), "available": sorted(TRAINERS)}
        )
    return {**trainer.options, **PROMOTION_OPTIONS}


def validate_config(model_type: str, config) -> dict:
    """The config with defaults filled in; JobConfigError naming every problem otherwise."""
    options = options_for(model_type)
    if not isinstance(config, dict):
        raise JobConfigError(gettext("The training config must be a JSON object."))
    problems = [gettext("unknown key %(key)s") % {"key": repr(key)} for key in sorted(set(config) - set(options))]
    cleaned = {}
    for key, option in options.items():
        value = config.get(key, option.default)
        value = value() if callable(value) else value  # a default read from settings at validation time
        problem = _problem(key, option, value)
        if problem:
            problems.append(problem)
        cleaned[key] = value if problem or option.kind in (list, bool) else option.kind(value)
    if problems:
        raise JobConfigError(gettext("Training config refused: %(problems)s.") % {"problems": "; ".join(problems)})
    return cleaned


def _problem(key: str, option: Option, value) -> str:
    if option.kind is list:
        if not isinstance(value, list) or not value or set(value) - set(option.choices):
            return gettext("%(key)s must be a non-empty list of %(choices)s") % {
                "key": key, "choices": list(option.choices)
            }  # fmt: skip
    elif option.kind is bool:
        if not isinstance(value, bool):
            return gettext("%(key)s must be true or false") % {"key": key}
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or (option.kind is int and value != int(value)):
        message = gettext("%(key)s must be an integer") if option.kind is int else gettext("%(key)s must be a number")
        return message % {"key": key}
    elif not option.low <= value <= option.high:
        return gettext("%(key)s must be between %(low)s and %(high)s") % {
            "key": key, "low": option.low, "high": option.high
        }  # fmt: skip
    return ""


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
            log_tail=[
                _line(gettext("scheduled by %(by)s (%(trigger)s)") % {"by": created_by, "trigger": triggered_by})
            ],
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
        job.log_tail = [*job.log_tail, _line(gettext("cancel requested by %(by)s") % {"by": by})][-LOG_TAIL_LINES:]
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
    # The queue rows change before the job's final status, so a job seen finished has its rows settled.
    try:
        done = _train(job)
    except JobCancelled:
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.READY)
        _finish(job, S.CANCELLED, gettext("cancelled"))
    except Exception as exc:
        logger.exception("training job %s failed", job_id)
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.READY)
        error = f"{type(exc).__name__}: {exc}"
        _finish(job, S.FAILED, gettext("failed: %(error)s") % {"error": error}, error_message=error)
    else:
        queue.filter(status=QueueStatus.TRAINING).update(status=QueueStatus.COMPLETED, trained_at=timezone.now())
        _finish(job, S.COMPLETED, done)
    return TrainingJob.objects.get(pk=job_id)


def _train(job: TrainingJob) -> str:
    """Train, register and apply the gate; returns the job's closing log line."""
    # Jobs made elsewhere (e.g. `create_training_job`) reach here unvalidated: a bad config fails the job.
    config = validate_config(job.model_type, job.training_config)
    progress = Progress(job)
    outcome = TRAINERS[job.model_type].run(job, config, progress)
    decision = outcome.decision
    verdict = gettext("gate: %(decision)s - %(reason)s") % {"decision": decision.decision, "reason": decision.reason}
    progress(verdict, 90)
    Progress.check_cancel(job)
    with transaction.atomic():
        version = registry.register(
            job.model_type,
            manifest=outcome.manifest,
            arrays=outcome.arrays,
            metrics=outcome.metrics,
            job=job,
            base_model=outcome.base_model,
            architecture=outcome.architecture,
            training_data_stats=outcome.training_data_stats,
            created_by=job.created_by,
        )
        # Before the promotion: the registry appends its audit line to the row it reads itself.
        version.notes = f"{version.notes}\n{verdict}".strip()
        version.save(update_fields=["notes"])
        by = gettext("gate (job %(job)s)") % {"job": job.pk}
        promotion = {**decision.as_dict(), "version": version.version, "action": "none"}
        promoted = gettext("not promoted")
        share = config["ab_percentage_if_inconclusive"]
        if decision.decision == gate.ACCEPTED and config["auto_promote"]:
            registry.activate(version, by=by)
            promotion["action"] = "activated"
            promoted = gettext("activated as the champion")
        elif decision.decision == gate.INCONCLUSIVE and share > 0:
            registry.start_ab(version, share, by=by)
            promotion["action"] = f"A/B at {share} %"
            promoted = gettext("A/B test on %(percentage)s%% of users") % {"percentage": share}
        TrainingJob.objects.filter(pk=job.pk).update(
            metrics=outcome.metrics,
            promotion=promotion,
            model_version=version.version,
            model_path=version.model_path,
            model_size_mb=version.model_size_mb,
            improvement_rate=max(-1.0, min(1.0, decision.gain)),
        )
    return gettext("completed: version %(version)s, %(promotion)s") % {
        "version": version.version,
        "promotion": promoted,
    }


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
        TrainingJob.objects.filter(
            status=S.SCHEDULED, scheduled_at__lte=now or timezone.now(), cancel_requested=False
        ).values_list("pk", flat=True)
    )
    for job_id in due:
        _enqueue(job_id)
    return due


def weekly_training() -> list[TrainingJob]:
    """A job per model type that has a trainer and data for it (seed §9.12: weekly retraining)."""
    due = [model_type for model_type, trainer in TRAINERS.items() if trainer.has_data()]
    return [job for model_type in due if (job := trigger(model_type, TriggeredBy.SCHEDULED))]


def threshold_training() -> list[TrainingJob]:
    """A job per model type whose ready rows reach the seed's minimum (preparation's MINIMUM_READY)."""
    due = [
        model_type
        for model_type in TRAINERS
        if DataQueueItem.objects.filter(model_type=model_type, status=QueueStatus.READY).count()
        >= MINIMUM_READY[model_type]
    ]
    return [job for model_type in due if (job := trigger(model_type, TriggeredBy.THRESHOLD))]
