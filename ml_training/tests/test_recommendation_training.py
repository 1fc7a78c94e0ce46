"""The recommendation trainer on feedback from real dining turns: graded queries, the time split, NDCG@5 and
HitRate@3, the bootstrap gate, a job that learns the simulated users' hidden preference, and the whole
loop run by a real Celery worker."""

import datetime as dt
import random

import numpy as np
import pytest
from django.utils import timezone

from chat.models import ChatUser, RecommendationLog
from chat.services.dining_chat import handle_turn
from chat.services.selections import record_click, record_selection
from ml_training.models import ModelVersion, RecommendationFeedback, TrainingJob
from ml_training.services import gate, jobs, recommendation_simulation, registry, serving, simulation
from ml_training.services import recommendation_trainer as trainer
from ml_training.services.recommendation_model import HAND_TUNED, LinearReranker
from ml_training.tests.test_jobs import TERMINAL, wait_for

pytestmark = pytest.mark.usefixtures("model_store")


def played(requests: int, *, seed: int = 7, users: int = 10) -> list[int]:
    """`requests` lunch recommendations through the dining chat, each with a simulated user's selection."""
    rng = random.Random(seed)
    recommendation_simulation.neighbourhood(30, rng)
    diners = [ChatUser.objects.create(external_user_id=f"diner-{i}") for i in range(users)]
    start = timezone.now() - dt.timedelta(minutes=requests + 5)
    return recommendation_simulation.play(requests, users=diners, rng=rng, start=start)


def one_recommendation() -> RecommendationLog:
    """A lunch recommendation of several shops to a new user, nobody has acted on it yet."""
    recommendation_simulation.neighbourhood(12, random.Random(3))
    user = ChatUser.objects.create(external_user_id="clicker")
    location = {"latitude": recommendation_simulation.CENTRE.latitude,
                "longitude": recommendation_simulation.CENTRE.longitude}  # fmt: skip
    body = handle_turn(chat_user=user, message="9천원으로 점심 뭐 먹지?", session_id=None, location=location,
                       context=None)  # fmt: skip
    log = RecommendationLog.objects.get(pk=body["session_info"]["recommendation_id"])
    assert len(log.recommendations) >= 3
    return log


def grades_of(query) -> dict[int, float]:
    return dict(zip(query.shop_ids, query.grades.tolist(), strict=True))


def test_feedback_becomes_graded_queries_selected_1_clicked_half_ignored_0(db):
    played(3)
    first = RecommendationFeedback.objects.order_by("action_timestamp").first()
    clicked = next(item["shop_id"] for item in first.recommended_shops if item["shop_id"] != first.selected_shop_id)
    record_click(first.recommendation_log, shop_id=clicked, now=first.action_timestamp)

    queries = trainer.load_queries()

    assert len(queries) == 3 and [q.at for q in queries] == sorted(q.at for q in queries)
    grades = grades_of(queries[0])
    assert grades[first.selected_shop_id] == 1.0 and grades[clicked] == 0.5
    assert sorted(grades.values()) == [0.0] * (len(grades) - 2) + [0.5, 1.0]
    shown = sorted(first.recommended_shops, key=lambda item: item["rank"])
    assert queries[0].rows[0] == {**shown[0]["features"], "score": shown[0]["score"]}


def test_a_recommendation_only_clicked_is_a_query_with_the_clicked_shop_at_half(db):
    log = one_recommendation()
    clicked = log.recommendations[1]["shop_id"]
    record_click(log, shop_id=clicked, time_to_action_ms=2500)

    [query] = trainer.load_queries()

    assert query.key == f"log:{log.pk}"
    assert grades_of(query) == {item["shop_id"]: 0.5 if item["shop_id"] == clicked else 0.0
                                for item in log.recommendations}  # fmt: skip


