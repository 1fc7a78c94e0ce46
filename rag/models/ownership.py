"""Which partner owns which rag_keys.

A partner always owns the rag_key named after it (its partner_id, where partner chat grounds). Staff may
grant it more rag_keys here; each granted rag_key has exactly one owner, and a rag_key named after
another partner can never be granted.
"""

from django.core.exceptions import ValidationError
from django.db import models


class PartnerRagKey(models.Model):
    partner = models.ForeignKey(
        "chat.Partner", verbose_name="파트너", on_delete=models.CASCADE, related_name="rag_key_grants"
    )
    rag_key = models.CharField(
        "RAG 키", max_length=255, unique=True, help_text="이 파트너가 공유 문서를 읽고 쓸 수 있는 RAG 키."
    )
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)

    class Meta:
        verbose_name = "파트너 RAG 키 권한"
        verbose_name_plural = "파트너 RAG 키 권한"
        ordering = ["partner_id", "rag_key"]

    def __str__(self):
        return f"{self.partner_id}: {self.rag_key}"

    def clean(self):
        from chat.models import Partner

        self.rag_key = (self.rag_key or "").strip()
        if self.rag_key and Partner.objects.filter(partner_id=self.rag_key).exclude(pk=self.partner_id).exists():
            raise ValidationError({"rag_key": "이 RAG 키는 다른 파트너의 이름이라 그 파트너의 것입니다."})
