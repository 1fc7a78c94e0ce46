"""Retention of conversation history, message logs and knowledge-chat conversations (seed 002 §5; daily job).

- Conversation histories inactive for CONVERSATION_COMPRESS_AFTER_DAYS (7) are compressed into
  archives (`archives`), sampled or not, and the archives are deleted CONVERSATION_RETENTION_DAYS
  (30) after their day; those with retention_priority "high" (errors, regenerations, poor
  retrieval) are kept three times as long. Nothing is deleted unarchived.
- Message logs older than MESSAGE_LOG_COMPRESS_AFTER_DAYS (90) are compressed the same way and
  their archives deleted after MESSAGE_LOG_RETENTION_DAYS (365); the rollups stay.
- Knowledge-chat conversations (the chat's own copy: what the user sees) inactive for
  KNOWLEDGE_CHAT_RETENTION_DAYS (365) are deleted with their messages; their analytics history
  follows the rules above.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from analytics.models import ConversationHistory
from analytics.services import archives

HIGH_PRIORITY_FACTOR = 3


@dataclass
class RetentionResult:
    conversations_archived: int = 0
    logs_archived: int = 0
    archive_parts_deleted: int = 0
    knowledge_conversations_deleted: int = 0


def apply_retention(now: datetime | None = None) -> RetentionResult:
    from chat.models import KnowledgeConversation  # the chat app's table; analytics owns the rule

    now = now or timezone.now()
    result = RetentionResult()
    compress_before = now - timedelta(days=settings.CONVERSATION_COMPRESS_AFTER_DAYS)
    high = ConversationHistory.objects.filter(retention_priority=ConversationHistory.RetentionPriority.HIGH)
    keep = settings.CONVERSATION_RETENTION_DAYS
    result.conversations_archived = archives.archive_older_than(
        archives.CONVERSATIONS, compress_before, keep_days=keep * HIGH_PRIORITY_FACTOR, queryset=high
    ) + archives.archive_older_than(
        archives.CONVERSATIONS, compress_before, keep_days=keep,
        queryset=ConversationHistory.objects.exclude(retention_priority=ConversationHistory.RetentionPriority.HIGH),
    )  # fmt: skip
    result.logs_archived = archives.archive_older_than(
        archives.LOGS,
        now - timedelta(days=settings.MESSAGE_LOG_COMPRESS_AFTER_DAYS),
        keep_days=settings.MESSAGE_LOG_RETENTION_DAYS,
    )
    today = timezone.localdate(now)
    result.archive_parts_deleted = sum(archives.delete_expired(kind, today) for kind in archives.KINDS)
    result.knowledge_conversations_deleted, _ = KnowledgeConversation.objects.filter(
        updated_at__lt=now - timedelta(days=settings.KNOWLEDGE_CHAT_RETENTION_DAYS)
    ).delete()
    return result
