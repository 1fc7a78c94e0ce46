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
        ("상태", {"fields": ["status", "status_message", "chunk_count", "embedding_model", "content_hash",
                               "created_at", "updated_at"]}),
        ("그래프 메타데이터", {"fields": ["summary", "entities", "relations"]}),
        ("내용", {"fields": ["content", "metadata"], "classes": ["collapse"]}),
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

    @admin.display(description="청크 수", ordering="chunk_count")
    def chunk_count(self, obj):
        return getattr(obj, "chunk_count", None)

    @admin.display(description="상태", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<b style="color:{}" title="{}">{}</b>', STATUS_COLOURS.get(obj.status, "#000"), obj.status_message,
            obj.get_status_display(),
        )

    @admin.display(description="요약")
    def summary(self, obj):
        return obj.metadata.get("ai_summary", "")

    @admin.display(description="엔티티")
    def entities(self, obj):
        nodes = obj.metadata.get("entity_nodes") or []
        if not nodes:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((n.get("name"), n.get("type"), n.get("description")) for n in nodes))
        return format_html("<table><tr><th>이름</th><th>유형</th><th>설명</th></tr>{}</table>", rows)

    @admin.display(description="관계")
    def relations(self, obj):
        edges = obj.metadata.get("entity_relations") or []
        if not edges:
            return "-"
        return format_html_join(mark_safe("<br>"), "{} —[{}]→ {}",  # noqa: S308 - a constant tag
                                ((e.get("source"), e.get("relation"), e.get("target")) for e in edges))

    @admin.action(description="선택한 문서 다시 임베딩 (Celery)")
    def reembed(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        for document_id in ids:
            transaction.on_commit(lambda pk=document_id: tasks.reembed_document.delay(pk))
        self.message_user(request, f"문서 {len(ids)}개의 다시 임베딩을 작업 대기열에 넣었습니다.", messages.SUCCESS)

    @admin.action(description="선택한 문서의 그래프 메타데이터 다시 추출 (요약, 엔티티, 관계)")
    def reextract_graph(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        for document_id in ids:
            transaction.on_commit(lambda pk=document_id: tasks.reextract_graph.delay(pk))
        self.message_user(request, f"문서 {len(ids)}개의 그래프 추출을 작업 대기열에 넣었습니다.", messages.SUCCESS)

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
            "title": "검색해 보기",
            "form": form,
            "hits": hits,
        }
        return TemplateResponse(request, "admin/rag/try_search.html", context)


class TrySearchForm(forms.Form):
    rag_key = forms.CharField(label="RAG 키", max_length=255)
    query = forms.CharField(label="질문", max_length=2000)
    rag_type = forms.ChoiceField(
        label="RAG 유형", choices=[(value, value) for value in SEARCH_RAG_TYPES], initial="both"
    )
    mode = forms.ChoiceField(label="검색 방식", choices=[(value, value) for value in MODES], initial="hybrid")
    limit = forms.IntegerField(label="결과 수", min_value=1, max_value=MAX_LIMIT, initial=5)
    as_user = forms.CharField(
        required=False,
        label="이 사용자로 검색",
        help_text="사용자 이름; 비우면 나 (user_isolated는 그 사용자의 문서를 씀)",
    )

    def clean_as_user(self):
        username = self.cleaned_data["as_user"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("그런 사용자가 없습니다.")
        return user

