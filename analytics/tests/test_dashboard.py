"""The admin dashboard page (rendered by Django; the browser test draws it in Chromium)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.services import statistics
from analytics.tests.test_statistics import answer

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/analytics/dashboard/"


@pytest.fixture
def traffic():
    now = timezone.now()
    answer(at=now - timedelta(minutes=5), session="a", question="연차는 며칠?", ms=120, tokens=30, scores=(0.9,))
    answer(at=now - timedelta(days=1), session="b", question="출장비 정산", ms=480, tokens=20, scores=())
    statistics.roll_up()


def test_admin_index_links_to_the_dashboard(admin_client):
    assert DASHBOARD in admin_client.get("/admin/").content.decode()


def test_dashboard_shows_cards_tables_and_the_vendored_chart_library(admin_client, traffic):
    page = admin_client.get(DASHBOARD, {"preset": "7d"}).content.decode()

    assert 'data-metric="queries">2<' in page
    assert 'data-metric="queries_today">1<' in page
    assert "analytics/vendor/chart.umd.js" in page
    for table in ("table-timeline", "table-latency", "table-usage", "table-scores", "table-top-queries",
                  "table-no-answer"):  # fmt: skip
        assert f'id="{table}"' in page
    assert "출장비 정산" in page  # an unanswered question


def test_dashboard_filters_by_collection(admin_client, traffic):
    page = admin_client.get(DASHBOARD, {"preset": "30d", "collection": "nothing-here"}).content.decode()

    assert 'data-metric="queries">0<' in page


def test_a_reversed_custom_range_is_explained_not_a_500(admin_client):
    response = admin_client.get(DASHBOARD, {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 400
    assert "date_to(2026-03-01)보다 늦습니다" in response.content.decode()


def test_non_staff_are_sent_to_the_login_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("visitor", password="pw"))

    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
