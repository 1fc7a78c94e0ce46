"""The Celery app. Broker and results on Redis; schedules live in the database (django-celery-beat).

Each app declares its periodic jobs in `<app>/schedules.py` as BEAT_SCHEDULE; they are merged
here; the database scheduler (config.beat) installs the missing ones as editable entries on beat start-up
and leaves entries staff changed in admin as they are.
"""

import importlib
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
