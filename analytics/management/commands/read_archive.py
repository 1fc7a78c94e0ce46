import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.services import archives, exports

FIELDS = {archives.LOGS: exports.LOG_FIELDS, archives.CONVERSATIONS: exports.CONVERSATION_FIELDS}


class Command(BaseCommand):
    help = "Print the message logs or conversation histories of local days, live and archived alike (CSV/JSON)."

    def add_arguments(self, parser):
        add_kind_and_days(parser)
        parser.add_argument("--collection", default="")
        parser.add_argument("--output", choices=exports.FORMATS, default=exports.JSON)

    def handle(self, *args, **options):
        first, last = parse_days(options["first"], options["last"])
        filters = {"collection_name": options["collection"]} if options["collection"] else {}
        rows = archives.read_range(options["kind"], first, last, **filters)
        for chunk in exports.stream(rows, FIELDS[options["kind"]], options["output"]):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.write(b"\n")


def add_kind_and_days(parser) -> None:
    parser.add_argument("kind", choices=list(archives.KINDS))
    parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")


def parse_days(first: str, last: str) -> tuple[date, date]:
    try:
        first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError as exc:
        raise CommandError(f"--from/--to: {exc}") from None
    if last_day < first_day:
        raise CommandError("--to is before --from")
    return first_day, last_day
