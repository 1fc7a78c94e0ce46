from django.core.management.base import BaseCommand

from analytics.services.message_logs import flush_log_outbox


class Command(BaseCommand):
    help = "Replay message-log records that were written to var/log-outbox because the database refused them."

    def handle(self, *args, **options):
        result = flush_log_outbox()
        self.stdout.write(
            f"replayed={result.replayed} already_stored={result.duplicates} "
            f"kept_for_retry={result.kept} dead_lettered={result.dead}"
        )
