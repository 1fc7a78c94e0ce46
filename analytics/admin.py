"""Read-only admin for the analytics tables: logs and histories are records, never edited by hand."""


from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from analytics.api.serializers import RangeQuerySerializer
from analytics.models import (
    Channel,
    ChatStatistics,
    CollectionReport,
    ConversationHistory,
    Dashboard,
    FAQCandidate,
    LogOutboxRecord,
    MessageLog,
)
from analytics.services import curated_answers, dashboard, message_logs
from config.admin_tools import ReadOnlyAdmin, ViewOnlyAdmin, pretty_json


class HasErrorFilter(admin.SimpleListFilter):
    title = "오류"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "오류 있음"), ("no", "오류 없음")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(error="")
        if self.value() == "no":
            return queryset.filter(error="")
        return queryset


@admin.register(MessageLog)
class MessageLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "collection_name", "session_id", "message_type", "short_content",
                    "llm_model", "has_error", "regenerated"]  # fmt: skip
    list_filter = ["channel", "message_type", HasErrorFilter, "regenerated", "created_at"]
    search_fields = ["=session_id", "=collection_name", "content"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ["-created_at", "-id"]

    @admin.display(description="내용")
    def short_content(self, obj):
        return obj.content[:80]

    @admin.display(boolean=True, description="오류")
    def has_error(self, obj):
        return bool(obj.error)


@admin.register(ConversationHistory)
class ConversationHistoryAdmin(ReadOnlyAdmin):
    list_display = ["updated_at", "channel", "collection_name", "conversation_id", "total_turns", "is_sampled",
                    "retention_priority", "has_error", "regenerated"]  # fmt: skip
    list_filter = ["channel", "is_sampled", "retention_priority", "has_error", "regenerated", "updated_at"]
    search_fields = ["=conversation_id", "=collection_name", "=user_hash", "summary"]
    date_hierarchy = "updated_at"
    show_full_result_count = False
    readonly_fields = ["messages_pretty"]
    exclude = ["messages"]

    @admin.display(description="메시지")
    def messages_pretty(self, obj):
        return pretty_json(obj.messages)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        changelist = request.resolver_match and request.resolver_match.url_name.endswith("changelist")
        return queryset.defer("messages") if changelist else queryset


@admin.register(ChatStatistics)
class ChatStatisticsAdmin(ReadOnlyAdmin):
    list_display = ["period_start", "period", "channel", "collection_name", "total_queries", "unique_sessions",
                    "avg_response_time_ms", "p95_response_time_ms", "error_count", "regeneration_count",
                    "total_tokens"]  # fmt: skip
    list_filter = ["period", "channel", "date"]
    search_fields = ["=collection_name"]
    date_hierarchy = "date"


class StuckFilter(admin.SimpleListFilter):
    title = "처리 상태"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("stuck", "멈춤 (남은 시도 없음)"), ("failing", "한 번 이상 실패"), ("waiting", "대기 중")]

    def queryset(self, request, queryset):
        if self.value() == "stuck":
            return queryset.filter(attempts__gte=message_logs.MAX_WRITE_ATTEMPTS)
        if self.value() == "failing":
            return queryset.filter(attempts__gt=0)
        if self.value() == "waiting":
            return queryset.filter(attempts=0)
        return queryset


@admin.register(LogOutboxRecord)
class LogOutboxRecordAdmin(ReadOnlyAdmin):
    """Exchanges queued for the logs: normally gone within seconds; what stays has an error to read."""

    list_display = ["id", "created_at", "channel", "collection_name", "session_id", "attempts", "short_error"]
    list_filter = [StuckFilter, "created_at"]
    search_fields = ["last_error"]
    readonly_fields = ["created_at", "attempts", "last_error", "record_pretty"]
    exclude = ["record"]
    show_full_result_count = False
    actions = ["retry"]

    @admin.display(description="채널")
    def channel(self, obj):
        return obj.record.get("channel", "")

    @admin.display(description="컬렉션")
    def collection_name(self, obj):
        return obj.record.get("collection_name", "")

    @admin.display(description="세션 ID")
    def session_id(self, obj):
        return obj.record.get("session_id", "")

    @admin.display(description="마지막 오류")
    def short_error(self, obj):
        return obj.last_error[:120]

    @admin.display(description="기록 내용")
    def record_pretty(self, obj):
        return pretty_json(obj.record)

    @admin.action(description="선택한 멈춘 기록을 다음 flush 때 다시 시도")
    def retry(self, request, queryset):
        count = message_logs.retry_stuck(queryset)
        if count:
            self.message_user(request, f"멈춘 기록 {count}건을 다시 시도합니다.", messages.SUCCESS)
        else:
            self.message_user(request, "선택한 기록 중 멈춘 것이 없어 다시 시도할 것이 없습니다.", messages.WARNING)


