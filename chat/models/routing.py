from django.conf import settings
from django.db import models
from django.utils import timezone


class RouteDecisionLog(models.Model):
    """One SQL|RAG routing decision of the knowledge chat (seed 001 "챗봇 응답 경로") and what came of it."""

    class Route(models.TextChoices):
        SQL = "sql", "SQL"
        RAG = "rag", "RAG"

    class Outcome(models.TextChoices):
        ROUTED_TO_RAG = "rag", "routed to RAG"  # a non-staff user, or the LLM chose RAG
        FALLBACK = "fallback", "routing failed, RAG used"  # LLM error or malformed routing reply
        ANSWERED = "answered", "answered by SQL"
        REJECTED = "rejected", "SQL rejected by the guard"
        ERROR = "error", "SQL failed"
        TIMEOUT = "timeout", "SQL timed out"
        PENDING = "pending", "SQL route chosen, not run yet"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField()
    route = models.CharField(max_length=3, choices=Route.choices)
    reason = models.TextField(blank=True)
    sql = models.TextField(blank=True, help_text="the SQL the LLM wrote (as received), when the SQL route ran")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0, help_text="routing plus SQL time")
    created_at = models.DateTimeField(auto_now_add=True)

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
