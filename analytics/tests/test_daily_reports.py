from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import CollectionReport
from analytics.services import daily_reports, statistics
from analytics.tests.test_statistics import answer

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 2).date()
AT = timezone.make_aware(datetime(2026, 3, 2, 10, 0))


@pytest.fixture
def traffic():
    answer(at=AT, session="a", question="연차는 며칠인가요?", ms=200, scores=(0.9,))
    answer(at=AT + timedelta(minutes=5), session="b", question="<b>VPN</b> 접속이 안 돼요", ms=900, scores=())
    answer(at=AT, session="c", collection="medilinx", question="혈압", ms=300, scores=(0.7,))
    statistics.roll_up()


def test_one_report_per_collection_with_traffic_in_markdown_and_html(traffic):
    assert daily_reports.write_reports(DAY) == 2

    report = CollectionReport.objects.get(collection_name="handbook", day=DAY)
    assert "| Queries | 2 |" in report.markdown
    assert "- <b>vpn</b> 접속이 안 돼요 (1: no answer 1" in report.markdown
    assert "&lt;b&gt;VPN&lt;/b&gt; 접속이 안 돼요 (1)" in report.html  # escaped in HTML
    assert "<td>Queries</td><td>2</td>" in report.html


def test_writing_a_day_again_replaces_its_reports(traffic):
    daily_reports.write_reports(DAY)
    daily_reports.write_reports(DAY)

    assert CollectionReport.objects.count() == 2


def test_reports_are_listed_and_shown_in_admin(admin_client, traffic):
    daily_reports.write_reports(DAY)
    report = CollectionReport.objects.get(collection_name="handbook")

    listing = admin_client.get(reverse("admin:analytics_collectionreport_changelist"))
    page = admin_client.get(reverse("admin:analytics_collectionreport_change", args=[report.pk]))

    assert listing.status_code == page.status_code == 200
    assert "<td>Queries</td><td>2</td>" in page.content.decode()
