"""Message-level logs and conversation history for every chat channel (seed 002 §3.1-3.2, §4.2).

`record_exchange()` is called by the dining, knowledge and partner chats once per answered turn.
It costs the chat ONE small INSERT, in the chat's own transaction, into the transactional outbox
(`LogOutboxRecord`): the log is stored exactly when the answer is, and neither Redis nor the worker
has to be up. The seed's batch processor is `flush_log_outbox()` (a Celery beat job every few
seconds, and a management command): it drains the table in id order, up to 500 records at a time,
with `write_records`, ONE statement that INSERTs the user and the assistant `MessageLog` rows of
every record and, in data-modifying CTEs, INSERTs ... ON CONFLICT DO UPDATEs each conversation's
`ConversationHistory` row once, appending its new messages in order with jsonb `||` and recomputing
the sampling flags from the locked row.

Inside a caller's transaction the INSERT runs in a savepoint: if the database refuses it (or the
caller's transaction is already broken) the record goes to the durable outbox file
(`analytics.services.outbox`) and the chat carries on; the flush replays that file too. A queued
record is written exactly once because the flush deletes it in the transaction that writes it; a
file record carries its log ids, so replaying it twice stores it once.

Smart sampling: a conversation is always kept when it has an error, a regeneration, >= 5 turns or
a retrieval score < 0.5; any other conversation is kept when its stable hash bucket falls below
`CONVERSATION_SAMPLE_RATE`, so the decision never flips between turns. Unsampled conversations are
still written (a later turn may promote them) but retention deletes them early. Message logs are
always kept.
"""

import hashlib
import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min
from django.dispatch import Signal
from django.utils import timezone

from analytics.models import ConversationHistory, LogOutboxRecord, MessageLog
from analytics.services import outbox
from config.db import execute_isolated

logger = logging.getLogger(__name__)

RECORD_VERSION = 2  # 2: question time and lowest score are derived when written (version 1 carried them too)
ALWAYS_KEEP_MIN_TURNS = 5
ALWAYS_KEEP_SCORE_BELOW = 0.5
SUMMARY_LENGTH = 200
FLUSH_BATCH_SIZE = 500
MAX_WRITE_ATTEMPTS = 5
# One flush at a time keeps each conversation's messages in the order they were queued.
FLUSH_LOCK_KEY = int.from_bytes(hashlib.sha256(b"analytics.flush_log_outbox").digest()[:4], "big")

# Sent with `records` (those whose logs were new, so never twice for one record) inside the
# transaction that writes them: e.g. ml_training counts the documents each answer retrieved.
logs_written = Signal()

_LOG_COLUMNS = (
    "log_id, session_id, channel, collection_name, message_type, content, reasoning_level, llm_model, "
    "llm_params, retrieval_info, performance, error, regenerated, created_at"
)


def hash_user_id(user_id) -> str:
    """sha256(user id + USER_HASH_SALT); empty for anonymous turns."""
    if user_id is None or user_id == "":
        return ""
    return hashlib.sha256(f"{user_id}{settings.USER_HASH_SALT}".encode()).hexdigest()


