"""Compressed archives of message logs and conversation histories (seed 002 §2.3, §5), read back
transparently and restorable.

An archive part is `VAR_DIR/archive/<kind>/<day>.<part>.jsonl.gz` (the rows of one local day: a log's
creation day, a conversation's last activity day) with a manifest `<day>.<part>.manifest.json`
naming its rows, key range and sha256. A part is written and fsync'ed, then its manifest (by an
atomic rename), and only then are its rows deleted: a crash leaves at worst a part without a
manifest (ignored; its rows are still live and archived again) or rows both live and archived
(readers prefer the live row). Reading checks the checksum; a part that does not match is refused.
"""

import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from analytics.models import ConversationHistory, MessageLog

LOGS = "message-logs"
CONVERSATIONS = "conversations"
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    time_field: str  # which day a row belongs to
    key: str  # what identifies a row across live and archived copies
    datetime_fields: tuple[str, ...]


KINDS = {
    LOGS: Kind(LOGS, MessageLog, "created_at", "log_id", ("created_at",)),
    CONVERSATIONS: Kind(
        CONVERSATIONS, ConversationHistory, "updated_at", "conversation_key", ("created_at", "updated_at")
    ),  # fmt: skip
}


class ArchiveCorrupt(Exception):
    """A part's content does not match the checksum in its manifest."""


def directory(kind: str) -> Path:
    return Path(settings.VAR_DIR) / "archive" / kind


def row_key(kind: Kind, row: dict) -> str:
    if kind.key == "conversation_key":
        return f"{row['channel']}/{row['collection_name']}/{row['conversation_id']}"
    return str(row[kind.key])


def archived_fields(model) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields if field.attname != "id"]


def archive_older_than(kind_name: str, cutoff: datetime, *, keep_days: int, queryset=None) -> int:
    """Move the rows of `kind` last active before `cutoff` (of `queryset`, default all) into archive
    parts, one local day at a time, to be kept `keep_days` after their day; returns the rows archived."""
    kind = KINDS[kind_name]
    rows = queryset if queryset is not None else kind.model.objects.all()
    rows = rows.filter(**{f"{kind.time_field}__lt": cutoff}).order_by(kind.time_field, "pk")
    total = 0
    while True:
        first = rows.values_list(kind.time_field, flat=True).first()
        if first is None:
            return total
        day = timezone.localdate(first)
        day_end = _day_start(day + timedelta(days=1))
        batch = list(
            rows.filter(**{f"{kind.time_field}__lt": day_end}).values("pk", *archived_fields(kind.model))[:BATCH_SIZE]
        )
        _write_part(kind, day, batch, keep_days)
        kind.model.objects.filter(pk__in=[row["pk"] for row in batch]).delete()
        total += len(batch)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _write_part(kind: Kind, day: date, rows: list[dict], keep_days: int) -> Path:
    folder = directory(kind.name)
    folder.mkdir(parents=True, exist_ok=True)
    part = 1 + max((int(p.name.split(".")[1]) for p in folder.glob(f"{day}.*.manifest.json")), default=0)
    path = folder / f"{day}.{part}.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            row = {name: value for name, value in row.items() if name != "pk"}
            fh.write(json.dumps(row, default=_exact, ensure_ascii=False) + "\n")
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
    manifest = {
        "kind": kind.name,
        "day": day.isoformat(),
        "part": part,
        "file": path.name,
        "rows": len(rows),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "first": min(row[kind.time_field] for row in rows).isoformat(),
        "last": max(row[kind.time_field] for row in rows).isoformat(),
        "fields": archived_fields(kind.model),
        "delete_after": (day + timedelta(days=keep_days)).isoformat(),
        "archived_at": timezone.now().isoformat(),
    }
    temporary = folder / f".{day}.{part}.manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2))
    temporary.replace(folder / f"{day}.{part}.manifest.json")
    return path


