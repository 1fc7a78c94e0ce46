from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response
from rest_framework.settings import api_settings

from chat.models import Partner
from config.api.filters import PartnerFilterSet
from config.api.permissions import IsStaff, is_partner_request
from config.api.serializers import IdentitySerializer, PartnerSerializer
from config.api.throttling import ClientRateThrottle
from config.services.health import health_report


@extend_schema(summary="Health of database, pgvector, Redis and the Celery worker", responses={200: dict, 503: dict})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def health(request):
    healthy, report = health_report()
    return Response(report, status=200 if healthy else 503)


@extend_schema(summary="Who the credentials belong to", responses=IdentitySerializer)
@api_view(["GET"])
def me(request):
    partner = is_partner_request(request)
    identity = {
        "kind": "partner" if partner else "user",
        "username": None if partner else request.user.get_username(),
        "partner_id": request.user.partner_id if partner else None,
        "is_staff": request.user.is_staff,
    }
    return Response(IdentitySerializer(identity).data)


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token."""

    throttle_classes = [ClientRateThrottle]  # DRF's view turns throttling off; guessing passwords must not be free
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # DRF's view names its own, without our JSON limits


class PartnerViewSet(viewsets.ReadOnlyModelViewSet):
    """Partners and how many usable keys each has (staff only; keys are managed in admin)."""

    queryset = Partner.objects.annotate(
        active_key_count=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True))
    ).order_by("partner_id")
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet
    permission_classes = [IsStaff]