def sample_bucket(channel: str, collection_name: str, session_id: str) -> float:
    """A stable number in [0, 1) for a conversation: the same conversation always gets the same one."""
    digest = hashlib.sha256(f"{channel}\x1f{collection_name}\x1f{session_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000


def is_randomly_sampled(channel: str, collection_name: str, session_id: str) -> bool:
    return sample_bucket(channel, collection_name, session_id) < settings.CONVERSATION_SAMPLE_RATE


def record_exchange(**fields) -> None:
    """Queue one user+assistant exchange for the logs (fields: those of `build_record`).

    Never raises: a record that cannot be built or queued lands in the outbox file.
    """
    try:
        record = build_record(**fields)
    except Exception:  # a caller bug must not break its chat; keep what we were given
        logger.exception("record_exchange: could not build the log record")
        record = {"unbuildable": True, **{name: str(fields.get(name)) for name in ("channel", "session_id")}}
        _to_outbox(record, "could not build the record")
        return
    try:
        execute_isolated(_ENQUEUE, [serialise(record)])
    except Exception as exc:
        logger.warning("record_exchange: database write failed, record kept in the outbox file: %s", exc)
        _to_outbox(_json_safe(record), str(exc))


def enqueue_statement(**fields) -> tuple[str, list]:
    """The INSERT that queues this exchange, for a chat that sends it inside its own write as a
    data-modifying CTE (`WITH logged AS (<sql>) UPDATE ...`): logging then costs the chat no round trip.

    Raises when the record cannot be built; if it or the caller's statement fails, the caller falls
    back to `record_exchange`, which never raises.
    """
    return _ENQUEUE, [serialise(build_record(**fields))]


_ENQUEUE = f"INSERT INTO {LogOutboxRecord._meta.db_table} (record) VALUES (%s::jsonb)"


@dataclass
class FlushResult:
    """What one `flush_log_outbox()` did: records written from the table, and the outbox file's replay."""

    written: int = 0
    already_stored: int = 0
    failed: int = 0
    busy: bool = False  # another flush was running; this one did nothing
    file: outbox.FlushResult = field(default_factory=outbox.FlushResult)


def flush_log_outbox(*, batch_size: int = FLUSH_BATCH_SIZE) -> FlushResult:
    """Write every queued record into the message logs and histories: first the outbox file (records
    the database refused earlier), then the outbox table in id order, in batches of `batch_size`.

    Only one flush runs at a time (a PostgreSQL advisory lock); a concurrent call returns busy.
    """
    result = FlushResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [FLUSH_LOCK_KEY])
        if not cursor.fetchone()[0]:
            result.busy = True
            return result
    try:
        result.file = outbox.flush(write_record)
        while _flush_batch(batch_size, result) == batch_size:
            pass
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [FLUSH_LOCK_KEY])
    return result


def log_outbox_backlog(now: datetime | None = None) -> dict:
    """What the flush has not written yet: rows, the oldest one's age, and whether the flush is stuck
    (the oldest row waited longer than LOG_OUTBOX_STUCK_AFTER_SECONDS, or rows ran out of attempts)."""
    backlog = LogOutboxRecord.objects.aggregate(rows=Count("id"), oldest=Min("created_at"))
    given_up = LogOutboxRecord.objects.filter(attempts__gte=MAX_WRITE_ATTEMPTS).exists()
    age = (now or timezone.now()) - backlog["oldest"] if backlog["oldest"] else None
    seconds = round(age.total_seconds(), 1) if age else 0.0
    return {
        "rows": backlog["rows"],
        "oldest_age_seconds": seconds,
        "out_of_attempts": given_up,
        "stuck": given_up or seconds > settings.LOG_OUTBOX_STUCK_AFTER_SECONDS,
    }


def retry_stuck(records) -> int:
    """Give records that reached MAX_WRITE_ATTEMPTS (e.g. after a fixed bug) a fresh set of attempts."""
    return records.filter(attempts__gte=MAX_WRITE_ATTEMPTS).update(attempts=0, last_error="")


def _flush_batch(batch_size: int, result: FlushResult) -> int:
    """Write one batch in one transaction: written records leave the table with it, refused ones stay
    (attempts + 1, the error kept for staff) until MAX_WRITE_ATTEMPTS. Returns the batch's size."""
    with transaction.atomic():
        batch = list(
            LogOutboxRecord.objects.select_for_update(skip_locked=True)
            .filter(attempts__lt=MAX_WRITE_ATTEMPTS)
            .order_by("id")
            .values_list("id", "record")[:batch_size]
        )
        if not batch:
            return 0
        try:
            stored = write_records([record for _, record in batch])
            done = [pk for pk, _ in batch]
        except Exception:  # a record the database refuses fails the whole statement: find it one by one
            stored, done = _write_one_by_one(batch, result)
        result.written += stored
        result.already_stored += len(done) - stored
        LogOutboxRecord.objects.filter(pk__in=done).delete()
    return len(batch)


