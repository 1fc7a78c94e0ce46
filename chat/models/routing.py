from django.conf import settings
from django.db import models
from django.utils import timezone


class RouteDecisionLog(models.Model):
    """One SQL|RAG routing decision of the knowledge chat (seed 001 "챗봇 응답 경로") and what came of it."""

    class Route(models.TextChoices):
        SQL = "sql", "SQL"
        RAG = "rag", "RAG"

    class Outcome(models.TextChoices):
        ROUTED_TO_RAG = "rag", "RAG로 보냄"  # a non-staff user, or the LLM chose RAG
        FALLBACK = "fallback", "라우팅 실패, RAG 사용"  # LLM error or malformed routing reply
        ANSWERED = "answered", "SQL로 답함"
        REJECTED = "rejected", "SQL 거부 (가드)"
        ERROR = "error", "SQL 실패"
        TIMEOUT = "timeout", "SQL 시간 초과"
        PENDING = "pending", "SQL 경로 선택, 아직 실행 전"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="사용자",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.TextField("메시지")
    route = models.CharField("경로", max_length=3, choices=Route.choices)
    reason = models.TextField("이유", blank=True)
    sql = models.TextField("SQL", blank=True, help_text="SQL 경로에서 LLM이 쓴 SQL (받은 그대로)")
    outcome = models.CharField("결과", max_length=10, choices=Outcome.choices)
    error = models.TextField("오류", blank=True)
    duration_ms = models.PositiveIntegerField("소요 시간 (ms)", default=0, help_text="라우팅과 SQL 실행 시간의 합")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)

    class Meta:
        verbose_name = "라우팅 결정 기록"
        verbose_name_plural = "라우팅 결정 기록"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(route__in=["sql", "rag"]), name="%(app_label)s_%(class)s_route_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    outcome__in=["rag", "fallback", "answered", "rejected", "error", "timeout", "pending"]
                ),
                name="%(app_label)s_%(class)s_outcome_valid",
            ),
        ]
        indexes = [
            # Admin changelist: ORDER BY created_at DESC, optionally WHERE outcome = ? (failures first look).
            models.Index(fields=["-created_at"], name="chat_routelog_created_idx"),
            models.Index(fields=["outcome", "-created_at"], name="chat_routelog_outcome_idx"),
        ]

    def __str__(self):
        return f"{self.route}/{self.outcome} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"
