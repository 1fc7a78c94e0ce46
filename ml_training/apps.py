from django.apps import AppConfig


class MlTrainingConfig(AppConfig):
    """Training data queue, training jobs, model versions and metrics."""

    name = "ml_training"
    verbose_name = "ML training"
