"""FilterSets of the staff analytics API. Dates are local calendar days (TIME_ZONE)."""

from datetime import date, timedelta

import django_filters
from django.db.models import Q

from analytics.models import Channel, ChatStatistics, ConversationHistory, MessageLog
from analytics.services.statistics import DAY_VALIDATORS, day_start
from config.api.filters import BooleanFilter, FilterSet


def created_before_end_of(queryset, name, day: date):
    """`date_to` of the log filters: created on or before `day` (local calendar day)."""
    return queryset.filter(created_at__lt=day_start(day + timedelta(days=1)))


class MessageLogFilterSet(FilterSet):
    collection = django_filters.CharFilter(field_name="collection_name")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    session_id = django_filters.CharFilter()
    message_type = django_filters.ChoiceFilter(choices=MessageLog.MessageType.choices)
    has_error = BooleanFilter(method="filter_has_error")
    regenerated = BooleanFilter()
    date_from = django_filters.DateFilter(
        method="filter_date_from", label="created on or after (YYYY-MM-DD)", validators=DAY_VALIDATORS
    )
    date_to = django_filters.DateFilter(
        method=created_before_end_of, label="created on or before (YYYY-MM-DD)", validators=DAY_VALIDATORS
    )

    class Meta:
        model = MessageLog
        fields = ["collection", "channel", "session_id", "message_type", "has_error", "regenerated"]

    def filter_has_error(self, queryset, name, value):
        return queryset.exclude(error="") if value else queryset.filter(error="")

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))


class ConversationHistoryFilterSet(FilterSet):
    collection = django_filters.CharFilter(field_name="collection_name")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    session_id = django_filters.CharFilter(field_name="conversation_id")
    user_hash = django_filters.CharFilter()
    has_error = BooleanFilter()
    regenerated = BooleanFilter()
    is_sampled = BooleanFilter()
    retention_priority = django_filters.ChoiceFilter(choices=ConversationHistory.RetentionPriority.choices)
    date_from = django_filters.DateFilter(
        method="filter_date_from", label="active on or after (YYYY-MM-DD)", validators=DAY_VALIDATORS
    )
    date_to = django_filters.DateFilter(
        method=created_before_end_of, label="active on or before (YYYY-MM-DD)", validators=DAY_VALIDATORS
    )
    q = django_filters.CharFilter(method="search", label="text in the summary or any message")

    class Meta:
        model = ConversationHistory
        fields = ["collection", "channel", "session_id", "has_error", "regenerated", "is_sampled"]

    # A conversation is in a date range when its activity (created_at .. updated_at) overlaps it.
    def filter_date_from(self, queryset, name, value):
        return queryset.filter(updated_at__gte=day_start(value))

    def search(self, queryset, name, value):
        return queryset.filter(Q(summary__icontains=value) | Q(messages__icontains=value))


class ChatStatisticsFilterSet(FilterSet):
    collection = django_filters.CharFilter(field_name="collection_name")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    period = django_filters.ChoiceFilter(choices=ChatStatistics.Period.choices)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", validators=DAY_VALIDATORS)
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", validators=DAY_VALIDATORS)

    class Meta:
        model = ChatStatistics
        fields = ["collection", "channel", "period"]
