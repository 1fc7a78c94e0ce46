"""Import shops (and menus) from .xlsx / .csv files (seed 003 §7.1); see chat/services/shop_import.py."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from tqdm import tqdm

from chat.services.shop_import import ImportFileError, import_files


class Command(BaseCommand):
    help = (
        "Import shops and menus: an .xlsx with a 'shops' sheet (and optionally a 'menus' sheet), or .csv files "
        "(a menus CSV is recognised by its menu_name column). Upserts on (shop_name, address_name); bad rows are "
        "reported with row, column and reason and skipped. Exits 1 when any row was skipped (unless --allow-errors)."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="shops/menus .xlsx or .csv file(s)")
        parser.add_argument("--allow-errors", action="store_true", help="exit 0 even when bad rows were skipped")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, save nothing")

    def handle(self, *args, files, allow_errors, no_progress, dry_run, **options):
        def progress(iterable, desc, total):
            return tqdm(iterable, desc=desc, total=total, unit="row", disable=no_progress, file=self.stderr)

        try:
            report = import_files([(path, path) for path in files], progress=progress, dry_run=dry_run)
        except (ImportFileError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for error in report.errors:
            self.stderr.write(gettext("skipped: %(error)s") % {"error": error})
        self.stdout.write(report.summary())
        if report.errors and not allow_errors:
            raise CommandError(gettext("%(count)d row(s) skipped") % {"count": report.rows_skipped}, returncode=1)