def _write_one_by_one(batch: list[tuple[int, dict]], result: FlushResult) -> tuple[int, list[int]]:
    """(records stored, ids done); refused records stay queued with attempts + 1 and their error."""
    stored, done = 0, []
    for pk, record in batch:
        try:
            stored += write_record(record)
        except Exception as exc:  # this record only: the write rolled its own savepoint back
            logger.warning("log outbox: record %s could not be written: %s", pk, exc)
            LogOutboxRecord.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=str(exc)[:2000])
            result.failed += 1
            continue
        done.append(pk)
    return stored, done


def _to_outbox(record: dict, reason: str) -> None:
    """Spill a record to the outbox file, with log ids so that replaying it twice stores it once."""
    record.setdefault("user_log_id", str(uuid.uuid4()))
    record.setdefault("assistant_log_id", str(uuid.uuid4()))
    try:
        outbox.append(record, reason=reason)
    except Exception:  # the disk failed too: the process log is the last durable place left
        logger.exception("record_exchange: outbox write failed; record=%s", json.dumps(record, default=str))


def build_record(
    *,
    channel: str,
    collection_name: str,
    session_id: str,
    user_id,
    user_message: str,
    assistant_message: str,
    llm_model: str = "",
    llm_params: dict | None = None,
    reasoning_level: str = "",
    retrieval_info: dict | None = None,
    performance: dict | None = None,
    error: str = "",
    regenerated: bool = False,
    retrieved_docs: list | None = None,
) -> dict:
    """A self-contained record of the exchange: what the outbox stores and `write_record` writes.

    Built on the chat's path, so it only stamps the time and the user hash; `serialise` makes it
    JSON that jsonb accepts and `write_records` derives the rest (log ids, question time, lowest
    score). A queued record needs no log ids: the flush deletes it in the transaction that writes it.
    """
    return {
        "version": RECORD_VERSION,
        "channel": channel,
        "collection_name": collection_name,
        "session_id": session_id,
        "user_hash": hash_user_id(user_id),
        "user_message": user_message,
        "assistant_message": assistant_message,
        "llm_model": llm_model,
        "llm_params": llm_params or {},
        "reasoning_level": reasoning_level,
        "retrieval_info": retrieval_info or {},
        "performance": performance or {},
        "error": error,
        "regenerated": bool(regenerated),
        "retrieved_docs": list(retrieved_docs or []),
        "answered_at": timezone.now().isoformat(),
    }


def serialise(record) -> str:
    """The record (or a list of them) as JSON that jsonb accepts.

    orjson already writes NaN and Infinity as null and unknown objects as text; only a NUL character
    (which jsonb refuses) or a value orjson cannot take (an integer beyond 64 bits) sends the record
    through the value-by-value cleaning.
    """
    try:
        text = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _dumps(_json_safe(record))
    return _dumps(_json_safe(record)) if "\\u0000" in text else text


def write_record(record: dict) -> bool:
    """Write one record; False when it had already landed (a replay)."""
    return write_records([record]) == 1


def write_records(records: list[dict]) -> int:
    """Write records in ONE statement, in their order; returns how many were new (replays are skipped).

    Inside the caller's transaction the statement runs in a savepoint, so a refused write rolls back
    alone and the caller's transaction carries on; in autocommit mode the single statement is
    atomic by itself and needs none.
    """
    rows = [_statement_row(seq, record) for seq, record in enumerate(records)]
    with transaction.atomic():  # the receivers of logs_written write with the logs, or not at all
        stored, new_seqs = execute_isolated(_WRITE, [serialise(rows)], fetch=True)
        if new_seqs:
            logs_written.send(sender=write_records, records=[records[seq] for seq in new_seqs])
    return stored


