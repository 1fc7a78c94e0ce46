import django_filters

from chat.models import KnowledgeConversation
from config.api.filters import FilterSet


class KnowledgeConversationFilterSet(FilterSet):
    date = django_filters.DateFilter(field_name="updated_at", lookup_expr="date", label="Last active on (YYYY-MM-DD)")
    date_from = django_filters.DateFilter(field_name="updated_at", lookup_expr="date__gte", label="Active since")
    date_to = django_filters.DateFilter(field_name="updated_at", lookup_expr="date__lte", label="Active until")

    class Meta:
        model = KnowledgeConversation
        fields = ["rag_key", "rag_type"]
