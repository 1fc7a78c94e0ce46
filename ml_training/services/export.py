"""Export of the training-data queue (seed 003 §8.5) as JSONL, JSON or CSV, masked (§8.6).

`render(export_records(query), ...)` streams text pieces from a server-side cursor (`iterator(chunk_size=...)`), so the
memory used is one chunk, whatever the row count; the command `export_training_data` and the staff
API `GET /api/v1/ml/training-data/export` both write what it yields. Every string of every sample
goes through the masker again on the way out, whatever it held when it was queued.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from ml_training.models import DataQueueItem, ModelType
from ml_training.services.masking import mask_data

FORMATS = ("jsonl", "json", "csv")
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv"}
CHUNK_ROWS = 2000
BASE_COLUMNS = ("id", "model_type", "created_at", "quality_score", "status", "channel", "source_table", "source_id")
# The CSV's flat columns per model type; nested values are JSON text.
SAMPLE_COLUMNS = {
    ModelType.NLU: ("input_text", "intent", "confidence", "entities", "previous_intent", "response_text", "label"),
    ModelType.RECOMMENDATION: ("user_selection", "time_to_decision", "recommendations", "context"),
    ModelType.RAG: ("input_text", "response_text", "rag_key", "sources"),
}


@dataclass(frozen=True)
class ExportQuery:
    model_type: str
    days: int = 30
    min_quality: Decimal = Decimal("0.7")

    def queryset(self, now: dt.datetime | None = None):
        since = (now or timezone.now()) - dt.timedelta(days=self.days)
        return DataQueueItem.objects.filter(
            model_type=self.model_type, created_at__gte=since, quality_score__gte=self.min_quality
        ).order_by("id")


def export_records(query: ExportQuery) -> Iterator[dict]:
    """One masked dict per queue row, oldest first, read in chunks."""
    rows = query.queryset().values_list(*BASE_COLUMNS, "raw_data", "label_intent", "label_entities")
    for *base, raw_data, label_intent, label_entities in rows.iterator(chunk_size=CHUNK_ROWS):
        record = dict(zip(BASE_COLUMNS, base, strict=True))
        record["created_at"] = record["created_at"].isoformat()
        record["quality_score"] = float(record["quality_score"]) if record["quality_score"] is not None else None
        sample = mask_data(raw_data)
        if label_intent:
            sample["label"] = {"intent": label_intent, "entities": mask_data(label_entities)}
        record["sample"] = sample
        yield record


def render(records: Iterable[dict], fmt: str, model_type: str) -> Iterator[str]:
    """The records as pieces of a `fmt` file (a line, or a chunk of lines, at a time)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt == "jsonl":
        for record in records:
            yield _json(record) + "\n"
    elif fmt == "json":
        yield "["
        for number, record in enumerate(records):
            yield ("," if number else "") + "\n" + _json(record)
        yield "\n]\n"
    else:
        yield from _csv_lines(records, SAMPLE_COLUMNS[model_type])


def _csv_lines(records: Iterable[dict], sample_columns: tuple[str, ...]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*BASE_COLUMNS, *sample_columns])
    for record in records:
        sample = record["sample"]
        writer.writerow([record[name] for name in BASE_COLUMNS] + [_flat(sample.get(name)) for name in sample_columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _flat(value):
    return _json(value) if isinstance(value, dict | list) else ("" if value is None else value)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
