from io import StringIO

import pytest

from analytics import demo
from analytics.models import ChatStatistics, ConversationHistory, MessageLog

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once():
    demo.load(StringIO())
    demo.load(StringIO())

    assert ConversationHistory.objects.count() == len(demo.CONVERSATIONS)
    assert MessageLog.objects.count() == 2 * sum(len(turns) for _, _, turns in demo.CONVERSATIONS)
    assert ChatStatistics.objects.filter(period="day").exists()
