"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, through selenium):
log in, open the dashboard, and check that the numbers drawn in the charts and cards are the API's.

The `browser` fixture (root conftest) is skipped only on a developer machine without the browser; in CI
(CI=true) a missing browser fails.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.services import statistics
from analytics.tests.test_statistics import answer

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from its own connections


@pytest.fixture
def traffic():
    """Known traffic over the last days in two collections, rolled up."""
    now = timezone.now()
    for minutes, session, ms, error in ((3, "a", 120, ""), (8, "a", 340, ""), (15, "b", 900, "timeout")):
        answer(at=now - timedelta(minutes=minutes), session=session, question="연차는 며칠?", ms=ms, tokens=25,
               scores=(0.8,), error=error)  # fmt: skip
    answer(at=now - timedelta(days=1, hours=2), session="c", question="출장비 정산", ms=2100, tokens=40, scores=())
    answer(at=now - timedelta(days=3), session="d", collection="medilinx", question="혈압", ms=700, scores=(0.4,))
    statistics.roll_up()


def api(staff, path, params):
    client = APIClient()
    client.force_authenticate(staff)
    response = client.get(f"/api/v1/analytics/{path}", params)
    assert response.status_code == 200, response.content
    return response.json()


def chart_data(browser, canvas_id):
    return browser.execute_script(
        "const chart = Chart.getChart(arguments[0]);"
        "return chart && {labels: chart.data.labels, datasets: chart.data.datasets.map(d => d.data)};",
        canvas_id,
    )


def card(browser, metric):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'[data-metric="{metric}"]').text


def test_dashboard_draws_the_numbers_of_the_api(admin_browser, traffic):
    from selenium.webdriver.common.by import By

    browser, staff = admin_browser, admin_browser.user
    browser.find_element(By.CSS_SELECTOR, 'a[href="/admin/analytics/dashboard/"]').click()  # from the admin index
    browser.open("/admin/analytics/dashboard/?preset=7d")

    summary = api(staff, "summary", {"period": "hourly", "days": 7})
    points = api(staff, "timeline", {"period": "hourly", "days": 7})["points"]
    today = timezone.localdate().isoformat()
    assert summary["queries"] == 5  # the fixture, as the API sees it
    assert card(browser, "queries") == str(summary["queries"])
    assert card(browser, "queries_today") == str(api(staff, "summary", {"date_from": today})["queries"])
    assert card(browser, "p95_ms") == f"{summary['response_time_ms']['p95']:.1f}"
    assert card(browser, "avg_ms") == f"{summary['response_time_ms']['avg']:.1f}"
    assert card(browser, "active_users") == str(summary["active_users"])
    assert card(browser, "error_rate") == f"{summary['error_rate'] * 100:.1f} %"
    assert card(browser, "tokens") == str(summary["tokens"])

    timeline = chart_data(browser, "chart-timeline")
    assert timeline["datasets"][0] == [p["queries"] for p in points]
    assert timeline["datasets"][1] == [p["errors"] for p in points]
    latency = chart_data(browser, "chart-latency")
    for dataset, name in zip(latency["datasets"], ("p50", "p95", "p99"), strict=True):
        assert dataset == [p["response_time_ms"][name] for p in points]
    usage = chart_data(browser, "chart-usage")
    assert usage["labels"] == [f"{c['channel']}/{c['collection_name']}" for c in summary["by_collection"]]
    assert usage["datasets"][0] == [c["queries"] for c in summary["by_collection"]]
    scores = chart_data(browser, "chart-scores")
    assert scores["datasets"][0] == [b["count"] for b in summary["top_score"]["histogram"]]


def test_dashboard_filters_redraw_the_charts_for_one_collection(admin_browser, traffic):
    browser, staff = admin_browser, admin_browser.user
    browser.open("/admin/analytics/dashboard/?preset=30d&collection=medilinx")

    points = api(staff, "timeline", {"days": 30, "collection": "medilinx"})["points"]
    assert card(browser, "queries") == "1"
    assert chart_data(browser, "chart-timeline")["datasets"][0] == [p["queries"] for p in points]
    assert chart_data(browser, "chart-usage")["labels"] == ["knowledge/medilinx"]
