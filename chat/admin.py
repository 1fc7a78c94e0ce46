from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone

from chat.models import Partner, PartnerApiKey, PartnerChatTuningLog, RouteDecisionLog
from chat.services import partner_chat
from config.admin_tools import ReadOnlyAdmin, revoke_credentials
from rag.admin import PartnerRagKeyInline


class PartnerApiKeyInline(admin.TabularInline):
    model = PartnerApiKey
    extra = 0
    fields = ["prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    show_change_link = True


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["partner_id", "name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["partner_id", "name"]
    inlines = [PartnerApiKeyInline, PartnerRagKeyInline]
    actions = ["issue_api_keys"]

    @admin.action(description="선택한 파트너에게 API 키 발급 (키는 한 번만 표시)")
    def issue_api_keys(self, request, queryset):
        issued, skipped = [], []
        for partner in queryset:
            if not partner.is_active:
                skipped.append(partner.partner_id)
                continue
            key, plain = PartnerApiKey.issue(partner, label=f"admin:{request.user.get_username()}")
            issued.append((partner, key, plain))
        if not issued:
            self.message_user(request, "발급한 키가 없습니다: 선택한 파트너가 모두 비활성입니다.", messages.WARNING)
            return None
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "발급한 API 키"}
        response = TemplateResponse(
            request, "admin/chat/partner/issued_keys.html", {**context, "issued": issued, "skipped": skipped}
        )
        response["Cache-Control"] = "no-store"  # the only time the secret exists outside the partner's hands
        return response


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "label", "created_at", "last_used_at", "is_active"]
    list_filter = ["partner", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["partner"]
    search_fields = ["prefix", "label", "partner__partner_id"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False  # issued by the partner list's action or `manage.py create_partner_key`: the secret is shown once

    @admin.display(boolean=True, description="사용 가능")
    def is_active(self, obj):
        return not obj.is_revoked

    @admin.action(description="선택한 키 폐기")
    def revoke_keys(self, request, queryset):
        revoke_credentials(self, request, queryset, "키")


@admin.register(RouteDecisionLog)
class RouteDecisionLogAdmin(ReadOnlyAdmin):
    """SQL|RAG routing decisions, read-only: what staff asked, where it went, what SQL ran and how it ended."""

    list_display = ["created_at", "user", "route", "outcome", "short_message", "duration_ms"]
    list_filter = ["route", "outcome", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["message", "sql", "reason", "error"]
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "message", "route", "reason", "outcome", "sql", "error", "duration_ms"]

    @admin.display(description="메시지")
    def short_message(self, obj):
        return obj.message if len(obj.message) <= 60 else obj.message[:59] + "…"


class HospitalFilter(admin.SimpleListFilter):
    """Hospitals of the partner chosen in the partner filter (all hospitals would be a very long list)."""

    title = "병원"
    parameter_name = "hospital_id"

    def lookups(self, request, model_admin):
        partner_id = request.GET.get("partner__partner_id__exact")
        if not partner_id:
            return []
        hospitals = (
            PartnerChatTuningLog.objects.filter(partner_id=partner_id)
            .exclude(hospital_id="")
            .values_list("hospital_id", flat=True)
            .distinct()
            .order_by("hospital_id")[:100]
        )
        return [(hospital, hospital) for hospital in hospitals]

    def queryset(self, request, queryset):
        return queryset.filter(hospital_id=self.value()) if self.value() else queryset


@admin.register(PartnerChatTuningLog)
class PartnerChatTuningLogAdmin(ReadOnlyAdmin):
    """Partner chat sessions kept for tuning (seed 000): read-only, conversation shown as chat bubbles."""

    list_display = ["session_id", "partner", "hospital_id", "message_count", "created_at", "updated_at"]
    list_filter = ["partner", HospitalFilter, ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["partner"]
    # "conversation" searches inside the messages' text (jsonb cast to text; a scan, fine for staff use).
    search_fields = ["=session_id", "=user_uuid", "=hospital_id", "conversation"]
    date_hierarchy = "created_at"
    fields = ["partner", "hospital_id", "user_uuid", "session_id", "client_info", "initial_data", "message_count",
              "created_at", "updated_at", "conversation_bubbles"]  # fmt: skip
    readonly_fields = ["conversation_bubbles"]
    actions = ["export_tuning_jsonl"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("conversation")  # only the detail page shows it
        return queryset

    @admin.display(description="대화 내용")
    def conversation_bubbles(self, obj):
        return render_to_string("admin/chat/conversation_bubbles.html", {"conversation": obj.conversation})

    @admin.action(description="선택한 세션을 튜닝용 JSONL로 내보내기")
    def export_tuning_jsonl(self, request, queryset):
        response = StreamingHttpResponse(
            partner_chat.export_tuning_jsonl(queryset.defer(None)),  # the changelist deferred the conversation
            content_type="application/x-ndjson; charset=utf-8",
        )
        filename = f"partner-chat-tuning-{timezone.localtime():%Y%m%d-%H%M%S}.jsonl"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# The other chat ModelAdmins register themselves on import.
from chat import admin_dining, admin_knowledge  # noqa: E402,F401
