"""Credentials stored hashed: end-user API tokens here, partner API keys in chat.models.partners."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per credential


class HashedCredential(models.Model):
    """A secret sent as `<prefix>.<secret>`: only the prefix (for lookup) and a SHA-256 of the secret are stored.

    Secrets are 256-bit random values, so a fast hash is enough and a database dump holds no usable
    credential. The plain text exists once, when `issue()` returns it.
    """

    PREFIX_LENGTH = 8

    prefix = models.CharField("접두어", max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField("해시", max_length=64, editable=False)
    label = models.CharField("이름표", max_length=100, blank=True)
    created_at = models.DateTimeField("발급 시각", auto_now_add=True)
    last_used_at = models.DateTimeField("마지막 사용", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("폐기 시각", null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_credential(cls, **fields) -> tuple["HashedCredential", str]:
        """An unsaved row and its plain text (for bulk_create); `issue()` saves one."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        return cls(prefix=prefix, key_hash=cls.hash_secret(secret), **fields), f"{prefix}.{secret}"

    @classmethod
    def issue(cls, **fields) -> tuple["HashedCredential", str]:
        """Create a credential and return it with its plain text, which is shown once and never stored."""
        credential, plain = cls.new_credential(**fields)
        credential.save()
        return credential, plain

    def matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.key_hash, self.hash_secret(secret))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())

    def touch(self) -> None:
        """Record use, at most once a minute: a write on every request would cost every request."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)


class UserApiToken(HashedCredential):
    """An end user's or staff member's API token: `Authorization: Token <prefix>.<secret>`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name="사용자"
    )

    class Meta(HashedCredential.Meta):
        verbose_name = "API 토큰"
        verbose_name_plural = "API 토큰"

    def __str__(self):
        return f"{self.user}:{self.prefix}…"
