from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import statistics


class Command(BaseCommand):
    help = "Aggregate chat statistics for a day (default: yesterday), its 24 hours included. Re-runnable."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (local TIME_ZONE)")

    def handle(self, *args, **options):
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else timezone.localdate() - timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from None
        hourly, daily = statistics.aggregate_day_and_hours(day)
        self.stdout.write(f"{day}: {hourly} hourly rows, {daily} daily rows")
