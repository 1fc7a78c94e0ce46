"""Streamed CSV / JSON exports of logs and statistics: rows are read with a server-side cursor in
chunks and written out as they come, so memory stays flat whatever the number of rows.

The CSV is made for Excel (a BOM), and its cells hold what end users typed: a text cell that a spreadsheet
would run as a formula (`=HYPERLINK(...)`, `+`, `-`, `@`, a leading tab or carriage return) is written with
a leading apostrophe, which Excel and LibreOffice show as text (OWASP's advice on CSV injection). The JSON
export is verbatim."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import orjson

CSV = "csv"
JSON = "json"
FORMATS = (CSV, JSON)
CHUNK_ROWS = 2000
CONTENT_TYPES = {CSV: "text/csv; charset=utf-8", JSON: "application/json"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

LOG_FIELDS = (
    "log_id", "session_id", "channel", "collection_name", "message_type", "content", "reasoning_level", "llm_model",
    "llm_params", "retrieval_info", "performance", "error", "regenerated", "created_at",
)  # fmt: skip
CONVERSATION_FIELDS = (
    "conversation_id", "channel", "collection_name", "user_hash", "messages", "total_turns", "is_sampled",
    "retention_priority", "summary", "has_error", "regenerated", "min_retrieval_score", "created_at", "updated_at",
)  # fmt: skip
STATISTICS_FIELDS = (
    "period", "period_start", "date", "hour", "channel", "collection_name", "total_queries", "unique_sessions",
    "active_users", "avg_response_time_ms", "p50_response_time_ms", "p95_response_time_ms", "p99_response_time_ms",
    "total_tokens", "error_count", "partial_count", "regeneration_count", "no_answer_count", "scored_count",
    "top_score_sum", "top_queries",
)  # fmt: skip


def rows_of(queryset, fields: tuple[str, ...]) -> Iterator[dict]:
    for values in queryset.values_list(*fields).iterator(chunk_size=CHUNK_ROWS):
        yield dict(zip(fields, values, strict=True))


def stream(rows: Iterable[dict], fields: tuple[str, ...], output: str) -> Iterator[bytes]:
    """The rows as CSV (a header, JSON-valued cells as JSON text) or as one JSON array, chunk by chunk."""
    return _csv(rows, fields) if output == CSV else _json(rows)


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else value


def _csv(rows: Iterable[dict], fields: tuple[str, ...]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel reads UTF-8 Korean text only with a BOM
    writer.writerow(fields)
    for number, row in enumerate(rows, 1):
        writer.writerow([_cell(row[name]) for name in fields])
        if number % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _json(rows: Iterable[dict]) -> Iterator[bytes]:
    yield b"["
    for number, row in enumerate(rows):
        yield (b"," if number else b"") + orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)
    yield b"]"
