"""Retention: compress into checksummed archives, read back transparently, restore, delete after retention."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog
from analytics.services import archives
from analytics.services.retention import apply_retention
from chat.models import KnowledgeConversation

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def conversation(name, *, days_old, sampled=True, priority="low"):
    at = NOW - timedelta(days=days_old)
    return ConversationHistory.objects.create(
        conversation_id=name, channel="knowledge", collection_name="handbook",
        messages=[{"role": "user", "content": f"{name} 질문"}], total_turns=1, is_sampled=sampled,
        retention_priority=priority, user_hash="abc", created_at=at, updated_at=at,
    )  # fmt: skip


def log(session, *, days_old, content="연차는 며칠?"):
    return MessageLog.objects.create(
        session_id=session, channel="knowledge", collection_name="handbook", message_type="user", content=content,
        retrieval_info={"top_scores": [0.5]}, performance={"response_time_ms": 12.5},
        created_at=NOW - timedelta(days=days_old),
    )  # fmt: skip


def remaining():
    return set(ConversationHistory.objects.values_list("conversation_id", flat=True))


def snapshot(model, key):
    return sorted(model.objects.values(*archives.archived_fields(model)), key=lambda r: str(r[key]))


@pytest.fixture(autouse=True)
def retention_settings(settings):
    settings.CONVERSATION_RETENTION_DAYS = 30
    settings.CONVERSATION_COMPRESS_AFTER_DAYS = 7
    settings.MESSAGE_LOG_COMPRESS_AFTER_DAYS = 90
    settings.MESSAGE_LOG_RETENTION_DAYS = 365
    settings.KNOWLEDGE_CHAT_RETENTION_DAYS = 365


def test_unsampled_conversations_are_compressed_not_deleted():
    conversation("unsampled-old", days_old=8, sampled=False)
    conversation("unsampled-recent", days_old=6, sampled=False)

    result = apply_retention(NOW)

    assert remaining() == {"unsampled-recent"}
    assert result.conversations_archived == 1
    day = timezone.localdate(NOW - timedelta(days=8))
    [row] = archives.read_range(archives.CONVERSATIONS, day, day)
    assert (row["conversation_id"], row["messages"]) == (
        "unsampled-old",
        [{"role": "user", "content": "unsampled-old 질문"}],
    )


def test_each_archive_part_has_a_manifest_with_rows_and_checksum():
    conversation("a", days_old=10)
    conversation("b", days_old=10)

    apply_retention(NOW)

    [manifest] = archives.manifests(archives.CONVERSATIONS)
    assert manifest["rows"] == 2
    assert len(manifest["sha256"]) == 64
    assert (archives.directory(archives.CONVERSATIONS) / manifest["file"]).exists()


def test_a_tampered_archive_is_refused():
    conversation("a", days_old=10)
    apply_retention(NOW)
    [manifest] = archives.manifests(archives.CONVERSATIONS)
    path = archives.directory(archives.CONVERSATIONS) / manifest["file"]
    path.write_bytes(path.read_bytes() + b"x")

    with pytest.raises(archives.ArchiveCorrupt):
        list(archives.read_part(archives.CONVERSATIONS, manifest))


def test_archives_are_deleted_after_retention_high_priority_three_times_later():
    conversation("low", days_old=31)
    conversation("high", days_old=31, priority="high")

    apply_retention(NOW)

    kept = [row["conversation_id"] for m in archives.manifests(archives.CONVERSATIONS)
            for row in archives.read_part(archives.CONVERSATIONS, m)]  # fmt: skip
    assert kept == ["high"]


def test_logs_are_compressed_after_their_window_and_read_back_with_the_live_ones():
    log("old", days_old=95)
    log("recent", days_old=1)

    result = apply_retention(NOW)

    assert result.logs_archived == 1
    assert list(MessageLog.objects.values_list("session_id", flat=True)) == ["recent"]
    rows = list(
        archives.read_range(archives.LOGS, timezone.localdate(NOW) - timedelta(days=100), timezone.localdate(NOW))
    )
    assert [row["session_id"] for row in rows] == ["recent", "old"]


def test_archive_delete_read_back_and_restore_round_trip_loses_nothing():
    for number in range(3):
        conversation(f"c{number}", days_old=20 + number, priority="high" if number == 1 else "low")
        log(f"s{number}", days_old=100 + number, content=f'질문 {number} "따옴표" 😀')
    original = {kind: snapshot(model, key) for kind, model, key in (
        ("logs", MessageLog, "log_id"), ("conversations", ConversationHistory, "conversation_id"))}  # fmt: skip
    first, last = timezone.localdate(NOW) - timedelta(days=200), timezone.localdate(NOW)

    apply_retention(NOW)

    assert (MessageLog.objects.count(), ConversationHistory.objects.count()) == (0, 0)
    read = sorted(archives.read_range(archives.LOGS, first, last), key=lambda r: str(r["log_id"]))
    assert [(str(r["log_id"]), r["content"], r["created_at"]) for r in read] == [
        (str(r["log_id"]), r["content"], r["created_at"]) for r in original["logs"]
    ]
    assert archives.restore(archives.LOGS, first, last) == (3, 0)
    assert archives.restore(archives.CONVERSATIONS, first, last) == (3, 0)
    assert snapshot(MessageLog, "log_id") == original["logs"]
    assert snapshot(ConversationHistory, "conversation_id") == original["conversations"]
    assert archives.manifests(archives.LOGS) == []


def test_restoring_keeps_the_archive_of_a_conversation_that_went_on():
    conversation("c1", days_old=10)
    apply_retention(NOW)
    conversation("c1", days_old=0)  # the user came back: a new live history with the same key

    day = timezone.localdate(NOW - timedelta(days=10))
    assert archives.restore(archives.CONVERSATIONS, day, day) == (0, 1)
    assert len(archives.manifests(archives.CONVERSATIONS)) == 1


def test_knowledge_chat_conversations_are_deleted_after_their_retention(django_user_model):
    user = django_user_model.objects.create_user("reader")
    old = KnowledgeConversation.objects.create(user=user, rag_key="handbook", title="old")
    KnowledgeConversation.objects.filter(pk=old.pk).update(updated_at=NOW - timedelta(days=400))
    KnowledgeConversation.objects.create(user=user, rag_key="handbook", title="new")

    result = apply_retention(NOW)

    assert result.knowledge_conversations_deleted == 1
    assert list(KnowledgeConversation.objects.values_list("title", flat=True)) == ["new"]


def test_a_manifest_lists_its_fields_and_keeping_date():
    conversation("a", days_old=10, priority="high")
    apply_retention(NOW)

    [manifest] = archives.manifests(archives.CONVERSATIONS)
    day = timezone.localdate(NOW - timedelta(days=10))
    assert manifest["delete_after"] == (day + timedelta(days=90)).isoformat()
    assert "messages" in manifest["fields"]
    assert json.loads((archives.directory(archives.CONVERSATIONS) / f"{day}.1.manifest.json").read_text()) == manifest
