from django.core.management.base import BaseCommand

from analytics.management.commands.read_archive import add_kind_and_days, parse_days
from analytics.services import archives


class Command(BaseCommand):
    help = "Put the archived message logs or conversation histories of local days back into the database."

    def add_arguments(self, parser):
        add_kind_and_days(parser)

    def handle(self, *args, **options):
        first, last = parse_days(options["first"], options["last"])
        restored, kept = archives.restore(options["kind"], first, last)
        self.stdout.write(f"{restored} rows restored; {kept} left in the archive (their key is live again)")
