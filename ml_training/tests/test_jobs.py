"""Training jobs: validated configs, the state machine run by a real Celery worker, progress,
cancellation, failure reasons and the promotion that follows."""

import threading
import time

import pytest
from django.db import connections

from ml_training.models import DataQueueItem, ModelVersion, TrainingJob
from ml_training.services import jobs

TERMINAL = ("completed", "failed", "cancelled")
FAST = {"epochs": 60, "max_iter": 300}


pytestmark = pytest.mark.usefixtures("model_store")


def wait_for(job_id, statuses, timeout=120.0) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status}: {job.log_tail}")


def run_job_and_disconnect(job_id) -> None:
    """jobs.run_job in a thread of the test's own: its database connection is closed when it ends (a thread's
    connection is otherwise left open, and the test database cannot be dropped at the end of the run)."""
    try:
        jobs.run_job(job_id)
    finally:
        connections.close_all()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"epochs": 60, "learning_rat": 0.1}, "알 수 없는 키 'learning_rat'"),
        ({"epochs": 5}, "epochs: 10 이상 3000 이하여야 합니다"),
        ({"C": "big"}, "C: 숫자여야 합니다"),
        ({"candidates": ["bert"]}, "candidates: .* 비어 있지 않은 목록이어야 합니다"),
        ({"auto_promote": 1}, "auto_promote: true 또는 false여야 합니다"),
    ],
)
def test_a_bad_config_is_refused_before_any_job_exists(db, config, message):
    with pytest.raises(jobs.JobConfigError, match=message):
        jobs.schedule_job("nlu", config=config)
    assert not TrainingJob.objects.exists()


def test_a_model_type_without_a_trainer_is_refused(db):
    with pytest.raises(jobs.JobConfigError, match="모델 유형 'vision'의 학습기는 아직 없습니다"):
        jobs.schedule_job("vision")


def test_one_unfinished_job_per_model_type(db):
    jobs.schedule_job("nlu", config=FAST)

    with pytest.raises(jobs.JobError, match="이미 예약되었거나 실행 중입니다"):
        jobs.schedule_job("nlu", config=FAST)
    assert "nlu" not in {job.model_type for job in jobs.weekly_training()}


def test_a_job_not_started_is_cancelled_at_once_and_never_runs(db):
    job = jobs.schedule_job("nlu", config=FAST)  # inside the test transaction: not queued yet

    assert jobs.cancel(job, by="staff").status == "cancelled"
    assert jobs.run_job(job.pk).status == "cancelled"
    assert not ModelVersion.objects.exists()
    with pytest.raises(jobs.JobError, match="이미 cancelled 상태입니다"):
        jobs.cancel(job, by="staff")


def test_a_job_runs_in_the_worker_through_every_phase_and_registers_a_version(celery_worker_thread):
    job = jobs.schedule_job("nlu", config=FAST, created_by="kim")

    job = wait_for(job.pk, TERMINAL)

    assert job.status == "completed", job.log_tail
    assert job.progress_percent == 100 and job.end_time >= job.start_time
    log = "\n".join(job.log_tail)
    for phase in ("예약됨 (요청: kim", "데이터 준비 중", "후보 모델 학습 중", "linear: ", "초 동안 학습",
                  "tfidf-logreg: ", "챔피언과 비교 평가 중", "게이트: ", "완료: 버전 0.1.0"):
        assert phase in log
    assert job.train_count > 0 and job.validation_count > 0 and job.test_count > 0
    split = job.train_count + job.validation_count + job.test_count
    assert job.data_count == split + job.metrics["data"]["frozen_test"]
    frozen = job.metrics["frozen_test"]
    assert set(frozen) >= {"accuracy", "macro_f1", "per_intent", "confusion_matrix", "most_confused", "ece",
                           "budget_exact_match"}
    assert job.promotion["decision"] in ("accepted", "inconclusive", "refused") and job.promotion["reason"]
    version = ModelVersion.objects.get(training_job=job)
    assert version.version == job.model_version == "0.1.0"
    assert version.performance_metrics["winner"] in ("linear", "tfidf-logreg")


@pytest.mark.django_db(transaction=True)
def test_a_running_job_cancelled_stops_at_its_next_checkpoint():
    job = jobs.schedule_job("nlu", config={"epochs": 1500, "max_iter": 300})
    TrainingJob.objects.filter(pk=job.pk).update(status="queued")
    runner = threading.Thread(target=run_job_and_disconnect, args=(job.pk,))
    runner.start()
    wait_for(job.pk, ("training",), timeout=60)

    jobs.cancel(job, by="staff")
    runner.join(timeout=120)

    job.refresh_from_db()
    assert job.status == "cancelled" and job.cancel_requested
    assert "취소 요청됨 (요청: staff)" in "\n".join(job.log_tail)
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_says_why(settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.MODEL_STORE_DIR = blocker  # the artifact cannot be written
    job = jobs.schedule_job("nlu", config=FAST)

    job = jobs.run_job(job.pk)

    assert job.status == "failed"
    assert "Error" in job.error_message and "not-a-directory" in job.error_message
    assert job.log_tail[-1].endswith(f"실패: {job.error_message}")


def test_a_job_made_by_create_training_job_is_queued_when_due_and_runs(celery_worker_thread):
    from ml_training.services.preparation import create_training_job

    for i in range(100):
        DataQueueItem.objects.create(model_type="nlu", raw_data={"input_text": f"점심 {i}"}, status="ready",
                                     source_table="conversations", source_id=str(i))  # fmt: skip
    job = create_training_job("nlu", training_config=FAST)
    assert jobs.enqueue_due_jobs() == []  # scheduled 10 minutes ahead

    assert jobs.enqueue_due_jobs(now=job.scheduled_at) == [job.pk]

    assert wait_for(job.pk, TERMINAL).status == "completed"
    assert set(DataQueueItem.objects.values_list("status", flat=True)) == {"completed"}


def test_a_job_with_an_invalid_stored_config_fails_with_the_reason(db):
    job = TrainingJob.objects.create(job_name="x", model_type="nlu", data_count=0, status="queued",
                                     training_config={"epochs": 1})  # fmt: skip

    job = jobs.run_job(job.pk)

    assert job.status == "failed" and "epochs: 10 이상 3000 이하여야 합니다" in job.error_message


def test_a_task_for_a_deleted_job_does_nothing(db):
    assert jobs.run_job(987654) is None


def test_an_inconclusive_gain_starts_a_small_ab_test_instead_of_promoting(db):
    from chat.services.nlu import get_classifier
    from ml_training.models import NluTrainingData
    from ml_training.services import registry, simulation

    for text, intent in simulation.slang_messages(200, get_classifier()):
        NluTrainingData.objects.create(input_text=text, normalized_text=text, true_intent=intent,
                                       label_source="corrected")  # fmt: skip
    job = jobs.schedule_job("nlu", config={**FAST, "min_f1_gain": 0.5, "ab_percentage_if_inconclusive": 10})

    job = jobs.run_job(job.pk)

    assert job.promotion["decision"] == "inconclusive" and "δ 0.5 미만" in job.promotion["reason"]
    assert job.promotion["action"] == "A/B at 10.0 %"
    assert job.log_tail[-1].endswith(f"완료: 버전 {job.model_version}, 사용자 10.0%에게 A/B 테스트")
    challenger = registry.challenger("nlu")
    assert f"A/B 테스트 10.0% 시작 (처리: 게이트 (작업 {job.pk}))" in challenger.notes
    assert challenger.version == job.model_version and challenger.traffic_percentage == 10
    assert registry.champion("nlu") is None  # the curated model stays the champion
