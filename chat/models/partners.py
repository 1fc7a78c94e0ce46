"""Partners (platforms that call the API with keys) and their chat tuning log (seed 000)."""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from config.models import HashedCredential


class Partner(models.Model):
    partner_id = models.SlugField("파트너 ID", max_length=50, primary_key=True, help_text="예: medilinx, kindhabit")
    name = models.CharField("이름", max_length=200, blank=True)
    is_active = models.BooleanField("활성", default=True)
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)

    class Meta:
        verbose_name = "파트너"
        verbose_name_plural = "파트너"
        ordering = ["partner_id"]

    def __str__(self):
        return self.name or self.partner_id


class PartnerApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, partner__is_active=True)


class PartnerApiKey(HashedCredential):
    """An API key sent as `Authorization: Api-Key <prefix>.<secret>` (stored hashed, see HashedCredential)."""

    partner = models.ForeignKey(Partner, verbose_name="파트너", on_delete=models.CASCADE, related_name="api_keys")

    objects = PartnerApiKeyQuerySet.as_manager()

    class Meta(HashedCredential.Meta):
        verbose_name = "파트너 API 키"
        verbose_name_plural = "파트너 API 키"

    def __str__(self):
        return f"{self.partner_id}:{self.prefix}…"

    @classmethod
    def issue(cls, partner: Partner, label: str = "") -> tuple["PartnerApiKey", str]:
        return super().issue(partner=partner, label=label)


class PartnerChatTuningLog(models.Model):
    """One partner chat session's conversation, kept for prompt/model tuning (seed 000).

    Personal data is minimised: client_info keeps only IP and referer, initial_data only a summary.
    """

    partner = models.ForeignKey(
        Partner, verbose_name="파트너", on_delete=models.PROTECT, db_column="partner_id", related_name="tuning_logs"
    )
    hospital_id = models.CharField("병원 ID", max_length=255, blank=True)
    user_uuid = models.CharField("사용자 UUID", max_length=128, blank=True)
    session_id = models.CharField("세션 ID", max_length=255)
    client_info = models.JSONField("클라이언트 정보", default=dict, blank=True)
    initial_data = models.JSONField("초기 데이터", default=dict, blank=True)
    conversation = models.JSONField("대화 내용", default=list, blank=True)
    message_count = models.IntegerField("메시지 수", default=0)
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

    class Meta:
        verbose_name = "파트너 대화 튜닝 기록"
        verbose_name_plural = "파트너 대화 튜닝 기록"
        db_table = "tb_partner_rag_chat_tuning_log"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "session_id"], name="chat_tuninglog_partner_session_uniq"),
            models.CheckConstraint(condition=models.Q(message_count__gte=0), name="chat_tuninglog_message_count_gte_0"),
        ]
        indexes = [
            models.Index(fields=["partner", "hospital_id"], name="chat_tuninglog_partner_hosp"),
            models.Index(fields=["-created_at"], name="chat_tuninglog_created_desc"),
            # Serves admin/tuning searches inside conversation content (jsonb containment).
            GinIndex(fields=["conversation"], name="chat_tuninglog_conv_gin"),
        ]

    def __str__(self):
        return f"{self.partner_id}/{self.session_id}"
