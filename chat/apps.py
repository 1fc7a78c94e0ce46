from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Dining assistant, chat sessions, partners and their tuning logs."""

    name = "chat"
    verbose_name = "챗봇"

    def ready(self):
        from chat import signals  # noqa: F401  (cache invalidation receivers)
