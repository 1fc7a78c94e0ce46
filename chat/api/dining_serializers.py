from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from chat.models import ShopCategory, UserCouponWallet, WalletStatus
from chat.services.dining_chat import MAX_MESSAGE_CHARS
from chat.services.selections import MAX_DECISION_MS
from config.api.serializers import NumberField

MAX_ORDER_AMOUNT = 10_000_000
MAX_BUDGET = 1_000_000


class LocationSerializer(serializers.Serializer):
    latitude = NumberField(min_value=-90, max_value=90)
    longitude = NumberField(min_value=-180, max_value=180)


class ChatContextSerializer(serializers.Serializer):
    time_of_day = serializers.CharField(max_length=20, required=False, allow_blank=True)
    weather = serializers.CharField(max_length=50, required=False, allow_blank=True)
    companion_count = serializers.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "점심 추천 (건대입구 근처)",
            summary="a first turn: omit session_id and the answer starts a new session of your own",
            value={
                "message": "5천원으로 점심 뭐 먹지?",
                "location": {"latitude": 37.5404, "longitude": 127.0692},
                "context": {"companion_count": 1, "time_of_day": "점심"},
            },
            request_only=True,
        )
    ]
)
class ChatRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=True)
    session_id = serializers.UUIDField(required=False, allow_null=True)
    location = LocationSerializer(required=False, allow_null=True)
    context = ChatContextSerializer(required=False, allow_null=True)


class RecommendedMenuSerializer(serializers.Serializer):
    menu_id = serializers.IntegerField()
    menu_name = serializers.CharField()
    price = serializers.IntegerField()
    option_price = serializers.IntegerField()
    final_price = serializers.IntegerField(help_text="per person; for a group, its share of group_total")
    group_total = serializers.IntegerField(
        allow_null=True, help_text="what the whole group pays (the coupon taken once); null for one person"
    )
    coupon_id = serializers.CharField(allow_null=True)
    discount = serializers.IntegerField()


class RecommendationSerializer(serializers.Serializer):
    shop_id = serializers.IntegerField()
    shop_name = serializers.CharField()
    category = serializers.CharField()
    address = serializers.CharField()
    menus = RecommendedMenuSerializer(many=True)
    final_price = serializers.IntegerField()
    applicable_coupons = serializers.ListField(child=serializers.CharField())
    distance = serializers.IntegerField(allow_null=True, help_text="metres")
    estimated_time = serializers.IntegerField(allow_null=True, help_text="walking minutes")
    foodcard_usable = serializers.BooleanField()
    is_good_influence_shop = serializers.BooleanField()
    score = serializers.FloatField()
    ranking = serializers.IntegerField()
    reason_codes = serializers.ListField(child=serializers.CharField())


class SessionInfoSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    intent = serializers.CharField()
    confidence = serializers.FloatField()
    conversation_turn = serializers.IntegerField()
    entities = serializers.DictField()
    strategy = serializers.CharField()
    recommendation_id = serializers.IntegerField(allow_null=True)
    conversation_id = serializers.IntegerField(allow_null=True, help_text="The turn's conversation row")


class ChatResponseSerializer(serializers.Serializer):
    response = serializers.CharField()
    recommendations = RecommendationSerializer(many=True)
    session_info = SessionInfoSerializer()
    search = serializers.DictField()
    coupons_issued = serializers.ListField(child=serializers.DictField())


class PreferencesSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=ShopCategory.choices), required=False, max_length=13
    )
    budget = serializers.IntegerField(min_value=0, max_value=MAX_BUDGET, required=False, allow_null=True)
    dietary_restrictions = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    good_influence_preference = serializers.DecimalField(
        max_digits=3, decimal_places=2, min_value=0, max_value=1, required=False
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one of categories, budget, dietary_restrictions."))
        return attrs


class WalletCouponSerializer(serializers.ModelSerializer):
    wallet_id = serializers.IntegerField(source="id")
    name = serializers.CharField(source="coupon.coupon_name")
    description = serializers.CharField(source="coupon.description")
    coupon_type = serializers.CharField(source="coupon.coupon_type")
    discount_amount = serializers.IntegerField(source="coupon.discount_amount", allow_null=True)
    discount_rate = serializers.DecimalField(
        source="coupon.discount_rate", max_digits=3, decimal_places=2, allow_null=True
    )
    max_discount_amount = serializers.IntegerField(source="coupon.max_discount_amount", allow_null=True)
    min_order_amount = serializers.IntegerField(source="coupon.min_order_amount")
    usage_type = serializers.CharField(source="coupon.usage_type")
    applicable_shops = serializers.ListField(source="coupon.applicable_shop_ids", child=serializers.IntegerField())
    target_categories = serializers.ListField(source="coupon.target_categories", child=serializers.CharField())
    state = serializers.SerializerMethodField()

    class Meta:
        model = UserCouponWallet
        fields = [
            "wallet_id",
            "coupon_id",
            "name",
            "description",
            "coupon_type",
            "discount_amount",
            "discount_rate",
            "max_discount_amount",
            "min_order_amount",
            "usage_type",
            "applicable_shops",
            "target_categories",
            "status",
            "state",
            "acquisition_source",
            "issued_at",
            "expires_at",
            "used_at",
            "used_shop_id",
            "used_order_amount",
            "discount_applied",
        ]

    def get_state(self, entry) -> str:
        """active / expired / used / cancelled, counting an ACTIVE row past expires_at as expired."""
        if entry.status == WalletStatus.ACTIVE and entry.expires_at <= timezone.now():
            return "expired"
        return entry.status.lower()


class CouponApplySerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1, required=False, help_text="defaults to the caller")
    coupon_id = serializers.CharField(max_length=50)
    shop_id = serializers.IntegerField(min_value=1)
    order_amount = serializers.IntegerField(min_value=1, max_value=MAX_ORDER_AMOUNT)


class CouponApplyResultSerializer(serializers.Serializer):
    wallet_id = serializers.IntegerField()
    coupon_id = serializers.CharField()
    shop_id = serializers.IntegerField()
    order_amount = serializers.IntegerField()
    discount_applied = serializers.IntegerField()
    amount_charged = serializers.IntegerField()
    balance_after = serializers.IntegerField(allow_null=True)
    used_at = serializers.DateTimeField()


class SelectionSerializer(serializers.Serializer):
    shop_id = serializers.IntegerField(min_value=1, required=False)
    menu_id = serializers.IntegerField(min_value=1, required=False)
    time_to_decision_ms = serializers.IntegerField(min_value=0, max_value=MAX_DECISION_MS, required=False)
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)

    def validate(self, attrs):
        if "shop_id" not in attrs and "rating" not in attrs:
            raise serializers.ValidationError(_("Send shop_id (the choice), rating, or both."))
        if "menu_id" in attrs and "shop_id" not in attrs:
            raise serializers.ValidationError(_("menu_id needs shop_id."))
        return attrs


class SelectionResultSerializer(serializers.Serializer):
    recommendation_id = serializers.IntegerField(source="id")
    user_final_selection = serializers.IntegerField(source="user_final_selection_id", allow_null=True)
    selected_menu_id = serializers.IntegerField(allow_null=True)
    time_to_decision_ms = serializers.IntegerField(allow_null=True)
    feedback_rating = serializers.IntegerField(allow_null=True)
    selected_at = serializers.DateTimeField(allow_null=True)


class ClickSerializer(serializers.Serializer):
    shop_id = serializers.IntegerField(min_value=1, help_text="the shop whose card was opened")
    time_to_action_ms = serializers.IntegerField(
        min_value=0, max_value=MAX_DECISION_MS, required=False, help_text="default: time since the recommendation"
    )


class ClickResultSerializer(serializers.Serializer):
    feedback_id = serializers.IntegerField(allow_null=True, help_text="null when training-data collection is off")
    recommendation_id = serializers.IntegerField()
    shop_id = serializers.IntegerField()
    clicked_at = serializers.DateTimeField()
    time_to_action_ms = serializers.IntegerField()
