"""Durable fallback for log records whose database write failed: an append-only JSONL file.

`append()` is called on the (rare) failure path of `record_exchange`, so it favours durability over
speed: one `write()` of a whole line under an exclusive `flock`, then `fsync`. `flush()` (management
command / Celery task `flush_log_outbox`) renames the file aside, replays every record through the
same idempotent writer, puts records back when the database is still unreachable and moves records
the database rejects for good to `dead.jsonl` (kept for a human, never dropped).

Layout under `settings.VAR_DIR / "log-outbox"`:
    outbox.jsonl             records waiting to be replayed
    processing-*.jsonl       a flush in progress (picked up again if a flush crashed)
    dead.jsonl               records that failed for a reason other than connectivity
"""

import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

logger = logging.getLogger(__name__)

OUTBOX_NAME = "outbox.jsonl"
DEAD_NAME = "dead.jsonl"


def outbox_dir() -> Path:
    return Path(settings.VAR_DIR) / "log-outbox"


def _append_line(path: Path, line: bytes) -> None:
    """Append one line to `path`, safe against concurrent writers and a concurrent `flush()`.

    After taking the lock the file we opened must still be the one at `path`: if a flush renamed
    it meanwhile, the line would land in a file that is already being (or has been) read, so retry.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    continue
            except FileNotFoundError:
                continue
            os.write(fd, line)
            os.fsync(fd)
            return
        finally:
            os.close(fd)  # closing releases the lock


def append(record: dict, *, reason: str = "", path: Path | None = None) -> None:
    """Store a record for later replay. Raises only if the disk itself fails."""
    entry = {"queued_at": timezone.now().isoformat(), "reason": reason[:500], "record": record}
    line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
    _append_line(path or outbox_dir() / OUTBOX_NAME, line.encode())


def pending_count() -> int:
    directory = outbox_dir()
    files = [directory / OUTBOX_NAME, *directory.glob("processing-*.jsonl")]
    return sum(sum(1 for _ in file.open("rb")) for file in files if file.exists())


@dataclass
class FlushResult:
    replayed: int = 0
    duplicates: int = 0
    kept: int = 0
    dead: int = 0


def flush(write: Callable[[dict], bool]) -> FlushResult:
    """Replay every queued record with `write(record) -> bool` (False: it had already landed)."""
    directory = outbox_dir()
    result = FlushResult()
    if not directory.exists():
        return result
    outbox = directory / OUTBOX_NAME
    if outbox.exists():
        outbox.rename(directory / f"processing-{timezone.now():%Y%m%dT%H%M%S%f}-{os.getpid()}.jsonl")
    for batch in sorted(directory.glob("processing-*.jsonl")):
        _replay_file(batch, write, result)
    return result


def _replay_file(batch: Path, write: Callable[[dict], bool], result: FlushResult) -> None:
    with batch.open("rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # wait for writers that opened it before the rename
        lines = fh.read().splitlines()
    for raw in lines:
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            record = entry["record"]
        except (ValueError, KeyError, TypeError):
            logger.error("log outbox: unreadable line moved to %s", DEAD_NAME)
            _append_line(batch.parent / DEAD_NAME, raw + b"\n")
            result.dead += 1
            continue
        try:
            if write(record):
                result.replayed += 1
            else:
                result.duplicates += 1
        except (OperationalError, InterfaceError) as exc:  # database unreachable: try again next time
            append(record, reason=f"replay: {exc}")
            result.kept += 1
        except Exception as exc:  # the database refuses this record: keep it for a human
            logger.error("log outbox: record rejected, moved to %s: %s", DEAD_NAME, exc)
            append(record, reason=f"rejected: {exc}", path=batch.parent / DEAD_NAME)
            result.dead += 1
    batch.unlink()
