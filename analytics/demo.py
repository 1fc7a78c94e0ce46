"""Demo analytics for `make run`: three weeks of generated traffic on every channel, rolled up, so
that the dashboard (/admin/analytics/dashboard/) has something to show."""

from datetime import timedelta

from django.utils import timezone

from analytics import traffic
from analytics.models import MessageLog
from analytics.services import statistics

DEMO_PREFIX = "demo-analytics-"
DEMO_DAYS = 21
EXCHANGES_PER_DAY = 120


def load(stdout) -> None:
    if MessageLog.objects.filter(session_id__startswith=DEMO_PREFIX).exists():
        return
    start = statistics.day_start(timezone.localdate() - timedelta(days=DEMO_DAYS - 1))
    logs = traffic.generate(
        traffic.Traffic(start=start, days=DEMO_DAYS, exchanges=DEMO_DAYS * EXCHANGES_PER_DAY, prefix=DEMO_PREFIX)
    )
    result = statistics.roll_up()
    stdout.write(f"  analytics: {logs} demo message logs over {DEMO_DAYS} days, {result.hours} hours rolled up")
