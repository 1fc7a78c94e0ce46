"""Dining assistant API (seed 003 §6.1). Views validate input, find the caller's chat user and call
one service; access rules: a user reads and changes only their own data, staff may read anyone's."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.dining_filters import WalletCouponFilterSet
from chat.api.dining_serializers import (
    ChatRequestSerializer,
    ChatResponseSerializer,
    ClickResultSerializer,
    ClickSerializer,
    CouponApplyResultSerializer,
    CouponApplySerializer,
    PreferencesSerializer,
    SelectionResultSerializer,
    SelectionSerializer,
    WalletCouponSerializer,
)
from chat.models import AcquisitionSource, ChatUser, CouponType, RecommendationLog, UsageType, UserCouponWallet
from chat.services.coupons import apply_coupon
from chat.services.dining_chat import handle_turn
from chat.services.profiles import chat_user_for, profile_summary, update_preferences
from chat.services.selections import record_click, record_selection
from config.api.permissions import IsEndUser
from config.api.schema import error_responses

USER_ID_PARAMETER = OpenApiParameter("user_id", str, OpenApiParameter.PATH, description="chat user id or `me`")
WALLET_FILTER_PARAMETERS = [
    OpenApiParameter("state", str, enum=["active", "expired", "used", "cancelled"]),
    OpenApiParameter("coupon_type", str, enum=CouponType.values),
    OpenApiParameter("usage_type", str, enum=UsageType.values),
    OpenApiParameter("acquisition_source", str, enum=AcquisitionSource.values),
    OpenApiParameter("expires_after", OpenApiTypes.DATETIME),
    OpenApiParameter("expires_before", OpenApiTypes.DATETIME),
]


class DiningView(APIView):
    permission_classes = [IsEndUser]

    def caller(self) -> ChatUser:
        return chat_user_for(self.request.user)

    def target_user(self, user_id: str, *, write: bool = False) -> ChatUser:
        """The chat user `user_id` ("me" = the caller) if the caller may see (or change) it."""
        if user_id == "me":
            return self.caller()
        if not (user_id.isascii() and user_id.isdigit()):  # "²".isdigit() is True, int("²") fails
            raise NotFound(_("Unknown user."))
        target = ChatUser.objects.filter(pk=int(user_id)).first()
        if target is None:
            raise NotFound(_("Unknown user."))
        own = target.auth_user_id == self.request.user.pk
        if not own and (write or not self.request.user.is_staff):
            raise PermissionDenied(_("You can only access your own data."))
        return target


class ChatView(DiningView):
    @extend_schema(
        summary="Dining chat turn: understand, recommend open shops within budget, apply coupons",
        request=ChatRequestSerializer,
        responses=ChatResponseSerializer,
    )
    def post(self, request):
        data = ChatRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = handle_turn(
            chat_user=self.caller(),
            message=data.validated_data["message"],
            session_id=data.validated_data.get("session_id"),
            location=data.validated_data.get("location"),
            context=data.validated_data.get("context"),
        )
        return Response(body)


class UserProfileView(DiningView):
    @extend_schema(summary="A chat user's preferences and statistics", parameters=[USER_ID_PARAMETER], responses=dict)
    def get(self, request, user_id):
        return Response(profile_summary(self.target_user(user_id)))


class UserPreferencesView(DiningView):
    @extend_schema(
        summary="Replace the caller's preferences (categories, budget, dietary restrictions)",
        parameters=[USER_ID_PARAMETER],
        request=PreferencesSerializer,
        responses=dict,
    )
    def put(self, request, user_id):
        user = self.target_user(user_id, write=True)
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        update_preferences(
            user,
            categories=values.get("categories"),
            budget=values.get("budget"),
            dietary_restrictions=values.get("dietary_restrictions"),
            good_influence_preference=values.get("good_influence_preference"),
        )
        return Response(profile_summary(user))


class UserCouponsView(DiningView):
    @extend_schema(
        summary="A chat user's wallet: active, expired and used coupons (filterable)",
        parameters=[USER_ID_PARAMETER, *WALLET_FILTER_PARAMETERS],
        responses=dict,
    )
    def get(self, request, user_id):
        user = self.target_user(user_id)
        entries = UserCouponWallet.objects.filter(user=user).select_related("coupon").order_by("expires_at", "id")
        filterset = WalletCouponFilterSet(request.query_params, queryset=entries, request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        groups = {"active_coupons": [], "expired_coupons": [], "used_coupons": [], "cancelled_coupons": []}
        for item in WalletCouponSerializer(filterset.qs, many=True).data:
            groups[f"{item['state']}_coupons"].append(item)
        return Response({"user_id": user.pk, **groups})


class CouponApplyView(DiningView):
    @extend_schema(
        summary="Use a wallet coupon on an order: coupon used + meal card debited, atomically",
        request=CouponApplySerializer,
        responses={
            200: CouponApplyResultSerializer,
            **error_responses(
                **{
                    "404": "`coupon_not_found`: no such coupon in the caller's wallet.",
                    "409": "`coupon_not_available` (used, expired, cancelled) or `insufficient_balance`.",
                    "422": "`coupon_not_applicable`: the shop or order amount does not meet the coupon's terms.",
                }
            ),
        },
    )
    def post(self, request):
        data = CouponApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = self.caller()
        if values.get("user_id", user.pk) != user.pk:
            raise PermissionDenied(_("You can only use your own coupons."))
        result = apply_coupon(
            user=user, coupon_id=values["coupon_id"], shop_id=values["shop_id"], order_amount=values["order_amount"]
        )
        return Response(CouponApplyResultSerializer(result).data)


class RecommendationView(DiningView):
    def own_recommendation(self, pk: int) -> RecommendationLog:
        """The caller's recommendation `pk`: 404 when there is none, 403 when it is someone else's."""
        log = get_object_or_404(RecommendationLog.objects.select_related("user"), pk=pk)
        if log.user is None or log.user.auth_user_id != self.request.user.pk:
            raise PermissionDenied(_("You can only answer your own recommendations."))
        return log


class RecommendationSelectionView(RecommendationView):
    @extend_schema(
        summary="Record the shop the user chose from a recommendation (and/or a 1-5 rating)",
        request=SelectionSerializer,
        responses=SelectionResultSerializer,
    )
    def post(self, request, pk):
        log = self.own_recommendation(pk)
        data = SelectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        log = record_selection(log, **data.validated_data)
        return Response(SelectionResultSerializer(log).data)


CLICK_RESULT_EXAMPLE = {
    "feedback_id": 981,
    "recommendation_id": 4521,
    "shop_id": 12,
    "clicked_at": "2026-12-01T12:31:05.120000+09:00",
    "time_to_action_ms": 3100,
}


class RecommendationClickView(RecommendationView):
    @extend_schema(
        summary="Record that the user opened a shop card of a recommendation (training data, once per shop)",
        description=(
            "Each opened card becomes one `clicked` recommendation_feedback row, which the recommendation "
            "re-ranker grades 0.5 (a selection 1, a shop shown and ignored 0). Sending the same shop again "
            "answers 200 with the stored click. With training-data collection switched off "
            "(`ML_TRAINING_COLLECT=0`) nothing is stored: 200 with `feedback_id` null."
        ),
        request=ClickSerializer,
        responses={
            201: ClickResultSerializer,
            200: ClickResultSerializer,
            **error_responses(**{"422": "`not_recommended`: the shop was not part of this recommendation."}),
        },
        examples=[
            OpenApiExample("카드를 연 가게", value={"shop_id": 12, "time_to_action_ms": 3100}, request_only=True),
            OpenApiExample("처음 연 카드", value=CLICK_RESULT_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "다시 연 카드 (처음 기록 그대로)", value=CLICK_RESULT_EXAMPLE, response_only=True, status_codes=["200"]
            ),
        ],
    )
    def post(self, request, pk):
        log = self.own_recommendation(pk)
        data = ClickSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        click = record_click(log, **data.validated_data)
        return Response(
            ClickResultSerializer(click).data, status=status.HTTP_201_CREATED if click.created else status.HTTP_200_OK
        )