def _exact(value):
    """JSON for what json cannot write itself, losing nothing (DjangoJSONEncoder cuts microseconds)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot archive {type(value).__name__}")


def manifests(kind_name: str, first: date | None = None, last: date | None = None) -> list[dict]:
    """The manifests of the parts of `kind` whose day is in first..last, oldest first."""
    found = []
    for path in sorted(directory(kind_name).glob("*.manifest.json")):
        manifest = json.loads(path.read_text())
        day = date.fromisoformat(manifest["day"])
        if (first is None or day >= first) and (last is None or day <= last):
            found.append(manifest)
    return sorted(found, key=lambda m: (m["day"], m["part"]))


def read_part(kind_name: str, manifest: dict) -> Iterator[dict]:
    """The rows of one part, after checking it against its manifest's sha256."""
    kind = KINDS[kind_name]
    path = directory(kind_name) / manifest["file"]
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != manifest["sha256"]:
        raise ArchiveCorrupt(f"{path.name}: sha256 does not match its manifest")
    for line in gzip.decompress(content).decode("utf-8").splitlines():
        row = json.loads(line)
        for name in kind.datetime_fields:
            row[name] = parse_datetime(row[name])
        yield row


def read_range(kind_name: str, first: date, last: date, **filters) -> Iterator[dict]:
    """Rows of the local days first..last, live and archived alike (a row both live and archived is
    returned once, live), oldest day first; `filters` are exact field matches."""
    kind = KINDS[kind_name]
    live = kind.model.objects.filter(
        **{
            f"{kind.time_field}__gte": _day_start(first),
            f"{kind.time_field}__lt": _day_start(last + timedelta(days=1)),
        },
        **filters,
    ).order_by(kind.time_field, "pk")
    seen = set()
    for row in live.values(*archived_fields(kind.model)).iterator(chunk_size=BATCH_SIZE):
        seen.add(row_key(kind, row))
        yield row
    for manifest in manifests(kind_name, first, last):
        for row in read_part(kind_name, manifest):
            if row_key(kind, row) not in seen and all(row.get(name) == value for name, value in filters.items()):
                yield row


def restore(kind_name: str, first: date, last: date) -> tuple[int, int]:
    """Put the archived rows of days first..last back into the database and remove those parts.

    A row whose key is live again (e.g. a conversation that went on after it was archived) is not
    overwritten, and its part is kept so that nothing is lost. Returns (rows restored, rows kept
    in the archive because they are live).
    """
    kind = KINDS[kind_name]
    restored = skipped = 0
    folder = directory(kind_name)
    for manifest in manifests(kind_name, first, last):
        rows = list(read_part(kind_name, manifest))
        live = _live_keys(kind, rows)
        fresh = [kind.model(**row) for row in rows if row_key(kind, row) not in live]
        with transaction.atomic():
            kind.model.objects.bulk_create(fresh, batch_size=1000)
        restored += len(fresh)
        skipped += len(rows) - len(fresh)
        if len(fresh) == len(rows):
            (folder / manifest["file"]).unlink()
            (folder / manifest["file"].replace(".jsonl.gz", ".manifest.json")).unlink()
    return restored, skipped


def _live_keys(kind: Kind, rows: list[dict]) -> set[str]:
    if kind.key == "log_id":
        return {str(key) for key in MessageLog.objects.filter(log_id__in=[r["log_id"] for r in rows])
                .values_list("log_id", flat=True)}  # fmt: skip
    ids = {r["conversation_id"] for r in rows}
    live = ConversationHistory.objects.filter(conversation_id__in=ids).values(
        "channel", "collection_name", "conversation_id"
    )
    return {row_key(kind, row) for row in live}


def delete_expired(kind_name: str, today: date) -> int:
    """Delete the archive parts whose keeping time is over; returns the parts deleted."""
    deleted = 0
    folder = directory(kind_name)
    for manifest in manifests(kind_name):
        if date.fromisoformat(manifest["delete_after"]) < today:
            (folder / manifest["file"]).unlink(missing_ok=True)
            (folder / manifest["file"].replace(".jsonl.gz", ".manifest.json")).unlink()
            deleted += 1
    return deleted
