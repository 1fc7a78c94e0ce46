"""Partners (platforms that call the API with keys) and their chat tuning log (seed 000)."""

import hashlib
import secrets

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone


class Partner(models.Model):
    partner_id = models.SlugField(max_length=50, primary_key=True, help_text="e.g. medilinx, kindhabit")
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id"]

    def __str__(self):
        return self.name or self.partner_id


class PartnerApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, partner__is_active=True)


class PartnerApiKey(models.Model):
    """An API key sent as `Authorization: Api-Key <prefix>.<secret>`.

    Only the prefix (for lookup) and a SHA-256 of the secret are stored; keys are 256-bit random
    values, so a fast hash is enough and the plain key cannot be recovered from the database.
    """

    PREFIX_LENGTH = 8

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PartnerApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "partner API key"

    def __str__(self):
        return f"{self.partner_id}:{self.prefix}…"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, partner: Partner, label: str = "") -> tuple["PartnerApiKey", str]:
        """Create a key and return it with its plain text, which is shown once and never stored."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        key = cls.objects.create(partner=partner, prefix=prefix, key_hash=cls.hash_secret(secret), label=label)
        return key, f"{prefix}.{secret}"

    def matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.key_hash, self.hash_secret(secret))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        PartnerApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


class PartnerChatTuningLog(models.Model):
    """One partner chat session's conversation, kept for prompt/model tuning (seed 000).

    Personal data is minimised: client_info keeps only IP and referer, initial_data only a summary.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, db_column="partner_id", related_name="tuning_logs")
    hospital_id = models.CharField(max_length=255, blank=True)
    user_uuid = models.CharField(max_length=128, blank=True)
    session_id = models.CharField(max_length=255)
    client_info = models.JSONField(default=dict, blank=True)
    initial_data = models.JSONField(default=dict, blank=True)
    conversation = models.JSONField(default=list, blank=True)
    message_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
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
