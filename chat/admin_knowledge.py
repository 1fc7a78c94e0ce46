"""Admin for knowledge chat conversations: read-only history with the messages inline."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chat.models import KnowledgeConversation, KnowledgeMessage


@admin.display(description="출처")
def linked_sources(message: KnowledgeMessage) -> str:
    """The answer's sources as links to their documents, with the retrieval score of each."""
    sources = [source for source in message.sources or [] if isinstance(source, dict)]
    if not sources:
        return "—"
    items = (
        (
            reverse("admin:rag_document_change", args=[source["document_id"]]) if source.get("document_id") else "#",
            source.get("filename") or source.get("doc_id") or source.get("document_id"),
            f"{float(source['score']):.3f}" if source.get("score") is not None else "—",
        )
        for source in sources
    )
    links = format_html_join("", '<li><a href="{}">{}</a> ({})</li>', items)
    return format_html('<ul class="linked-sources">{}</ul>', links)


class KnowledgeMessageInline(admin.TabularInline):
    model = KnowledgeMessage
    extra = 0
    can_delete = False
    fields = ["created_at", "role", "content", "status", "route", "llm_model", "latency_ms", linked_sources]
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

    @admin.display(ordering="message_count", description="메시지 수")
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
    exclude = ["sources"]
    readonly_fields = [field.name for field in KnowledgeMessage._meta.fields if field.name != "sources"] + [
        linked_sources
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
