"""GET /api/v1/analytics/summary, /timeline, /top-queries, /knowledge-gaps and the streamed exports."""

import csv
import io
import json
import math
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import ConversationHistory
from analytics.services import statistics
from analytics.tests.test_statistics import answer

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics"
DAY1 = timezone.make_aware(datetime(2026, 3, 2, 9, 0))
DAY2 = DAY1 + timedelta(days=1)
RANGE = {"date_from": "2026-03-02", "date_to": "2026-03-03"}


@pytest.fixture
def two_days():
    """Day 1: 3 handbook answers (100, 200, 300 ms), one errored; day 2: 2 handbook answers (400, 500 ms)
    in the same session s1 plus one, and a partner answer (1000 ms) that found nothing."""
    ConversationHistory.objects.create(conversation_id="s1", channel="knowledge", collection_name="handbook",
                                       user_hash="u1")  # fmt: skip
    answer(at=DAY1, session="s1", question="연차는 며칠?", ms=100, scores=(0.9,))
    answer(at=DAY1 + timedelta(hours=2), session="s1", question="연차는 며칠?", ms=200, scores=(0.2,))
    answer(at=DAY1 + timedelta(hours=3), session="s2", question="출장비", ms=300, error="timeout")
    answer(at=DAY2, session="s1", question="연차는 며칠?", ms=400, scores=(0.8,))
    answer(at=DAY2 + timedelta(hours=1), session="s3", question="ＶＰＮ 접속", ms=500, scores=())
    answer(at=DAY2, session="p1", collection="medilinx", question="혈압", ms=1000, scores=())
    statistics.roll_up()


@pytest.mark.parametrize("path", ["summary", "timeline", "top-queries", "knowledge-gaps", "export/logs",
                                  "export/statistics"])  # fmt: skip
