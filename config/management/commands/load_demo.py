import importlib
import importlib.util

from django.core.management.base import BaseCommand

# Each app that has demo data exposes `<app>.demo.load(stdout)`; loading must be idempotent.
DEMO_APPS = ["chat", "rag", "analytics", "ml_training"]


class Command(BaseCommand):
    help = "Load each app's demo data (idempotent), so `make run` has something to show."

    def handle(self, **options):
        for app in DEMO_APPS:
            module_name = f"{app}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            self.stdout.write(f"demo data: {app}")
            importlib.import_module(module_name).load(self.stdout)
