"""Admin pieces every app's admin uses: a changelist that refuses bad filter values instead of failing,
read-only audit-log admins, a paginator for huge tables, readable JSON, revoking hashed credentials."""

import json

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html


class LargeTablePaginator(Paginator):
    """For the log tables: an unfiltered changelist uses PostgreSQL's row estimate instead of
    COUNT(*) over millions of rows; filtered lists (served by indexes) count exactly."""

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return row[0]
        return super().count


class RefusingChangeList(ChangeList):
    """Django turns a filter value it cannot use into its "incorrect lookup" refusal (a redirect with ?e=1) only
    when the value raises ValueError. A date-hierarchy year past 9999 overflows instead, and year 9999 fails
    only after that check (its end, year 10000, does not exist): both answered 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class RefusingAdmin(admin.ModelAdmin):
    """A ModelAdmin whose changelist refuses bad filter values (RefusingChangeList)."""

    def get_changelist(self, request, **kwargs):
        return RefusingChangeList


class ViewOnlyAdmin(admin.ModelAdmin):
    """Nothing is added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ViewOnlyAdmin):
    """Audit logs are written by the chat, never by hand: view and filter only. Nothing is deleted
    here either; old rows leave through the retention job (analytics.services.retention)."""

    paginator = LargeTablePaginator
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        declared = [name for name in self.readonly_fields if name not in {f.name for f in self.model._meta.fields}]
        return [field.name for field in self.model._meta.fields] + declared


def pretty_json(value) -> str:
    """Stored JSON shown whole and indented, for fields with no better widget."""
    if value in (None, "", [], {}):
        return "—"
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return format_html('<pre class="readable-json" style="white-space: pre-wrap">{}</pre>', text)


def revoke_credentials(model_admin, request, queryset, noun: str) -> None:
    """Revoke the selected credentials (HashedCredential) still in use and say how many; none is a warning."""
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    if count:
        model_admin.message_user(request, f"{noun} {count}개를 폐기했습니다.", messages.SUCCESS)
    else:
        model_admin.message_user(
            request, f"선택한 {noun} 중 사용 중인 것이 없어 폐기한 것이 없습니다.", messages.WARNING
        )
