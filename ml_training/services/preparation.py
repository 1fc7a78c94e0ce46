"""Daily preparation of the queue for training (seed 003 §9.12) and creating a training job.

`prepare_daily_training_data()` moves pending rows to ready by the seed's thresholds (nlu quality
> 0.6, recommendation > 0.5, rag > 0.5) or because a human labelled them, fills `processed_data`
with the training-ready sample (a reviewer's label wins over the prediction), first queues the
recent dining turns whose collection failed (`backfill_dining_turns`) and the turns the user's next
message corrected ("아니 그게 아니라…", `flag_user_corrections`) for review, leaves open review
items pending, and returns a per-model summary. Only pending rows change, so running it twice does
nothing the second time; rows of any age are considered (a job that missed a night catches up).

`create_training_job()` refuses with `NotEnoughData` below the seed's minimum ready counts
(nlu 100, recommendation 500, rag 50); running the job is the next issue's trainer.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, Q, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, JSONObject, NullIf
from django.utils import timezone
from django.utils.translation import gettext

from ml_training.models import DataQueueItem, ModelType, QueueStatus, TrainingJob, TriggeredBy
from ml_training.services.collection import backfill_dining_turns, flag_user_corrections
from ml_training.services.quality import refresh_user_learning_data

READY_ABOVE = {ModelType.NLU: Decimal("0.6"), ModelType.RECOMMENDATION: Decimal("0.5"), ModelType.RAG: Decimal("0.5")}
MINIMUM_READY = {ModelType.NLU: 100, ModelType.RECOMMENDATION: 500, ModelType.RAG: 50}
BACKFILL_WINDOW = dt.timedelta(days=2)  # turns whose collection failed are queued by the next run
JOB_DELAY = dt.timedelta(minutes=10)  # seed: a job is scheduled 10 minutes after its creation


class NotEnoughData(ValueError):
    pass


@dataclass(frozen=True)
class PreparedSummary:
    model_type: str
    prepared: int  # rows this run made ready
    ready: int  # rows ready now
    avg_quality: Decimal | None


def _processed(model_type: str):
    if model_type == ModelType.NLU:
        return JSONObject(
            text=KT("raw_data__input_text"),
            intent=Coalesce(NullIf("label_intent", Value("")), KT("raw_data__intent")),
            entities=Coalesce("label_entities", "raw_data__entities"),
            human_label=Q(reviewed_at__isnull=False),
        )
    return "raw_data"


def prepare_daily_training_data(*, now: dt.datetime | None = None) -> list[PreparedSummary]:
    now = now or timezone.now()
    summaries = []
    with transaction.atomic():
        backfill_dining_turns(now - BACKFILL_WINDOW)
        flag_user_corrections(now - BACKFILL_WINDOW)
        for model_type, threshold in READY_ABOVE.items():
            prepared = (
                DataQueueItem.objects.filter(model_type=model_type, status=QueueStatus.PENDING)
                .filter(Q(review_reason="", quality_score__gt=threshold) | Q(reviewed_at__isnull=False))
                .update(status=QueueStatus.READY, processed_at=now, processed_data=_processed(model_type))
            )
            ready = DataQueueItem.objects.filter(model_type=model_type, status=QueueStatus.READY).aggregate(
                count=Count("id"), quality=Avg("quality_score")
            )
            quality = round(ready["quality"], 3) if ready["quality"] is not None else None
            summaries.append(PreparedSummary(model_type, prepared, ready["count"], quality))
        active_users = (
            DataQueueItem.objects.filter(created_at__gte=now - dt.timedelta(days=1), user__isnull=False)
            .values_list("user_id", flat=True)
            .distinct()
        )
        refresh_user_learning_data(list(active_users))
    return summaries


def create_training_job(
    model_type: str, *, training_config: dict | None = None, triggered_by: str = TriggeredBy.MANUAL, created_by="system"
) -> TrainingJob:
    """A scheduled job over the ready rows of `model_type`, which move to status training."""
    if model_type not in MINIMUM_READY:
        raise ValueError(f"unknown model type {model_type!r}")
    with transaction.atomic():
        ready = DataQueueItem.objects.select_for_update().filter(model_type=model_type, status=QueueStatus.READY)
        count = ready.count()
        if count < MINIMUM_READY[model_type]:
            raise NotEnoughData(
                gettext("Not enough training data for %(model_type)s: %(count)s ready, %(minimum)s needed.")
                % {"model_type": model_type, "count": count, "minimum": MINIMUM_READY[model_type]}
            )
        now = timezone.now()
        job = TrainingJob.objects.create(
            job_name=f"{model_type}_training_{timezone.localtime(now):%Y%m%d_%H%M}",
            model_type=model_type,
            training_config=training_config or {},
            data_count=count,
            scheduled_at=now + JOB_DELAY,
            triggered_by=triggered_by,
            created_by=created_by,
        )
        ready.update(status=QueueStatus.TRAINING)
    return job
