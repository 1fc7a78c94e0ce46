from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.services import statistics


class Command(BaseCommand):
    help = (
        "Roll up the hours and days of every log not rolled up yet (what the scheduled job does). "
        "With --date (and --to), aggregate those local days again from their logs instead. Re-runnable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="first day, YYYY-MM-DD (local TIME_ZONE)")
        parser.add_argument("--to", help="last day, YYYY-MM-DD (default: --date)")

    def handle(self, *args, **options):
        if not options["date"]:
            if options["to"]:
                raise CommandError("--to needs --date")
            result = statistics.roll_up()
            self.stdout.write(f"{result.logs} new logs: {result.hours} hourly rows over {result.days} days rolled up")
            return
        try:
            first = date.fromisoformat(options["date"])
            last = date.fromisoformat(options["to"]) if options["to"] else first
        except ValueError as exc:
            raise CommandError(f"--date/--to: {exc}") from None
        if last < first:
            raise CommandError("--to is before --date")
        result = statistics.rebuild_days(first, last)
        self.stdout.write(f"{first}..{last}: {result.hours} hourly rows over {result.days} days aggregated")
