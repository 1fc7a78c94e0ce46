from django.core.management.base import BaseCommand

from analytics.services.message_logs import flush_log_outbox


class Command(BaseCommand):
    help = (
        "Write queued message-log records into the logs and conversation histories: the outbox table, and "
        "the var/log-outbox file of records the database refused earlier. The worker runs this every few seconds."
    )

    def handle(self, *args, **options):
        result = flush_log_outbox()
        if result.busy:
            self.stdout.write("another flush is running; nothing done")
            return
        self.stdout.write(
            f"queued records: written={result.written} already_stored={result.already_stored} "
            f"failed={result.failed}\n"
            f"outbox file: replayed={result.file.replayed} already_stored={result.file.duplicates} "
            f"kept_for_retry={result.file.kept} dead_lettered={result.file.dead}"
        )
