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
    USER_ISOLATED = "user_isolated", "개인 문서 (user_isolated)"
    CHATBOT_SHARED = "chatbot_shared", "공유 문서 (chatbot_shared)"
    BOTH = "both", "둘 다 (both)"


class MessageRole(models.TextChoices):
    USER = "user", "사용자"
    ASSISTANT = "assistant", "챗봇"


class MessageStatus(models.TextChoices):
    COMPLETE = "complete", "완료"
    PARTIAL = "partial", "중단됨 (스트리밍 중 연결 끊김)"
    ERROR = "error", "오류"


class MessageRoute(models.TextChoices):
    RAG = "rag", "RAG (문서)"
    SQL = "sql", "SQL (통계)"


class KnowledgeConversation(models.Model):
    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(  # indexed by chat_kconv_user_updated_idx
        settings.AUTH_USER_MODEL,
        verbose_name="사용자",
        on_delete=models.CASCADE,
        related_name="knowledge_conversations",
        db_index=False,
    )
    rag_key = models.CharField("RAG 키", max_length=255, help_text="챗봇 / 지식 베이스, 예: chatbot_support")
    rag_type = models.CharField("RAG 유형", max_length=20, choices=RagType.choices, default=RagType.BOTH)
    title = models.CharField("제목", max_length=200, blank=True)
    regeneration_count = models.PositiveIntegerField("재생성 횟수", default=0)
    created_at = models.DateTimeField("생성 시각", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

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
        KnowledgeConversation, verbose_name="대화", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    role = models.CharField("역할", max_length=10, choices=MessageRole.choices)
    content = models.TextField("내용", blank=True)
    sources = models.JSONField(
        "출처", default=list, blank=True, help_text="답변의 근거: [{document_id, doc_id, chunk_id, score, filename}]"
    )
    llm_model = models.CharField("LLM 모델", max_length=200, blank=True)
    llm_params = models.JSONField("LLM 파라미터", default=dict, blank=True)
    usage = models.JSONField("토큰 사용량", default=dict, blank=True)
    status = models.CharField("상태", max_length=10, choices=MessageStatus.choices, default=MessageStatus.COMPLETE)
    error = models.TextField("오류", blank=True)
    route = models.CharField(
        "경로", max_length=3, choices=MessageRoute.choices, blank=True, help_text="답변을 만든 방법"
    )
    latency_ms = models.PositiveIntegerField("지연 시간 (ms)", null=True, blank=True)
    model_versions = models.JSONField(
        "모델 버전",
        null=True,
        blank=True,
        help_text="이 답변에 쓰인 모델 버전: {모델 유형: {version_id, version, group}} (ml_training)",
    )
    created_at = models.DateTimeField("생성 시각", default=timezone.now, editable=False)

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
