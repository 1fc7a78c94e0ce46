"""Run the data checks of seed 003 §7.2 (chat/services/data_validation.py) and print a report."""

from django.core.management.base import BaseCommand, CommandError

from chat.services.data_validation import run_checks


class Command(BaseCommand):
    help = "Check dining data integrity (seed 003 §7.2 + JSON/counter rules). Exits 1 when a problem is found."

    def add_arguments(self, parser):
        parser.add_argument("--warn-only", action="store_true", help="report problems but exit 0")

    def handle(self, *args, warn_only, **options):
        results = run_checks()
        width = max(len(result.name) for result in results)
        for result in results:
            mark = self.style.SUCCESS("ok  ") if result.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {result.name:<{width}}  {result.count:>6}  {result.description}")
            for sample in result.samples:
                self.stdout.write(f"       - {sample}")
        failed = [result for result in results if not result.ok]
        if not failed:
            self.stdout.write(self.style.SUCCESS(f"all {len(results)} checks passed"))
            return
        message = f"{len(failed)} of {len(results)} checks found problems"
        if warn_only:
            self.stdout.write(self.style.WARNING(message))
            return
        raise CommandError(message, returncode=1)
