"""The Celery app. Broker and results on Redis; schedules live in the database (django-celery-beat).

Each app declares its periodic jobs in `<app>/schedules.py` as BEAT_SCHEDULE; they are merged
here; the database scheduler (config.beat) installs the missing ones as editable entries on beat start-up
and leaves entries staff changed in admin as they are.
"""

import importlib
import logging
import os

from celery import Celery, bootsteps
from celery.signals import worker_process_init

from config.services.health import HEARTBEAT_INTERVAL_SECONDS, forget_heartbeat, record_heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["config", "chat", "rag", "analytics", "ml_training"])

SCHEDULE_MODULES = ["chat.schedules", "rag.schedules", "analytics.schedules", "ml_training.schedules"]


def collect_beat_schedule() -> dict:
    schedule = {}
    for module_name in SCHEDULE_MODULES:
        schedule.update(importlib.import_module(module_name).BEAT_SCHEDULE)
    return schedule


@app.on_after_finalize.connect
def install_beat_schedule(sender, **kwargs):
    sender.conf.beat_schedule = collect_beat_schedule()


@worker_process_init.connect
def warm_up_models(**kwargs):
    from chat.services.nlu import warm_up

    warm_up()  # tasks that embed or understand Korean should not each pay the model load


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes this worker's heartbeat to Redis while it consumes, so /api/v1/health need not ping it.

    A consumer step: it runs while the worker is connected to the broker, on the consumer's timer,
    and removes the heartbeat when the worker stops.
    """

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_entry = None

    def start(self, consumer):
        self._beat(consumer.hostname)
        self.timer_entry = consumer.timer.call_repeatedly(
            HEARTBEAT_INTERVAL_SECONDS, self._beat, (consumer.hostname,)
        )

    def stop(self, consumer):
        if self.timer_entry is not None:
            consumer.timer.cancel(self.timer_entry)
            self.timer_entry = None
        try:
            forget_heartbeat(consumer.hostname)
        except Exception as exc:  # noqa: BLE001 - Redis down: the heartbeat expires on its own
            logger.warning("could not remove the worker heartbeat: %s", exc)

    shutdown = stop

    @staticmethod
    def _beat(hostname: str) -> None:
        try:
            record_heartbeat(hostname)
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat must not stop the worker
            logger.warning("could not write the worker heartbeat: %s", exc)


app.steps["consumer"].add(WorkerHeartbeat)
