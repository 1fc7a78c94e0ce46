"""Create a training job over the ready data of one model type (refused below the seed's minimum).

python manage.py create_training_job --model-type nlu [--config '{"epochs": 10}']
"""

import json

from django.core.management.base import BaseCommand, CommandError

from ml_training.models import ModelType
from ml_training.services.preparation import NotEnoughData, create_training_job


class Command(BaseCommand):
    help = "Create a scheduled training job from the ready rows of the training-data queue."

    def add_arguments(self, parser):
        parser.add_argument("--model-type", required=True, choices=ModelType.values)
        parser.add_argument("--config", default="{}", help="training config as a JSON object")

    def handle(self, *args, **options):
        try:
            config = json.loads(options["config"])
        except ValueError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise CommandError("--config must be a JSON object.")
        try:
            job = create_training_job(options["model_type"], training_config=config, created_by="command")
        except NotEnoughData as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"created {job.job_name} (id {job.pk}) over {job.data_count} rows, scheduled {job.scheduled_at}"
        )
