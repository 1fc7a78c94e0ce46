from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Message-level logs, conversation history, hourly/daily statistics."""

    name = "analytics"
    verbose_name = "분석"
