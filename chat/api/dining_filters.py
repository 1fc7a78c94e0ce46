import django_filters
from django.db.models import Q
from django.utils import timezone

from chat.models import AcquisitionSource, CouponType, UsageType, UserCouponWallet, WalletStatus
from config.api.filters import FilterSet


class WalletCouponFilterSet(FilterSet):
    """Filters of GET /users/{id}/coupons. `state` counts an ACTIVE coupon past its expiry as expired."""

    state = django_filters.ChoiceFilter(
        choices=[("active", "active"), ("expired", "expired"), ("used", "used"), ("cancelled", "cancelled")],
        method="filter_state",
    )
    coupon_type = django_filters.ChoiceFilter(field_name="coupon__coupon_type", choices=CouponType.choices)
    usage_type = django_filters.ChoiceFilter(field_name="coupon__usage_type", choices=UsageType.choices)
    acquisition_source = django_filters.ChoiceFilter(choices=AcquisitionSource.choices)
    expires_after = django_filters.IsoDateTimeFilter(field_name="expires_at", lookup_expr="gte")
    expires_before = django_filters.IsoDateTimeFilter(field_name="expires_at", lookup_expr="lt")

    class Meta:
        model = UserCouponWallet
        fields = ["state", "coupon_type", "usage_type", "acquisition_source", "expires_after", "expires_before"]

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == "active":
            return queryset.filter(status=WalletStatus.ACTIVE, expires_at__gt=now)
        if value == "expired":
            return queryset.filter(Q(status=WalletStatus.EXPIRED) | Q(status=WalletStatus.ACTIVE, expires_at__lte=now))
        return queryset.filter(status=value.upper())
