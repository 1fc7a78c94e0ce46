"""Admin for the RAG knowledge base: documents with status and graph metadata, read-only chunks,
re-embed / re-extract actions and a staff "try a search" page."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from rag import tasks
from rag.models import Chunk, Document, PartnerRagKey
from rag.services import ingest
from rag.services.access import SEARCH_RAG_TYPES
from rag.services.search import MAX_LIMIT, MODES, search

STATUS_COLOURS = {"pending": "#777", "processing": "#2a6fdb", "ready": "#2e7d32", "error": "#c62828"}


class ChunkInline(admin.TabularInline):
    model = Chunk
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["chunk_index", "content", "token_count", "morphemes"]
    readonly_fields = fields
    ordering = ["chunk_index"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PartnerRagKeyInline(admin.TabularInline):
    """On the partner page: the rag_keys granted to it beyond its own partner_id."""

    model = PartnerRagKey
    extra = 0
    fields = ["rag_key", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(PartnerRagKey)
class PartnerRagKeyAdmin(admin.ModelAdmin):
    list_display = ["rag_key", "partner", "created_at"]
    list_filter = ["partner"]
    list_select_related = ["partner"]
    search_fields = ["rag_key", "partner__partner_id", "partner__name"]
    raw_id_fields = ["partner"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "__str__", "rag_key", "rag_type", "owner", "source_type", "status_badge", "chunk_count",
                    "updated_at"]
    list_filter = ["status", "rag_type", "source_type", "rag_key"]
    list_select_related = ["owner"]
    search_fields = ["doc_id", "filename", "rag_key"]
    raw_id_fields = ["owner"]
    date_hierarchy = "updated_at"
    inlines = [ChunkInline]
    actions = ["reembed", "reextract_graph"]
    change_list_template = "admin/rag/document/change_list.html"
    fieldsets = [
        (None, {"fields": ["doc_id", "rag_key", "rag_type", "owner", "filename", "source_type", "doc_schema",
                           "event_type"]}),
        ("Status", {"fields": ["status", "status_message", "chunk_count", "embedding_model", "content_hash",
                               "created_at", "updated_at"]}),
        ("Graph metadata", {"fields": ["summary", "entities", "relations"]}),
        ("Content", {"fields": ["content", "metadata"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["doc_id", "rag_key", "rag_type", "owner", "filename", "source_type", "doc_schema", "event_type",
                       "status", "status_message", "chunk_count", "embedding_model", "content_hash", "created_at",
                       "updated_at", "summary", "entities", "relations", "content", "metadata"]

    def has_add_permission(self, request):
        return False  # documents arrive through the upload / sync APIs (validation, extraction, chunking)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(chunk_count=Count("chunks"))

    def delete_model(self, request, obj):
        ingest.delete_document(obj)  # waits for an ingestion swap in progress, so no chunk is left behind

    def delete_queryset(self, request, queryset):
        ingest.delete_documents(queryset)

    @admin.display(description="chunks", ordering="chunk_count")
    def chunk_count(self, obj):
        return getattr(obj, "chunk_count", None)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<b style="color:{}" title="{}">{}</b>', STATUS_COLOURS.get(obj.status, "#000"), obj.status_message,
            obj.status,
        )

    @admin.display(description="summary")
    def summary(self, obj):
        return obj.metadata.get("ai_summary", "")

    @admin.display(description="entities")
    def entities(self, obj):
        nodes = obj.metadata.get("entity_nodes") or []
        if not nodes:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((n.get("name"), n.get("type"), n.get("description")) for n in nodes))
        return format_html("<table><tr><th>name</th><th>type</th><th>description</th></tr>{}</table>", rows)

    @admin.display(description="relations")
    def relations(self, obj):
        edges = obj.metadata.get("entity_relations") or []
        if not edges:
            return "-"
        return format_html_join(mark_safe("<br>"), "{} —[{}]→ {}",  # noqa: S308 - a constant tag
                                ((e.get("source"), e.get("relation"), e.get("target")) for e in edges))

    @admin.action(description="Re-embed selected documents (Celery)")
    def reembed(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        for document_id in ids:
            transaction.on_commit(lambda pk=document_id: tasks.reembed_document.delay(pk))
        self.message_user(request, f"Queued re-embedding of {len(ids)} document(s).", messages.SUCCESS)

    @admin.action(description="Re-extract graph metadata (summary, entities, relations)")
    def reextract_graph(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        for document_id in ids:
            transaction.on_commit(lambda pk=document_id: tasks.reextract_graph.delay(pk))
        self.message_user(request, f"Queued graph extraction for {len(ids)} document(s).", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view(self.try_search_view)
        return [path("try-search/", view, name="rag_document_try_search"), *super().get_urls()]

    def try_search_view(self, request):
        form = TrySearchForm(request.GET or None)
        hits = None
        if form.is_valid():
            values = form.cleaned_data
            hits = search(
                user=values["as_user"] or request.user,
                rag_key=values["rag_key"],
                rag_type=values["rag_type"],
                query=values["query"],
                limit=values["limit"],
                mode=values["mode"],
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Try a search",
            "form": form,
            "hits": hits,
        }
        return TemplateResponse(request, "admin/rag/try_search.html", context)


class TrySearchForm(forms.Form):
    rag_key = forms.CharField(max_length=255)
    query = forms.CharField(max_length=2000)
    rag_type = forms.ChoiceField(choices=[(value, value) for value in SEARCH_RAG_TYPES], initial="both")
    mode = forms.ChoiceField(choices=[(value, value) for value in MODES], initial="hybrid")
    limit = forms.IntegerField(min_value=1, max_value=MAX_LIMIT, initial=5)
    as_user = forms.CharField(
        required=False, label="Search as user", help_text="username; empty = you (user_isolated uses that user's docs)"
    )

    def clean_as_user(self):
        username = self.cleaned_data["as_user"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No such user.")
        return user

