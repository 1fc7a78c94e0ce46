import gzip
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog
from analytics.services.retention import apply_retention, archive_dir

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def conversation(name, *, days_old, sampled=True, priority="low"):
    at = NOW - timedelta(days=days_old)
    return ConversationHistory.objects.create(
        conversation_id=name,
        channel="knowledge",
        collection_name="handbook",
        messages=[{"role": "user", "content": name}],
        total_turns=1,
        is_sampled=sampled,
        retention_priority=priority,
        created_at=at,
        updated_at=at,
    )


def remaining():
    return set(ConversationHistory.objects.values_list("conversation_id", flat=True))


def archived(kind):
    rows = []
    for path in archive_dir(kind).glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


@pytest.fixture(autouse=True)
def retention_settings(settings):
    settings.CONVERSATION_RETENTION_DAYS = 30
    settings.CONVERSATION_COMPRESS_AFTER_DAYS = 7
    settings.MESSAGE_LOG_RETENTION_DAYS = 90


def test_unsampled_conversations_are_deleted_after_the_short_window():
    conversation("unsampled-old", days_old=8, sampled=False)
    conversation("unsampled-recent", days_old=6, sampled=False)

    result = apply_retention(NOW)

    assert remaining() == {"unsampled-recent"}
    assert result.unsampled_deleted == 1
    assert archived("conversations") == []


def test_sampled_conversations_are_archived_then_deleted_after_the_retention_period():
    conversation("sampled-old", days_old=31)
    conversation("sampled-recent", days_old=29)

    result = apply_retention(NOW)

    assert remaining() == {"sampled-recent"}
    assert result.conversations_archived == 1
    [row] = archived("conversations")
    assert row["conversation_id"] == "sampled-old"
    assert row["messages"] == [{"role": "user", "content": "sampled-old"}]


def test_high_priority_conversations_are_kept_three_times_longer():
    conversation("high-60", days_old=60, priority="high")
    conversation("high-91", days_old=91, priority="high")

    apply_retention(NOW)

    assert remaining() == {"high-60"}


def test_old_message_logs_are_archived_and_deleted():
    for days_old, content in [(91, "old"), (10, "new")]:
        MessageLog.objects.create(
            channel="dining", collection_name="chatbot", session_id="s", message_type="user",
            content=content, created_at=NOW - timedelta(days=days_old),
        )  # fmt: skip

    result = apply_retention(NOW)

    assert list(MessageLog.objects.values_list("content", flat=True)) == ["new"]
    assert result.logs_archived == 1
    assert [row["content"] for row in archived("message-logs")] == ["old"]
