import django_filters
from django.db.models import Q

from chat.models import Partner


class PartnerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search id or name")

    class Meta:
        model = Partner
        fields = ["is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(partner_id__icontains=value) | Q(name__icontains=value))
