from io import StringIO

import pytest

from analytics import demo
from analytics.models import ChatStatistics, ConversationHistory, MessageLog

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once():
    demo.load(StringIO())
    demo.load(StringIO())

    exchanges = demo.DEMO_DAYS * demo.EXCHANGES_PER_DAY
    assert MessageLog.objects.count() == 2 * exchanges
    assert ConversationHistory.objects.count() == exchanges / 5
    assert ChatStatistics.objects.filter(period="day").values("date").distinct().count() >= demo.DEMO_DAYS - 1


def test_demo_traffic_has_errors_partials_regenerations_and_no_answers():
    demo.load(StringIO())

    rows = ChatStatistics.objects.filter(period="day")
    assert sum(r.error_count for r in rows) > 0
    assert sum(r.partial_count for r in rows) > 0
    assert sum(r.regeneration_count for r in rows) > 0
    assert sum(r.no_answer_count for r in rows) > 0
    assert sum(r.active_users for r in rows) > 0