def test_a_clicked_shop_that_is_then_selected_is_graded_1(db):
    log = one_recommendation()
    chosen, other = log.recommendations[0]["shop_id"], log.recommendations[2]["shop_id"]
    record_click(log, shop_id=chosen)
    record_click(log, shop_id=other)
    record_selection(log, shop_id=chosen)

    [query] = trainer.load_queries()

    grades = grades_of(query)
    assert (grades.pop(chosen), grades.pop(other)) == (1.0, 0.5)
    assert set(grades.values()) == {0.0}


def test_the_weekly_threshold_counts_recommendations_not_their_click_and_selection_rows(db, monkeypatch):
    monkeypatch.setattr(trainer, "MIN_TRAIN_QUERIES", 2)  # the job needs 2 x 2 = 4 acted-on recommendations
    played(3)
    for selection in RecommendationFeedback.objects.all():
        record_click(selection.recommendation_log, shop_id=selection.recommended_shops[-1]["shop_id"])
    assert RecommendationFeedback.objects.count() == 6

    assert len(trainer.load_queries()) == 3 and not trainer.has_data()


def test_the_frozen_test_split_is_the_newest_slice_and_the_same_on_every_run(db):
    played(20)

    splits = trainer.time_split(trainer.load_queries(), test_share=0.2, validation_share=0.25)
    again = trainer.time_split(trainer.load_queries(), test_share=0.2, validation_share=0.25)

    assert splits.counts() == {"train": 12, "validation": 4, "frozen_test": 4}
    assert [q.key for q in splits.test] == [q.key for q in again.test]
    assert max(q.at for q in splits.train) <= min(q.at for q in splits.validation)
    assert max(q.at for q in splits.validation) <= min(q.at for q in splits.test)


def test_ndcg_at_5_and_hit_rate_at_3():
    assert trainer.ndcg(np.array([1.0, 0, 0, 0, 0])) == 1.0
    assert trainer.ndcg(np.array([0, 1.0, 0, 0, 0])) == pytest.approx(1 / np.log2(3))
    assert trainer.ndcg(np.array([0.5, 1.0, 0, 0, 0])) < trainer.ndcg(np.array([1.0, 0.5, 0, 0, 0])) == 1.0
    assert trainer.ndcg(np.array([0, 0, 0, 0, 0, 1.0])) == 0.0  # below the cut-off
    assert trainer.hit(np.array([0, 0, 1.0, 0])) == 1.0 and trainer.hit(np.array([0, 0, 0, 1.0])) == 0.0


def test_the_bootstrap_gate_accepts_a_gain_whose_interval_excludes_0():
    rng = np.random.default_rng(1)
    champion = rng.uniform(0.3, 0.7, 200)

    decision = gate.bootstrap_gate(champion, champion + rng.normal(0.1, 0.1, 200), metric_name="ndcg@5")

    assert decision.decision == gate.ACCEPTED and decision.ci_low > 0 and decision.gain == pytest.approx(0.1, abs=0.02)
    assert decision.reason == (f"쿼리 200개에서 ndcg@5 {decision.gain:+.4f}, 95% 신뢰구간 [{decision.ci_low:+.4f}, "
                               f"{decision.ci_high:+.4f}]: 0을 포함하지 않습니다")


def test_a_positive_gain_whose_interval_includes_0_is_inconclusive_and_the_rest_refused():
    champion = np.full(10, 0.5)
    noisy = champion + np.array([0.4, -0.3, 0.2, -0.2, 0.1, 0.05, -0.1, 0.0, 0.1, -0.05])

    assert gate.bootstrap_gate(champion, noisy, metric_name="ndcg@5").decision == gate.INCONCLUSIVE
    assert gate.bootstrap_gate(champion, champion, metric_name="ndcg@5").decision == gate.REFUSED
    assert gate.bootstrap_gate(champion, champion - 0.1, metric_name="ndcg@5").decision == gate.REFUSED
    assert gate.bootstrap_gate([], [], metric_name="ndcg@5").decision == gate.REFUSED