def _statement_row(seq: int, record: dict) -> dict:
    """One input row of _WRITE: the record's text made storable, the question time and the sampling
    facts derived, and the two history messages built."""
    record = {**record, **{name: _clean(record[name]) for name in _TEXT_FIELDS}}
    answered_at = datetime.fromisoformat(record["answered_at"])
    response_ms = record["performance"].get("response_time_ms")
    if not (_is_number(response_ms) and response_ms > 0):
        response_ms = 0.001
    asked_at = answered_at - timedelta(milliseconds=response_ms)  # also orders the two rows of one exchange
    has_error = bool(record["error"])
    min_score = lowest_score(record)
    assistant = {
        "role": "assistant",
        "content": record["assistant_message"],
        "retrieved_docs": record["retrieved_docs"],
        "timestamp": timezone.localtime(answered_at).isoformat(),
    }
    if record["regenerated"]:
        assistant["regenerated"] = True
    if has_error:
        assistant["error"] = record["error"]
    user = {
        "role": "user",
        "content": record["user_message"],
        "retrieved_docs": [],
        "timestamp": timezone.localtime(asked_at).isoformat(),
    }
    return {
        **{name: record[name] for name in _RECORD_COLUMNS},
        "user_log_id": record.get("user_log_id"),
        "assistant_log_id": record.get("assistant_log_id"),
        "seq": seq,
        "asked_at": asked_at.isoformat(),
        "messages": [user, assistant],
        "summary": record["user_message"][:SUMMARY_LENGTH],
        "has_error": has_error,
        "min_score": min_score,
        "always_keep": has_error
        or record["regenerated"]
        or (min_score is not None and min_score < ALWAYS_KEEP_SCORE_BELOW),
        "randomly_sampled": is_randomly_sampled(record["channel"], record["collection_name"], record["session_id"]),
    }


_TEXT_FIELDS = (
    "channel", "collection_name", "session_id", "user_message", "assistant_message", "llm_model", "reasoning_level",
    "error",
)  # fmt: skip
_RECORD_COLUMNS = (
    *_TEXT_FIELDS, "user_hash", "llm_params", "retrieval_info", "performance", "regenerated", "answered_at",
)  # fmt: skip

