"""The staff training API: train now (validated), progress, cancel, versions; JSON errors for bad input."""

import pytest

from ml_training.models import TrainingJob
from ml_training.services import jobs
from ml_training.tests.registry_factories import nlu_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("model_store")]


def test_train_now_creates_a_manual_job(staff_client):
    response = staff_client.post("/api/v1/ml/training-jobs", {"model_type": "nlu", "training_config": {"epochs": 40}},
                                 format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["triggered_by"], body["created_by"]) == ("scheduled", "manual", "staff")
    assert body["training_config"]["epochs"] == 40


def test_train_now_with_an_out_of_range_value_is_a_400_and_creates_nothing(staff_client):
    response = staff_client.post("/api/v1/ml/training-jobs", {"model_type": "nlu", "training_config": {"l2": 5}},
                                 format="json")  # fmt: skip

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_training_config"
    assert "l2: 0.0 이상 1.0 이하여야 합니다" in response.json()["error"]["message"]
    assert not TrainingJob.objects.exists()


def test_a_second_job_while_one_is_unfinished_is_a_409(staff_client):
    jobs.schedule_job("nlu")

    response = staff_client.post("/api/v1/ml/training-jobs", {"model_type": "nlu"}, format="json")

    assert response.status_code == 409 and response.json()["error"]["code"] == "job_conflict"


def test_a_job_shows_its_phase_percent_and_log_tail_and_can_be_cancelled(staff_client):
    job = jobs.schedule_job("nlu", created_by="kim")

    detail = staff_client.get(f"/api/v1/ml/training-jobs/{job.pk}").json()
    assert (detail["status"], detail["progress_percent"]) == ("scheduled", 0)
    assert detail["log_tail"][0].endswith("예약됨 (요청: kim, 트리거: manual)")

    cancelled = staff_client.post(f"/api/v1/ml/training-jobs/{job.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = staff_client.post(f"/api/v1/ml/training-jobs/{job.pk}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"


def test_jobs_filter_by_status(staff_client):
    jobs.cancel(jobs.schedule_job("nlu"), by="staff")
    jobs.schedule_job("nlu")

    listed = staff_client.get("/api/v1/ml/training-jobs", {"status": "cancelled"}).json()

    assert [job["status"] for job in listed["results"]] == ["cancelled"]


def test_model_versions_list_with_checksum_and_deployment(staff_client):
    version = nlu_version()

    body = staff_client.get("/api/v1/ml/model-versions", {"model_type": "nlu"}).json()

    assert [(v["version"], v["checksum"], v["deployment_status"]) for v in body["results"]] == [
        (version.version, version.checksum, "testing")
    ]


def test_the_training_api_is_staff_only(alice_client):
    assert alice_client.get("/api/v1/ml/training-jobs").status_code == 403
    assert alice_client.post("/api/v1/ml/training-jobs", {"model_type": "nlu"}, format="json").status_code == 403
