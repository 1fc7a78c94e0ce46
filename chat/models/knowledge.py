"""Knowledge (RAG) chat conversations kept server-side, Claude/ChatGPT style (seeds 002, 004).

A conversation belongs to one user and one knowledge base (`rag_key` + `rag_type`); its messages
are the user's questions and the assistant's grounded answers with their sources. Regenerating
replaces the last answer and counts the regeneration on the conversation.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class RagType(models.TextChoices):
    USER_ISOLATED = "user_isolated", "user_isolated (the user's own documents)"
    CHATBOT_SHARED = "chatbot_shared", "chatbot_shared (documents shared by the chatbot)"
    BOTH = "both", "both"


class MessageRole(models.TextChoices):
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(models.TextChoices):
    COMPLETE = "complete"
    PARTIAL = "partial", "partial (the client disconnected mid-stream)"
    ERROR = "error"


class MessageRoute(models.TextChoices):
    RAG = "rag", "RAG (documents)"
    SQL = "sql", "SQL (statistics)"


class KnowledgeConversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(  # indexed by chat_kconv_user_updated_idx
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knowledge_conversations", db_index=False
    )
    rag_key = models.CharField(max_length=255, help_text="The chatbot / knowledge base, e.g. chatbot_support")
    rag_type = models.CharField(max_length=20, choices=RagType.choices, default=RagType.BOTH)
    title = models.CharField(max_length=200, blank=True)
    regeneration_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "지식 대화"
        verbose_name_plural = "지식 대화"
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rag_type__in=RagType.values), name="chat_knowledgeconversation_rag_type_valid"
            ),
        ]
        indexes = [
            # Serves a user's conversation list, most recently active first.
            models.Index(fields=["user", "-updated_at"], name="chat_kconv_user_updated_idx"),
        ]

    def __str__(self):
        return self.title or str(self.id)


class KnowledgeMessage(models.Model):
    conversation = models.ForeignKey(  # indexed by chat_kmsg_conv_created_idx
        KnowledgeConversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    sources = models.JSONField(
        default=list, blank=True, help_text="[{document_id, doc_id, chunk_id, score, filename}] behind an answer"
    )
    llm_model = models.CharField(max_length=200, blank=True)
    llm_params = models.JSONField(default=dict, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.COMPLETE)
    error = models.TextField(blank=True)
    route = models.CharField(max_length=3, choices=MessageRoute.choices, blank=True, help_text="How an answer was made")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    model_versions = models.JSONField(
        null=True, blank=True, help_text="{model type: {version_id, version, group}} that served it (ml_training)"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "지식 대화 메시지"
        verbose_name_plural = "지식 대화 메시지"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=MessageRole.values), name="chat_knowledgemessage_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=MessageStatus.values), name="chat_knowledgemessage_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(route__in=[*MessageRoute.values, ""]), name="chat_knowledgemessage_route_valid"
            ),
        ]
        indexes = [
            # Serves a conversation's messages in order (history for the prompt, detail view, regenerate).
            models.Index(fields=["conversation", "created_at", "id"], name="chat_kmsg_conv_created_idx"),
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:40]}"
