from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.models import Partner
from config.api.filters import PartnerFilterSet
from config.api.permissions import IsStaff, is_partner_request
from config.api.serializers import IdentitySerializer, PartnerSerializer
from config.api.throttling import ClientRateThrottle
from config.models import UserApiToken
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


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="send as `Authorization: Token <token>`; shown only now")


class ObtainTokenView(APIView):
    """Exchange a username and password for a new API token (tokens are stored hashed: each call issues one)."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [ClientRateThrottle]  # guessing passwords must not be free

    @extend_schema(request=AuthTokenSerializer, responses={201: IssuedTokenSerializer})
    def post(self, request):
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        _, plain = UserApiToken.issue(user=credentials.validated_data["user"], label="password login")
        return Response({"token": plain}, status=status.HTTP_201_CREATED)


class PartnerViewSet(viewsets.ReadOnlyModelViewSet):
    """Partners and how many usable keys each has (staff only; keys are managed in admin)."""

    queryset = Partner.objects.annotate(
        active_key_count=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True))
    ).order_by("partner_id")
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet
    permission_classes = [IsStaff]
