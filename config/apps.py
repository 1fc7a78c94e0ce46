from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Project-wide plumbing: API conventions, health, management commands."""

    name = "config"
    verbose_name = "플랫폼"
