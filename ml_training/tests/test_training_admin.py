"""Training jobs and the registry through the real admin (Django test client, staff session)."""

import datetime as dt

import pytest
from django.utils import timezone

from ml_training.models import ModelVersion, PerformanceMetric, TrainingJob
from ml_training.services import jobs, registry
from ml_training.services.partitions import ensure_partitions
from ml_training.tests.registry_factories import nlu_version, recommendation_version

JOBS = "/admin/ml_training/trainingjob/"
VERSIONS = "/admin/ml_training/modelversion/"


pytestmark = pytest.mark.usefixtures("model_store")


def test_train_now_with_an_unknown_key_shows_the_reason_and_creates_no_job(admin_client, db):
    response = admin_client.post(f"{JOBS}add/", {"model_type": "nlu", "training_config": '{"epoch": 10}'})

    assert response.status_code == 200
    assert "알 수 없는 키 &#x27;epoch&#x27;" in response.content.decode()
    assert not TrainingJob.objects.exists()


def test_train_now_schedules_a_manual_job_with_the_validated_config(admin_client, admin_user, db):
    response = admin_client.post(f"{JOBS}add/", {"model_type": "nlu", "training_config": '{"epochs": 50}'})

    assert response.status_code == 302
    job = TrainingJob.objects.get()
    assert (job.status, job.triggered_by, job.created_by) == ("scheduled", "manual", admin_user.username)
    assert job.training_config["epochs"] == 50 and job.training_config["C"] == jobs.options_for("nlu")["C"].default


def test_a_second_train_now_while_one_is_unfinished_is_refused(admin_client, db):
    jobs.schedule_job("nlu")

    response = admin_client.post(f"{JOBS}add/", {"model_type": "nlu", "training_config": "{}"})

    assert "이미 예약되었거나 실행 중입니다" in response.content.decode()
    assert TrainingJob.objects.count() == 1


def test_a_failed_job_page_shows_its_log_tail_in_korean(admin_client, db):
    job = jobs.schedule_job("nlu", created_by="kim")
    TrainingJob.objects.filter(pk=job.pk).update(training_config={"epoch": 10})  # refused when the job runs

    jobs.run_job(job.pk)
    page = admin_client.get(f"{JOBS}{job.pk}/change/").content.decode()

    assert "예약됨 (요청: kim, 트리거: manual)" in page
    assert "실패: JobConfigError: 학습 설정" in page


def test_a_job_page_shows_its_progress_and_log_tail(admin_client, db):
    job = jobs.schedule_job("nlu", created_by="kim")

    page = admin_client.get(f"{JOBS}{job.pk}/change/").content.decode()
    listing = admin_client.get(JOBS).content.decode()

    assert "예약됨 (요청: kim, 트리거: manual)" in page and "예약됨 (요청: kim" in listing


def test_the_cancel_action_cancels_a_job_not_started(admin_client, db):
    job = jobs.schedule_job("nlu")

    admin_client.post(JOBS, {"action": "cancel_jobs", "_selected_action": [job.pk]})

    job.refresh_from_db()
    assert job.status == "cancelled"


def test_activate_start_ab_stop_and_roll_back_from_the_version_list(admin_client, db):
    first, second, third = nlu_version(), nlu_version(), nlu_version()

    def act(action, version, **extra):
        return admin_client.post(VERSIONS, {"action": action, "_selected_action": [version.pk], **extra}, follow=True)

    act("activate", first)
    act("activate", second)
    assert registry.champion("nlu").pk == second.pk
    act("start_ab", third, percentage="15")
    assert registry.challenger("nlu").pk == third.pk
    assert ModelVersion.objects.get(pk=third.pk).traffic_percentage == 15
    act("stop_ab", third)
    assert registry.challenger("nlu") is None
    act("roll_back", second)
    assert registry.champion("nlu").pk == first.pk
    refused = act("start_ab", first, percentage="15").content.decode()
    assert "챔피언입니다. A/B 테스트에는 다른 버전이 필요합니다." in refused


def test_an_ab_share_of_zero_is_refused_with_a_korean_message(admin_client, db):
    champion, candidate = nlu_version(), nlu_version()
    registry.activate(champion, by="staff")

    response = admin_client.post(
        VERSIONS, {"action": "start_ab", "_selected_action": [candidate.pk], "percentage": "0"}, follow=True
    )

    assert response.status_code == 200
    assert "A/B 비율은 0보다 크고 100 이하여야 합니다." in response.content.decode()
    assert registry.challenger("nlu") is None


def test_the_version_list_shows_a_recommendation_version_with_its_ndcg_and_selection_rate(admin_client, db):
    version = recommendation_version({"quality": 1.0})
    ModelVersion.objects.filter(pk=version.pk).update(performance_metrics={"frozen_test": {"ndcg@5": 0.8123}})
    registry.activate(version, by="staff")
    ensure_partitions(today=timezone.localdate(), months_ahead=0)
    PerformanceMetric.objects.create(
        model_type="recommendation", model_version=version, measured_at=timezone.now() - dt.timedelta(hours=1),
        request_count=40, success_count=40, model_specific_metrics={"selections": 10, "selection_rate": 0.25},
    )  # fmt: skip

    page = admin_client.get(VERSIONS, {"model_type": "recommendation"}).content.decode()

    assert "0.8123" in page and "40 · selection_rate 0.250" in page
