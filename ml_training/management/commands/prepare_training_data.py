"""Move pending training data to ready by the seed's thresholds and print a per-model summary.

    python manage.py prepare_training_data

The same as the daily beat job `ml_training.prepare_daily_training_data`; safe to run again.
"""

from django.core.management.base import BaseCommand

from ml_training.services.preparation import MINIMUM_READY, prepare_daily_training_data


class Command(BaseCommand):
    help = "Prepare the training-data queue (pending -> ready) and print what is ready per model type."

    def handle(self, *args, **options):
        self.stdout.write(f"{'model':16}{'prepared now':>14}{'ready':>8}{'needed':>8}{'avg quality':>13}")
        for summary in prepare_daily_training_data():
            quality = f"{summary.avg_quality:.3f}" if summary.avg_quality is not None else "-"
            self.stdout.write(
                f"{summary.model_type:16}{summary.prepared:>14}{summary.ready:>8}"
                f"{MINIMUM_READY[summary.model_type]:>8}{quality:>13}"
            )
