"""Admin for knowledge chat conversations: read-only history with the messages inline."""

from django.contrib import admin
from django.db.models import Count

from chat.models import KnowledgeConversation, KnowledgeMessage


class KnowledgeMessageInline(admin.TabularInline):
    model = KnowledgeMessage
    extra = 0
    can_delete = False
    fields = ["created_at", "role", "content", "status", "route", "llm_model", "latency_ms", "sources"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(KnowledgeConversation)
class KnowledgeConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "rag_key", "rag_type", "message_count", "regeneration_count", "updated_at"]
    list_filter = ["rag_type", "updated_at"]
    search_fields = ["id", "title", "rag_key", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "updated_at"
    readonly_fields = ["id", "user", "rag_key", "rag_type", "title", "regeneration_count", "created_at", "updated_at"]
    inlines = [KnowledgeMessageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_count=Count("messages"))

    @admin.display(ordering="message_count", description="messages")
    def message_count(self, obj):
        return obj.message_count

    def has_add_permission(self, request):
        return False


@admin.register(KnowledgeMessage)
class KnowledgeMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "role", "status", "route", "llm_model", "latency_ms", "created_at"]
    list_filter = ["role", "status", "route", "created_at"]
    search_fields = ["content", "conversation__id", "conversation__user__username"]
    list_select_related = ["conversation"]
    raw_id_fields = ["conversation"]
    readonly_fields = [field.name for field in KnowledgeMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
