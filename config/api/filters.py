"""The API's FilterSets. A filter value that is given must be valid, or the request is a 400 naming it; a blank
value (`?status=`) is not given, as in a submitted form (the schema says so with `allowEmptyValue`).

django-filter's own BooleanFilter reads anything but true/false as "not given": `?is_active=yes` or `?regenerated=1`
listed every row, as if no filter had been asked for. Every FilterSet of the API derives from FilterSet below, so a
model's BooleanField named in `Meta.fields` gets the strict filter too.
"""

import django_filters
from django import forms
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from chat.models import Partner

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class StrictBooleanField(forms.Field):
    """`true`/`1` or `false`/`0` (any case); blank is not given."""

    # A select in the browsable API's filter form; whatever the query string holds reaches to_python as it is.
    widget = forms.Select(choices=[("", "---------"), ("true", "true"), ("false", "false")])

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return _BOOLEANS[str(value).lower()]
        except KeyError:
            raise forms.ValidationError(_("Enter true or false (or 1 or 0)."), code="invalid") from None


def query_flag(query_params, name: str) -> bool:
    """A yes/no query parameter of a view (`?stream=1`): absent or blank is no; a value that is neither is a 400."""
    try:
        return bool(StrictBooleanField(required=False).clean(query_params.get(name)))
    except forms.ValidationError as error:
        raise ValidationError({name: error.messages}) from None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }


class PartnerFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search id or name")

    class Meta:
        model = Partner
        fields = ["is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(partner_id__icontains=value) | Q(name__icontains=value))
