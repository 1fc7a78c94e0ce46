"""Retention of conversation history and message logs (seed 002 §5.1, §9.2; daily job).

Rules, measured from the last activity of a conversation / the creation of a log row:

- unsampled conversations (smart sampling said "not needed") are deleted after
  CONVERSATION_COMPRESS_AFTER_DAYS (7): they were only kept so that a later turn could still
  promote them (an error, a regeneration, the 5th turn, a poor retrieval score);
- sampled conversations are archived and deleted after CONVERSATION_RETENTION_DAYS (30); those
  with retention_priority "high" (errors, regenerations, poor retrieval) stay three times as long;
- message logs are archived and deleted after MESSAGE_LOG_RETENTION_DAYS (90); the hourly and
  daily statistics computed from them are kept.

Archives are gzip JSONL files under `VAR_DIR/archive/<kind>/`. A batch is written and fsync'ed
before its rows are deleted, so a crash can at worst archive a row twice, never lose it.
"""

import gzip
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog

BATCH_SIZE = 1000
HIGH_PRIORITY_FACTOR = 3


@dataclass
class RetentionResult:
    unsampled_deleted: int = 0
    conversations_archived: int = 0
    logs_archived: int = 0


def archive_dir(kind: str) -> Path:
    return Path(settings.VAR_DIR) / "archive" / kind


def apply_retention(now: datetime | None = None) -> RetentionResult:
    now = now or timezone.now()
    conversation_cutoff = now - timedelta(days=settings.CONVERSATION_RETENTION_DAYS)
    high_cutoff = now - timedelta(days=settings.CONVERSATION_RETENTION_DAYS * HIGH_PRIORITY_FACTOR)
    result = RetentionResult()
    result.unsampled_deleted, _ = ConversationHistory.objects.filter(
        is_sampled=False, updated_at__lt=now - timedelta(days=settings.CONVERSATION_COMPRESS_AFTER_DAYS)
    ).delete()
    expired_conversations = ConversationHistory.objects.filter(is_sampled=True).filter(
        Q(updated_at__lt=high_cutoff)
        | (Q(updated_at__lt=conversation_cutoff) & ~Q(retention_priority=ConversationHistory.RetentionPriority.HIGH))
    )
    result.conversations_archived = _archive_and_delete(expired_conversations, "conversations", now)
    expired_logs = MessageLog.objects.filter(created_at__lt=now - timedelta(days=settings.MESSAGE_LOG_RETENTION_DAYS))
    result.logs_archived = _archive_and_delete(expired_logs, "message-logs", now)
    return result


def _archive_and_delete(queryset, kind: str, now: datetime) -> int:
    directory = archive_dir(kind)
    total = 0
    while True:
        batch = list(queryset.order_by("pk")[:BATCH_SIZE])
        if not batch:
            return total
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{timezone.localtime(now):%Y-%m-%d}-{os.getpid()}.jsonl.gz"
        with gzip.open(path, "at", encoding="utf-8") as fh:
            for row in batch:
                fh.write(json.dumps(_as_dict(row), cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
        with path.open("rb") as fh:
            os.fsync(fh.fileno())
        queryset.model.objects.filter(pk__in=[row.pk for row in batch]).delete()  # delete() is atomic itself
        total += len(batch)


def _as_dict(row) -> dict:
    data = model_to_dict(row)
    data["id"] = row.pk
    for field in ("log_id", "created_at", "updated_at"):
        if hasattr(row, field):
            data[field] = getattr(row, field)
    return data
