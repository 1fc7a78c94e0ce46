import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin superuser once (ADMIN_USERNAME / ADMIN_PASSWORD, or a generated password)."

    def handle(self, **options):
        users = get_user_model().objects
        username = settings.ADMIN_USERNAME
        if users.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists")
            return
        password = settings.ADMIN_PASSWORD or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        shown = "from ADMIN_PASSWORD" if settings.ADMIN_PASSWORD else password
        self.stdout.write(self.style.SUCCESS(f"created admin user {username!r}, password: {shown}"))
