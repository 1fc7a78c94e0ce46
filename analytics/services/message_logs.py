"""Message-level logs and conversation history for every chat channel (seed 002 §3.1-3.2, §4.2).

`record_exchange()` is called by the dining, knowledge and partner chats once per answered turn.
It writes in the caller's own database transaction - no broker, no read-modify-write - with ONE
statement: it INSERTs the user and the assistant `MessageLog` rows and, in a data-modifying CTE,
INSERTs ... ON CONFLICT DO UPDATEs the `ConversationHistory` row, appending the two messages with
jsonb `||` and recomputing the sampling flags from the locked row, so concurrent turns of one
conversation never lose a message.

Inside a caller's transaction it runs in a savepoint: if the database refuses the write (or the
caller's transaction is already broken) the record goes to the durable outbox
(`analytics.services.outbox`) and the chat carries on. `flush_log_outbox` replays it later;
replay is idempotent thanks to the log ids.

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
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog
from analytics.services import outbox

logger = logging.getLogger(__name__)

RECORD_VERSION = 1
ALWAYS_KEEP_MIN_TURNS = 5
ALWAYS_KEEP_SCORE_BELOW = 0.5
SUMMARY_LENGTH = 200
_SAVEPOINT = "analytics_record_exchange"

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


def record_exchange(
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
) -> None:
    """Log one user+assistant exchange. Never raises: a failed write lands in the durable outbox."""
    try:
        record = build_record(
            channel=channel,
            collection_name=collection_name,
            session_id=session_id,
            user_id=user_id,
            user_message=user_message,
            assistant_message=assistant_message,
            llm_model=llm_model,
            llm_params=llm_params,
            reasoning_level=reasoning_level,
            retrieval_info=retrieval_info,
            performance=performance,
            error=error,
            regenerated=regenerated,
            retrieved_docs=retrieved_docs,
        )
    except Exception:  # a caller bug must not break its chat; keep what we were given
        logger.exception("record_exchange: could not build the log record")
        record = {"unbuildable": True, "channel": str(channel), "session_id": str(session_id)}
        _to_outbox(record, "could not build the record")
        return
    try:
        write_record(record)
    except Exception as exc:
        logger.warning("record_exchange: database write failed, record kept in the outbox: %s", exc)
        _to_outbox(record, str(exc))


def flush_log_outbox() -> outbox.FlushResult:
    """Replay records that the database refused earlier (idempotent: stored records are skipped)."""
    return outbox.flush(write_record)


def _to_outbox(record: dict, reason: str) -> None:
    try:
        outbox.append(record, reason=reason)
    except Exception:  # the disk failed too: the process log is the last durable place left
        logger.exception("record_exchange: outbox write failed; record=%s", json.dumps(record, default=str))


def build_record(
    *,
    channel,
    collection_name,
    session_id,
    user_id,
    user_message,
    assistant_message,
    llm_model,
    llm_params,
    reasoning_level,
    retrieval_info,
    performance,
    error,
    regenerated,
    retrieved_docs,
) -> dict:
    """A self-contained, JSON-serialisable record: what the outbox stores and `write_record` writes."""
    now = timezone.now()
    performance = _json_safe(performance or {})
    retrieval_info = _json_safe(retrieval_info or {})
    retrieved_docs = _json_safe(list(retrieved_docs or []))
    response_ms = performance.get("response_time_ms")
    # The user spoke before the answer was ready; this also orders the two rows of one exchange.
    asked_at = now - timedelta(milliseconds=response_ms if _is_number(response_ms) and response_ms > 0 else 0.001)
    scores = [s for s in retrieval_info.get("top_scores") or [] if _is_number(s)]
    scores += [d["score"] for d in retrieved_docs if isinstance(d, dict) and _is_number(d.get("score"))]
    return {
        "version": RECORD_VERSION,
        "user_log_id": _new_uuid(),
        "assistant_log_id": _new_uuid(),
        "channel": _clean(channel),
        "collection_name": _clean(collection_name),
        "session_id": _clean(session_id),
        "user_hash": hash_user_id(user_id),
        "user_message": _clean(user_message),
        "assistant_message": _clean(assistant_message),
        "llm_model": _clean(llm_model),
        "llm_params": _json_safe(llm_params or {}),
        "reasoning_level": _clean(reasoning_level),
        "retrieval_info": retrieval_info,
        "performance": performance,
        "error": _clean(error),
        "regenerated": bool(regenerated),
        "retrieved_docs": retrieved_docs,
        "min_retrieval_score": min(scores) if scores else None,
        "asked_at": asked_at.isoformat(),
        "answered_at": now.isoformat(),
    }


def write_record(record: dict) -> bool:
    """Write a record in ONE statement; False when it had already landed (a replay).

    Inside the caller's transaction the statement runs in a savepoint, so a refused write rolls back
    alone and the caller's transaction carries on; in autocommit mode the single statement is
    atomic by itself and needs none.
    """
    asked_at = datetime.fromisoformat(record["asked_at"])
    answered_at = datetime.fromisoformat(record["answered_at"])
    common = (record["session_id"], record["channel"], record["collection_name"])
    settings_cols = (record["reasoning_level"], record["llm_model"], _dumps(record["llm_params"]))
    log_rows = [
        (record["user_log_id"], *common, "user", record["user_message"], *settings_cols,
         "{}", "{}", "", False, asked_at),
        (record["assistant_log_id"], *common, "assistant", record["assistant_message"], *settings_cols,
         _dumps(record["retrieval_info"]), _dumps(record["performance"]), record["error"], record["regenerated"],
         answered_at),
    ]  # fmt: skip
    params = [value for row in log_rows for value in row] + _history_params(record, asked_at, answered_at)
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:
            cursor.execute(_WRITE, params)  # autocommit: one statement is atomic on its own
        elif isinstance(cursor.cursor, psycopg.ClientCursor):
            _execute_in_inline_savepoint(cursor, params)
        else:  # server-side binding cannot send several statements at once: Django's savepoint
            with transaction.atomic():
                cursor.execute(_WRITE, params)
        (inserted,) = cursor.fetchone()
    return inserted > 0


def _execute_in_inline_savepoint(cursor, params: list) -> None:
    """SAVEPOINT, the write and RELEASE in ONE round trip (client-side binding sends them as one query).

    Each round trip from a busy web process costs far more than the write itself, so this keeps the
    logging cost of a chat turn near the statement's own sub-millisecond cost. On failure the
    savepoint is rolled back, leaving the caller's transaction as it was.
    """
    try:
        cursor.execute(f"SAVEPOINT {_SAVEPOINT}; {_WRITE}; RELEASE SAVEPOINT {_SAVEPOINT}", params)
        cursor.cursor.nextset()  # the first result is the SAVEPOINT's, the second the write's count
    except Exception:
        # Only a statement the server refused leaves the transaction aborted; an error raised before
        # anything was sent leaves it untouched and there is no savepoint to roll back to.
        if connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            try:
                with connection.cursor() as recovery:
                    recovery.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}")
            except Exception:  # the caller's transaction was already aborted before us
                logger.warning("record_exchange: could not roll back its savepoint", exc_info=True)
        raise


_LOG_VALUES = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s, %s)"

# The two message logs, then - only if they were new, which makes a replay a no-op - the history
# UPSERT: ON CONFLICT locks the conversation's row and computes from its latest version, so
# concurrent turns append with jsonb || and none is lost.
_WRITE = f"""
WITH logs AS (
    INSERT INTO {MessageLog._meta.db_table} ({_LOG_COLUMNS})
    VALUES {_LOG_VALUES}, {_LOG_VALUES}
    ON CONFLICT (log_id) DO NOTHING
    RETURNING 1
), history AS (
    INSERT INTO {ConversationHistory._meta.db_table} AS h (
        conversation_id, channel, collection_name, user_hash, messages, total_turns, is_sampled,
        retention_priority, summary, has_error, regenerated, min_retrieval_score, created_at, updated_at
    )
    SELECT %s, %s, %s, %s, %s::jsonb, 1, %s, %s, %s, %s, %s, %s::double precision, %s::timestamptz,
           %s::timestamptz
    WHERE EXISTS (SELECT FROM logs)
    ON CONFLICT (channel, collection_name, conversation_id) DO UPDATE SET
        messages = h.messages || EXCLUDED.messages,
        total_turns = h.total_turns + 1,
        user_hash = CASE WHEN h.user_hash = '' THEN EXCLUDED.user_hash ELSE h.user_hash END,
        summary = CASE WHEN h.summary = '' THEN EXCLUDED.summary ELSE h.summary END,
        has_error = h.has_error OR EXCLUDED.has_error,
        regenerated = h.regenerated OR EXCLUDED.regenerated,
        min_retrieval_score = LEAST(h.min_retrieval_score, EXCLUDED.min_retrieval_score),
        is_sampled = h.is_sampled OR EXCLUDED.is_sampled OR h.total_turns + 1 >= {ALWAYS_KEEP_MIN_TURNS},
        retention_priority = CASE
            WHEN h.has_error OR EXCLUDED.has_error OR h.regenerated OR EXCLUDED.regenerated
                 OR LEAST(h.min_retrieval_score, EXCLUDED.min_retrieval_score) < {ALWAYS_KEEP_SCORE_BELOW}
                THEN 'high'
            WHEN h.total_turns + 1 >= {ALWAYS_KEEP_MIN_TURNS} THEN 'medium'
            ELSE 'low'
        END,
        updated_at = GREATEST(h.updated_at, EXCLUDED.updated_at)
    RETURNING 1
)
SELECT count(*) FROM logs
"""


def _history_params(record: dict, asked_at: datetime, answered_at: datetime) -> list:
    has_error = bool(record["error"])
    min_score = record["min_retrieval_score"]
    low_score = min_score is not None and min_score < ALWAYS_KEEP_SCORE_BELOW
    always_keep = has_error or record["regenerated"] or low_score
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
    messages = [
        {
            "role": "user",
            "content": record["user_message"],
            "retrieved_docs": [],
            "timestamp": timezone.localtime(asked_at).isoformat(),
        },
        assistant,
    ]
    is_sampled = always_keep or is_randomly_sampled(record["channel"], record["collection_name"], record["session_id"])
    return [
        record["session_id"],
        record["channel"],
        record["collection_name"],
        record["user_hash"],
        _dumps(messages),
        is_sampled,
        ConversationHistory.RetentionPriority.HIGH if always_keep else ConversationHistory.RetentionPriority.LOW,
        record["user_message"][:SUMMARY_LENGTH],
        has_error,
        record["regenerated"],
        min_score,
        asked_at,
        answered_at,
    ]


def _new_uuid() -> str:
    return str(uuid.uuid4())


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