# One statement for any number of records (one jsonb parameter): both message logs of each record
# (log ids made here unless the record brings its own, as outbox-file records do), then - for the
# records whose logs were new, which makes a replay a no-op - ONE history UPSERT per conversation
# with its new turns in order. ON CONFLICT locks the conversation's row and computes
# from its latest version, so concurrent writers append with jsonb || and nothing is lost.
_WRITE = f"""
WITH given AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(
        seq int, user_log_id uuid, assistant_log_id uuid, channel text, collection_name text, session_id text,
        user_message text, assistant_message text, llm_model text, reasoning_level text, error text,
        user_hash text, llm_params jsonb, retrieval_info jsonb, performance jsonb, regenerated boolean,
        asked_at timestamptz, answered_at timestamptz, messages jsonb, summary text, has_error boolean,
        min_score double precision, always_keep boolean, randomly_sampled boolean
    )
), input AS MATERIALIZED (
    SELECT seq, coalesce(user_log_id, gen_random_uuid()) AS user_log_id,
           coalesce(assistant_log_id, gen_random_uuid()) AS assistant_log_id, channel, collection_name,
           session_id, user_message, assistant_message, llm_model, reasoning_level, error, user_hash, llm_params,
           retrieval_info, performance, regenerated, asked_at, answered_at, messages, summary, has_error,
           min_score, always_keep, randomly_sampled
    FROM given
), logs AS (
    INSERT INTO {MessageLog._meta.db_table} ({_LOG_COLUMNS})
    SELECT m.log_id, i.session_id, i.channel, i.collection_name, m.message_type, m.content, i.reasoning_level,
           i.llm_model, i.llm_params, m.retrieval_info, m.performance, m.error, m.regenerated, m.created_at
    FROM input i CROSS JOIN LATERAL (VALUES
        (1, i.user_log_id, 'user', i.user_message, '{{}}'::jsonb, '{{}}'::jsonb, '', false, i.asked_at),
        (2, i.assistant_log_id, 'assistant', i.assistant_message, i.retrieval_info, i.performance, i.error,
         i.regenerated, i.answered_at)
    ) AS m(position, log_id, message_type, content, retrieval_info, performance, error, regenerated, created_at)
    ORDER BY i.seq, m.position
    ON CONFLICT (log_id) DO NOTHING
    RETURNING log_id
), new AS (
    SELECT * FROM input WHERE assistant_log_id IN (SELECT log_id FROM logs)
), conversations AS (
    SELECT channel, collection_name, session_id,
           coalesce((array_agg(user_hash ORDER BY seq) FILTER (WHERE user_hash <> ''))[1], '') AS user_hash,
           jsonb_path_query_array(jsonb_agg(messages ORDER BY seq), '$[*][*]') AS messages,
           count(*) AS turns,
           (array_agg(summary ORDER BY seq))[1] AS summary,
           bool_or(has_error) AS has_error, bool_or(regenerated) AS regenerated, min(min_score) AS min_score,
           bool_or(always_keep) AS always_keep, bool_or(randomly_sampled) AS randomly_sampled,
           min(asked_at) AS created_at, max(answered_at) AS updated_at
    FROM new
    GROUP BY channel, collection_name, session_id
), history AS (
    INSERT INTO {ConversationHistory._meta.db_table} AS h (
        conversation_id, channel, collection_name, user_hash, messages, total_turns, is_sampled,
        retention_priority, summary, has_error, regenerated, min_retrieval_score, created_at, updated_at
    )
    SELECT session_id, channel, collection_name, user_hash, messages, turns,
           always_keep OR randomly_sampled OR turns >= {ALWAYS_KEEP_MIN_TURNS},
           CASE WHEN always_keep THEN 'high' WHEN turns >= {ALWAYS_KEEP_MIN_TURNS} THEN 'medium' ELSE 'low' END,
           summary, has_error, regenerated, min_score, created_at, updated_at
    FROM conversations
    ON CONFLICT (channel, collection_name, conversation_id) DO UPDATE SET
        messages = h.messages || EXCLUDED.messages,
        total_turns = h.total_turns + EXCLUDED.total_turns,
        user_hash = CASE WHEN h.user_hash = '' THEN EXCLUDED.user_hash ELSE h.user_hash END,
        summary = CASE WHEN h.summary = '' THEN EXCLUDED.summary ELSE h.summary END,
        has_error = h.has_error OR EXCLUDED.has_error,
        regenerated = h.regenerated OR EXCLUDED.regenerated,
        min_retrieval_score = LEAST(h.min_retrieval_score, EXCLUDED.min_retrieval_score),
        is_sampled = h.is_sampled OR EXCLUDED.is_sampled
                     OR h.total_turns + EXCLUDED.total_turns >= {ALWAYS_KEEP_MIN_TURNS},
        retention_priority = CASE
            WHEN h.has_error OR EXCLUDED.has_error OR h.regenerated OR EXCLUDED.regenerated
                 OR LEAST(h.min_retrieval_score, EXCLUDED.min_retrieval_score) < {ALWAYS_KEEP_SCORE_BELOW}
                THEN 'high'
            WHEN h.total_turns + EXCLUDED.total_turns >= {ALWAYS_KEEP_MIN_TURNS} THEN 'medium'
            ELSE 'low'
        END,
        updated_at = GREATEST(h.updated_at, EXCLUDED.updated_at)
)
SELECT count(*), array_agg(seq) FROM new
"""


def lowest_score(record: dict) -> float | None:
    """The lowest retrieval score of the exchange (top_scores and the retrieved docs' scores), if any."""
    scores = [s for s in record["retrieval_info"].get("top_scores") or [] if _is_number(s)]
    scores += [d["score"] for d in record["retrieved_docs"] if isinstance(d, dict) and _is_number(d.get("score"))]
    return min(scores) if scores else None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _clean(value) -> str:
    """PostgreSQL text cannot hold NUL characters; replace them rather than lose the row."""
    return ("" if value is None else str(value)).replace("\x00", "\ufffd")


def _json_safe(value):
    """Something jsonb accepts: no NaN/Infinity, no NUL characters, unknown objects as text."""
    if isinstance(value, dict):
        return {_clean(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return _clean(value)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
