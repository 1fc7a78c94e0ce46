from django.core.management.base import BaseCommand

from chat.models import Partner, PartnerApiKey


class Command(BaseCommand):
    help = "Create the partner if needed and print a new API key alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("partner_id")
        parser.add_argument("--name", default="")
        parser.add_argument("--label", default="")

    def handle(self, partner_id, name, label, **options):
        partner, created = Partner.objects.get_or_create(partner_id=partner_id, defaults={"name": name})
        _, plain_key = PartnerApiKey.issue(partner, label=label)
        self.stderr.write(f"{'created' if created else 'found'} partner {partner_id}; the key is shown only once")
        self.stdout.write(plain_key)
