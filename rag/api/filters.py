import django_filters

from config.api.filters import FilterSet
from rag.models import Document, RagType


class DocumentFilterSet(FilterSet):
    rag_type = django_filters.ChoiceFilter(choices=RagType.choices)
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)
    q = django_filters.CharFilter(method="search", label="Search filename or doc_id")

    class Meta:
        model = Document
        fields = ["rag_key", "rag_type", "status", "source_type", "doc_id"]

    def search(self, queryset, name, value):
        return queryset.filter(filename__icontains=value) | queryset.filter(doc_id__icontains=value)
