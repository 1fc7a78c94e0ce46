from django.contrib import admin

from config.admin_tools import revoke_credentials
from config.models import UserApiToken


@admin.register(UserApiToken)
class UserApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed by prefix only: the database holds no plain token to show."""

    list_display = ["prefix", "user", "label", "created_at", "last_used_at", "is_active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), ("last_used_at", admin.DateFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["prefix", "label", "user__username"]
    readonly_fields = ["prefix", "user", "created_at", "last_used_at"]
    fields = ["prefix", "user", "label", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False  # issued by POST /api/v1/auth/token or `manage.py issue_token`, which show the token once

    @admin.display(boolean=True, description="사용 가능")
    def is_active(self, obj):
        return not obj.is_revoked

    @admin.action(description="선택한 토큰 폐기")
    def revoke_tokens(self, request, queryset):
        revoke_credentials(self, request, queryset, "토큰")
