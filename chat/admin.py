from django.contrib import admin, messages
from django.utils import timezone

from chat.models import Partner, PartnerApiKey


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
    inlines = [PartnerApiKeyInline]


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "label", "created_at", "last_used_at", "is_active"]
    list_filter = ["partner", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["partner"]
    search_fields = ["prefix", "label", "partner__partner_id"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False  # keys are issued by `manage.py create_partner_key` so the secret is shown once

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return not obj.is_revoked

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
