from django.apps import AppConfig


class MlTrainingConfig(AppConfig):
    """Training data queue, training jobs, model versions and metrics."""

    name = "ml_training"
    verbose_name = "ML 학습"

    def ready(self):
        from analytics.services.message_logs import logs_written
        from ml_training.services.collection import count_logged_retrievals

        logs_written.connect(count_logged_retrievals, dispatch_uid="ml_training.count_logged_retrievals")