def test_non_staff_are_refused(alice_client, path):
    response = alice_client.get(f"{API}/{path}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_summary_merges_the_days_of_the_range(staff_client, two_days):
    body = staff_client.get(f"{API}/summary", {**RANGE, "collection": "handbook"}).json()

    assert (body["queries"], body["errors"], body["no_answers"]) == (5, 1, 1)
    assert body["error_rate"] == pytest.approx(1 / 5)
    assert body["response_time_ms"]["avg"] == pytest.approx(300)
    assert body["response_time_ms"]["p50"] == pytest.approx(300, rel=0.01)
    assert body["response_time_ms"]["p95"] == pytest.approx(500, rel=0.01)
    assert body["top_score"]["avg"] == pytest.approx((0.9 + 0.2 + 0.8) / 3)


def test_a_session_active_on_two_days_counts_once(staff_client, two_days):
    body = staff_client.get(f"{API}/summary", {**RANGE, "collection": "handbook"}).json()

    assert (body["unique_sessions"], body["active_users"]) == (3, 1)
    assert body["avg_session_length"] == pytest.approx(5 / 3)


def test_summary_breaks_the_numbers_down_per_collection(staff_client, two_days):
    body = staff_client.get(f"{API}/summary", RANGE).json()

    assert [(row["collection_name"], row["queries"]) for row in body["by_collection"]] == [
        ("handbook", 5), ("medilinx", 1),
    ]  # fmt: skip
    assert body["queries"] == 6


def test_feedback_counts_the_thumbs_given_in_the_range(staff_client, two_days):
    from ml_training.models import AnswerFeedback

    at = timezone.make_aware(datetime(2026, 3, 2, 12, 0))
    for number, vote in enumerate(["up", "up", "down"]):
        AnswerFeedback.objects.create(channel="knowledge", source_table="x", source_id=str(number), voter=f"v{number}",
                                      vote=vote, created_at=at)  # fmt: skip
    AnswerFeedback.objects.create(channel="knowledge", source_table="x", source_id="9", voter="r", vote="down",
                                  is_implicit=True, created_at=at)  # a regeneration is not a thumb  # fmt: skip

    body = staff_client.get(f"{API}/summary", RANGE).json()

    assert (body["feedback"]["thumbs_up"], body["feedback"]["thumbs_down"]) == (2, 1)
    assert body["feedback"]["feedback_rate"] == pytest.approx(3 / body["answers"])


def test_daily_timeline_has_one_point_per_day_including_empty_ones(staff_client, two_days):
    params = {"date_from": "2026-03-01", "date_to": "2026-03-03", "collection": "handbook"}

    points = staff_client.get(f"{API}/timeline", params).json()["points"]

    assert [(p["start"][:10], p["queries"], p["unique_sessions"]) for p in points] == [
        ("2026-03-01", 0, 0), ("2026-03-02", 3, 2), ("2026-03-03", 2, 2),
    ]  # fmt: skip
    assert points[1]["active_users"] == 1


def test_hourly_timeline_has_24_points_a_day(staff_client, two_days):
    points = staff_client.get(f"{API}/timeline", {"period": "hourly", "date_from": "2026-03-02",
                                                   "date_to": "2026-03-02"}).json()["points"]  # fmt: skip

    assert len(points) == 24
    assert [p["start"][11:13] for p in points if p["queries"]] == ["09", "11", "12"]
    assert points[9]["response_time_ms"]["p50"] == pytest.approx(100, rel=0.01)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "date_to(2026-03-01)보다 늦습니다"),
        ({"date_from": "March 1st"}, "date_from"),
        ({"period": "hourly", "date_from": "2026-01-01", "date_to": "2026-03-01"}, "최대 31일까지"),
        ({"period": "hourly", "days": 40}, "최대 31일까지"),
        ({"days": 7, "date_from": "2026-03-01"}, "하나만 지정하세요"),
        ({"period": "weekly"}, "period"),
        ({"days": 0}, "days"),
        ({"date_to": "9999-12-31"}, "2999-12-31"),  # its end, the next midnight, does not exist
        ({"date_from": "0112-10-13", "date_to": "0112-10-19"}, "1970-01-01"),  # Seoul's offset then: +08:27:52
    ],
)
@pytest.mark.parametrize("path", ["summary", "timeline", "top-queries", "knowledge-gaps"])
def test_a_bad_range_is_a_400_that_says_why(staff_client, path, params, message):
    response = staff_client.get(f"{API}/{path}", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path", ["logs", "conversations", "stats", "export/logs", "export/statistics", "archive/logs"]
)
@pytest.mark.parametrize(
    "params",
    [{"date_from": "2026-03-01", "date_to": "9999-12-31"}, {"date_from": "0001-01-01", "date_to": "2026-03-01"}],
)
def test_a_day_outside_the_supported_range_is_a_400_on_every_dated_endpoint(staff_client, path, params):
    response = staff_client.get(f"{API}/{path}", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_top_queries_are_counted_over_the_range_most_asked_first(staff_client, two_days):
    body = staff_client.get(f"{API}/top-queries", {**RANGE, "page_size": 2}).json()

    assert body["count"] == 4  # distinct questions
    first, second = body["results"]
    assert (first["query"], first["count"], first["sessions"]) == ("연차는 며칠?", 3, 1)
    assert second["count"] == 1


def test_knowledge_gaps_group_normalised_questions_with_their_reasons(staff_client, two_days):
    answer(at=DAY2 + timedelta(hours=2), session="s4", question=" vpn 접속", ms=100, scores=(0.1,))
    statistics.roll_up()

    body = staff_client.get(f"{API}/knowledge-gaps", {**RANGE, "collection": "handbook"}).json()

    gaps = {row["question"]: row for row in body["results"]}
    assert set(gaps) == {"vpn 접속", "연차는 며칠?", "출장비"}
    assert gaps["vpn 접속"]["count"] == 2  # full-width and padded forms are one question (NFKC, lower case)
    assert gaps["vpn 접속"]["reasons"] == {"no_answer": 1, "error": 0, "low_score": 1, "regenerated": 0}
    assert gaps["출장비"]["reasons"]["error"] == 1


def test_logs_export_streams_csv_with_the_filters_of_the_log_list(staff_client, two_days):
    response = staff_client.get(f"{API}/export/logs", {"collection": "medilinx"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(row["message_type"], row["content"]) for row in rows] == [("user", "혈압"), ("assistant", "답")]
    assert json.loads(rows[1]["performance"]) == {"response_time_ms": 1000}


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://example.invalid","열기")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_a_message_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(staff_client, typed):
    answer(at=DAY1, question=typed)

    response = staff_client.get(f"{API}/export/logs")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["content"] for row in rows if row["message_type"] == "user"] == ["'" + typed]


def test_the_json_export_keeps_such_a_message_verbatim(staff_client):
    answer(at=DAY1, question="=1+1")

    response = staff_client.get(f"{API}/export/logs", {"output": "json"})

    assert [row["content"] for row in json.loads(b"".join(response.streaming_content))][0] == "=1+1"


def test_statistics_export_streams_a_json_array(staff_client, two_days):
    response = staff_client.get(f"{API}/export/statistics", {"output": "json", "period": "day"})

    rows = json.loads(b"".join(response.streaming_content))
    assert sorted((row["date"], row["collection_name"], row["total_queries"]) for row in rows) == [
        ("2026-03-02", "handbook", 3), ("2026-03-03", "handbook", 2), ("2026-03-03", "medilinx", 1),
    ]  # fmt: skip


def test_an_unknown_export_format_is_a_400(staff_client):
    response = staff_client.get(f"{API}/export/logs", {"output": "xml"})

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("output:")


def test_summary_percentiles_stay_within_one_percent_of_the_exact_ones(staff_client):
    latencies = [50 + (i * 37) % 2000 for i in range(300)]
    for i, ms in enumerate(latencies):
        answer(at=DAY1 + timedelta(minutes=i * 7), session=f"s{i % 20}", ms=ms)
    statistics.roll_up()

    body = staff_client.get(f"{API}/summary", {"date_from": "2026-03-02", "date_to": "2026-03-03"}).json()

    ordered = sorted(latencies)
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        assert body["response_time_ms"][name] == pytest.approx(exact, rel=0.01)