@admin.register(Dashboard)
class DashboardAdmin(ViewOnlyAdmin):
    """The staff dashboard (seed 002 §7.2) in place of a change list: cards, charts with their
    tables, top and unanswered questions, read through the API's report functions."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.dashboard_view)
        return [path("", view, name="analytics_dashboard_changelist")]

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        chosen = {name: request.GET.get(name, "") for name in ("preset", "date_from", "date_to", "collection",
                                                                 "channel")}  # fmt: skip
        chosen["preset"] = (
            "" if chosen["date_from"] or chosen["date_to"] else chosen["preset"] or dashboard.DEFAULT_PRESET
        )
        query = RangeQuerySerializer(
            data={
                **dashboard.range_params(chosen["preset"], chosen["date_from"], chosen["date_to"]),
                "collection": chosen["collection"],
                "channel": chosen["channel"],
            }  # fmt: skip
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "분석 대시보드",
            "opts": self.model._meta,
            "chosen": chosen,
            "presets": list(dashboard.PRESETS),
            "collections": dashboard.collections(),
            "channels": Channel.choices,
        }
        if query.is_valid():
            params = query.validated_data
            context["data"] = dashboard.build(params["range"], collection=params["collection"],
                                              channel=params["channel"])  # fmt: skip
        else:
            context["errors"] = [f"{field}: {' '.join(messages)}" for field, messages in query.errors.items()]
        status = 200 if query.is_valid() else 400
        return TemplateResponse(request, "admin/analytics/dashboard.html", context, status=status)


@admin.register(FAQCandidate)
class FAQCandidateAdmin(admin.ModelAdmin):
    """Badly answered question clusters, worst first: write a curated answer and apply it, or reject."""

    list_display = ["representative", "collection_name", "question_count", "badness", "score", "status",
                    "last_seen_at"]  # fmt: skip
    list_filter = ["status", "channel", "collection_name"]
    search_fields = ["representative", "=collection_name"]
    readonly_fields = ["collection_name", "channel", "representative", "normalized", "question_count", "badness",
                       "score", "reasons_pretty", "examples_pretty", "documents_pretty", "first_seen_at",
                       "last_seen_at"]  # fmt: skip
    exclude = ["reasons", "example_questions", "retrieved_documents"]
    actions = ["accept", "reject", "apply_curated_answer", "publish_as_shared_document"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="이유")
    def reasons_pretty(self, obj):
        return pretty_json(obj.reasons)

    @admin.display(description="예시 질문")
    def examples_pretty(self, obj):
        return pretty_json(obj.example_questions)

    @admin.display(description="검색된 문서")
    def documents_pretty(self, obj):
        return pretty_json(obj.retrieved_documents)

    @admin.action(description="선택한 후보 채택 (답을 달 것)")
    def accept(self, request, queryset):
        count = queryset.filter(status=FAQCandidate.Status.NEW).update(status=FAQCandidate.Status.ACCEPTED)
        self._report(request, count, len(queryset), "채택했습니다", "새 후보가 아니라")

    @admin.action(description="선택한 후보 거절")
    def reject(self, request, queryset):
        count = queryset.exclude(status=FAQCandidate.Status.APPLIED).update(status=FAQCandidate.Status.REJECTED)
        self._report(request, count, len(queryset), "거절했습니다", "이미 적용되어")

    @admin.action(description="선택한 후보의 큐레이션 답변을 비슷한 질문에 적용")
    def apply_curated_answer(self, request, queryset):
        applied = 0
        for candidate in queryset.exclude(curated_answer=""):
            try:
                curated_answers.apply_curated_answer(candidate, candidate.curated_answer, candidate.curated_sources)
            except ValueError as exc:  # sources edited by hand into a shape the chat cannot cite
                self.message_user(request, f"후보 {candidate.pk}: {exc}", messages.ERROR)
                continue
            applied += 1
        self._report(request, applied, len(queryset), "적용했습니다", "큐레이션 답변이 없거나 출처가 잘못되어")

    @admin.action(description="선택한 후보의 답변을 공유 문서로 올리기 (후보의 RAG 키)")
    def publish_as_shared_document(self, request, queryset):
        published = 0
        for candidate in queryset.exclude(curated_answer=""):
            curated_answers.publish_as_shared_document(candidate)
            published += 1
        self._report(request, published, len(queryset), "공유 문서로 올렸습니다", "큐레이션 답변이 없어")

    def _report(self, request, done: int, selected: int, did: str, why_skipped: str) -> None:
        """How many of the selected candidates the action changed and why the others were left; none is a warning."""
        skipped = f" {selected - done}개는 {why_skipped} 건너뛰었습니다." if selected > done else ""
        if done:
            self.message_user(request, f"후보 {done}개를 {did}.{skipped}", messages.SUCCESS)
        else:
            self.message_user(request, f"바뀐 후보가 없습니다.{skipped}", messages.WARNING)


@admin.register(CollectionReport)
class CollectionReportAdmin(ReadOnlyAdmin):
    """The daily reports per collection, newest first; the page shows the HTML and the Markdown."""

    list_display = ["day", "collection_name", "created_at"]
    list_filter = ["collection_name", "day"]
    search_fields = ["=collection_name"]
    date_hierarchy = "day"
    readonly_fields = ["collection_name", "day", "created_at", "report", "markdown_source"]
    exclude = ["markdown", "html"]

    @admin.display(description="보고서")
    def report(self, obj):
        return mark_safe(obj.html)  # rendered by an autoescaping template (analytics/daily_report.html)

    @admin.display(description="Markdown 원문")
    def markdown_source(self, obj):
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", obj.markdown)
