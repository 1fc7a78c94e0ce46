from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics.models import ChatStatistics
from analytics.tests.test_statistics import DAY, HOUR, answer

pytestmark = pytest.mark.django_db


def test_without_a_date_it_rolls_up_the_new_logs():
    answer(at=HOUR, ms=100)
    out = StringIO()

    call_command("aggregate_chat_stats", stdout=out)

    assert "2 new logs: 1 hourly rows over 1 days rolled up" in out.getvalue()
    assert ChatStatistics.objects.filter(period="day", date=DAY).exists()


def test_with_dates_it_rebuilds_those_days():
    answer(at=HOUR, ms=100)
    call_command("aggregate_chat_stats", stdout=StringIO())
    ChatStatistics.objects.all().delete()

    call_command("aggregate_chat_stats", "--date", DAY.isoformat(), "--to", DAY.isoformat(), stdout=StringIO())

    assert ChatStatistics.objects.get(period="day").total_queries == 1


@pytest.mark.parametrize("args", [["--date", "yesterday"], ["--to", "2026-02-09"], ["--date", "2026-02-09", "--to",
                                                                                      "2026-02-01"]])  # fmt: skip
def test_bad_dates_are_refused(args):
    with pytest.raises(CommandError):
        call_command("aggregate_chat_stats", *args)
