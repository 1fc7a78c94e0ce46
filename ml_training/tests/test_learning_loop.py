"""The learning loop end to end at a small size, with the jobs run by a real Celery worker: the new
version is better on the frozen split, serves, and the gate refuses a deliberately worse one."""

import pytest

from chat.models import Conversation
from ml_training.models import ModelVersion
from ml_training.services import registry, simulation
from ml_training.tests.test_jobs import TERMINAL, wait_for

pytestmark = pytest.mark.usefixtures("model_store")


def test_the_loop_trains_a_better_version_serves_it_and_refuses_a_worse_one(celery_worker_thread):
    report = simulation.run_loop(size=240, users=8, run_job=lambda job_id: wait_for(job_id, TERMINAL, timeout=300),
                                 log=lambda line: None)  # fmt: skip

    assert report.played == report.corrected == 240  # misread turns reach review: low confidence or a thumbs down
    assert report.job.status == "completed" and report.job.triggered_by == "manual"
    assert report.job.promotion["decision"] == "accepted", report.job.promotion
    assert report.after["macro_f1"] > report.before["macro_f1"] and report.after["accuracy"] > report.before["accuracy"]
    champion = registry.champion("nlu")
    assert report.served_version == champion.version == report.job.model_version
    assert simulation.refused(report.worse_job)
    assert registry.champion("nlu").pk == champion.pk  # the refused version did not replace it
    assert ModelVersion.objects.get(version=report.worse_job.model_version).deployment_status == "testing"
    assert report.inference_p50_ms["after"] <= 1.0


def test_every_played_turn_records_the_version_that_served_it(db, settings, tmp_path):
    simulation.play_users([("오늘 떡볶이 각?", "FOOD_REQUEST"), ("김밥집 지금 함?", "TIME_INQUIRY")], users=2)

    builtin = {"version_id": None, "version": "builtin", "group": "champion"}
    assert [turn.model_versions for turn in Conversation.objects.order_by("pk")] == [
        {"nlu": builtin, "recommendation": builtin}
    ] * 2