def test_the_bootstrap_is_reproducible_with_its_seed():
    rng = np.random.default_rng(2)
    champion, candidate = rng.uniform(0, 1, 50), rng.uniform(0, 1, 50)

    first = gate.bootstrap_gate(champion, candidate, metric_name="hit_rate@3", seed=3)

    assert first == gate.bootstrap_gate(champion, candidate, metric_name="hit_rate@3", seed=3)
    assert first != gate.bootstrap_gate(champion, candidate, metric_name="hit_rate@3", seed=4)


def test_inverted_hand_tuned_weights_are_refused_against_the_hand_tuned_ranking(db):
    played(40)
    queries = trainer.load_queries()
    inverted = LinearReranker(HAND_TUNED.feature_names, -HAND_TUNED.weights)

    decision = gate.bootstrap_gate(
        trainer.per_query(HAND_TUNED, queries)["ndcg@5"], trainer.per_query(inverted, queries)["ndcg@5"],
        metric_name="ndcg@5",
    )  # fmt: skip

    assert decision.decision == gate.REFUSED and decision.gain < 0


def test_a_job_learns_the_users_hidden_preference_and_beats_the_hand_tuned_ranking(db):
    played(150)

    job = jobs.run_job(jobs.schedule_job("recommendation", created_by="test").pk)

    assert job.status == "completed", job.log_tail
    metrics = job.metrics
    assert metrics["frozen_test"]["ndcg@5"] > metrics["hand_tuned_frozen_test"]["ndcg@5"]
    assert metrics["frozen_test"]["hit_rate@3"] >= metrics["hand_tuned_frozen_test"]["hit_rate@3"]
    assert job.promotion["decision"] == "accepted" and job.promotion["ci_low"] > 0, job.promotion
    assert job.promotion["action"] == "activated" and registry.champion("recommendation").version == "0.1.0"
    weights = metrics["weights"]  # the users care about distance and quality, not popularity
    assert min(weights["distance"], weights["quality"]) > max(weights["popularity"], 0)
    assert metrics["split"]["version"] == "time-v1" and job.test_count == metrics["data"]["frozen_test"] == 30
    assert job.train_count + job.validation_count == 120
    version = ModelVersion.objects.get(version=job.model_version, model_type="recommendation")
    assert version.performance_metrics["bootstrap"]["decision"] == "accepted"


def test_too_little_feedback_fails_the_job_with_the_reason(db):
    played(5)

    job = jobs.run_job(jobs.schedule_job("recommendation").pk)

    assert job.status == "failed" and "추천 피드백이 부족합니다" in job.error_message
    assert not ModelVersion.objects.exists()


def test_a_bad_recommendation_config_is_refused_before_any_job_exists(db):
    with pytest.raises(jobs.JobConfigError, match=r"features: \[.*'distance'.*\] 중에서 고른, 비어 있지 않은 목록"):
        jobs.schedule_job("recommendation", config={"features": ["price"]})
    with pytest.raises(jobs.JobConfigError, match="test_share.*0.05.*0.5"):
        jobs.schedule_job("recommendation", config={"test_share": 0.9})


def test_the_loop_in_the_celery_worker_learns_serves_and_refuses_a_worse_model(celery_worker_thread):
    report = recommendation_simulation.run_loop(
        requests=150, users=10, shops=30, run_job=lambda job_id: wait_for(job_id, TERMINAL, timeout=300),
        log=lambda line: None,
    )  # fmt: skip

    assert report.played == 150
    assert report.job.status == "completed" and report.job.promotion["decision"] == "accepted", report.job.log_tail
    champion = registry.champion("recommendation")
    assert report.served_version == champion.version == report.job.model_version
    assert len(report.selected_rank_after) == 30
    assert simulation.refused(report.worse_job)
    assert registry.champion("recommendation").pk == champion.pk  # the refused version did not replace it
    serving.forget()
    assert serving.reranker_for(1)[1]["version"] == champion.version


def test_the_weekly_job_trains_the_recommender_only_once_there_is_feedback(db):
    assert [job.model_type for job in jobs.weekly_training()] == ["nlu"]
    jobs.cancel(TrainingJob.objects.get(), by="test")
    played(20)

    assert sorted(job.model_type for job in jobs.weekly_training()) == ["nlu", "recommendation"]
