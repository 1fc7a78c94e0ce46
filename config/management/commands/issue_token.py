from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from config.models import UserApiToken


class Command(BaseCommand):
    help = "Create the user if needed, issue a new API token and print it alone on the last line (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--staff", action="store_true", help="make the user staff")

    def handle(self, username, staff, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
        if staff and not user.is_staff:
            user.is_staff = True
        user.save()
        _, token = UserApiToken.issue(user=user, label="issue_token")
        self.stderr.write(f"{'created' if created else 'found'} user {username}{' (staff)' if user.is_staff else ''}")
        self.stdout.write(token)
