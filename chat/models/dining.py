"""Dining assistant tables (seed 003 §3): shops, menus, chat users, meal cards, profiles, coupons,
the coupon wallet, conversations, the recommendation log and performance logs.

Table names follow the seed (`db_table`). Text columns that the seed allows to be NULL are stored as
"" (Django convention); CHECK constraints that name such a column allow "" for "not set".
Geography is latitude/longitude decimals (no PostGIS); distances are haversine in services.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from chat.services.schemas import validate_business_hours, validate_menu_options

ZERO = Decimal("0")
ONE = Decimal("1")


def _between_0_and_1(field: str) -> Q:
    return Q(**{f"{field}__gte": ZERO, f"{field}__lte": ONE})


def _null_or(field: str, condition: Q) -> Q:
    return Q(**{f"{field}__isnull": True}) | condition


class ShopCategory(models.TextChoices):
    KOREAN = "한식", "한식"
    CHINESE = "중식", "중식"
    JAPANESE = "일식", "일식"
    WESTERN = "양식", "양식"
    CHICKEN = "치킨", "치킨"
    PIZZA = "피자", "피자"
    FAST_FOOD = "패스트푸드", "패스트푸드"
    SNACK = "분식", "분식"
    CAFE_DESSERT = "카페/디저트", "카페/디저트"
    LUNCHBOX_PORRIDGE = "도시락/죽", "도시락/죽"
    FRANCHISE = "프랜차이즈", "프랜차이즈"
    OTHER = "기타음식", "기타음식"
    CONVENIENCE = "편의점", "편의점"


class FoodCardAcceptance(models.TextChoices):
    YES = "Y", "사용가능"
    NO = "N", "사용불가"
    PARTIAL = "P", "부분사용가능"
    UNKNOWN = "U", "미확인"


class ShopStatus(models.TextChoices):
    OPEN = "OPEN", "영업 중"
    CLOSED = "CLOSED", "영업 종료"
    BREAK_TIME = "BREAK_TIME", "브레이크 타임"
    UNKNOWN = "UNKNOWN", "알 수 없음"


class Shop(models.Model):
    class DataSource(models.TextChoices):
        MANUAL = "manual", "수동 입력"
        CRAWLED = "crawled", "크롤링"
        API = "api", "API 연동"
        USER_GENERATED = "user_generated", "사용자 등록"

    shop_name = models.CharField("가게 이름", max_length=200)
    category = models.CharField("분류", max_length=100, choices=ShopCategory.choices)
    address_name = models.TextField("지번 주소")
    road_address_name = models.TextField("도로명 주소", blank=True, default="")
    is_good_influence_shop = models.BooleanField("착한가게", default=False)
    is_food_card_shop = models.CharField(
        "급식카드 사용", max_length=1, choices=FoodCardAcceptance.choices, default=FoodCardAcceptance.UNKNOWN
    )
    business_hours = models.JSONField(
        "영업시간",
        null=True,
        blank=True,
        validators=[validate_business_hours],
        help_text='{"monday": {"open": "09:00", "close": "22:00", "break_start": "15:00", "break_end": "17:00"}, '
        '..., "holiday": {"closed": true}}',
    )
    phone = models.CharField("전화번호", max_length=20, blank=True, default="")
    owner_message = models.TextField("사장님 한마디", blank=True, default="")
    latitude = models.DecimalField("위도", max_digits=10, decimal_places=8)
    longitude = models.DecimalField("경도", max_digits=11, decimal_places=8)
    current_status = models.CharField(
        "영업 상태", max_length=20, choices=ShopStatus.choices, default=ShopStatus.UNKNOWN
    )
    popularity_score = models.DecimalField("인기 점수", max_digits=4, decimal_places=3, default=ZERO)
    quality_score = models.DecimalField("품질 점수", max_digits=4, decimal_places=3, default=ZERO)
    recommendation_count = models.IntegerField("추천 횟수", default=0)
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)
    data_source = models.CharField("데이터 출처", max_length=50, choices=DataSource.choices, default=DataSource.MANUAL)

    class Meta:
        verbose_name = "가게"
        verbose_name_plural = "가게"
        db_table = "shops"
        ordering = ["shop_name", "id"]
        constraints = [
            # Import upserts on (shop_name, address_name) (seed §7.1 ON CONFLICT).
            models.UniqueConstraint(fields=["shop_name", "address_name"], name="chat_shop_name_address_uniq"),
            models.CheckConstraint(condition=Q(category__in=ShopCategory.values), name="chat_shop_category_valid"),
            models.CheckConstraint(
                condition=Q(is_food_card_shop__in=FoodCardAcceptance.values), name="chat_shop_food_card_valid"
            ),
            models.CheckConstraint(condition=Q(current_status__in=ShopStatus.values), name="chat_shop_status_valid"),
            models.CheckConstraint(condition=_between_0_and_1("popularity_score"), name="chat_shop_popularity_0_1"),
            models.CheckConstraint(condition=_between_0_and_1("quality_score"), name="chat_shop_quality_0_1"),
            models.CheckConstraint(condition=Q(recommendation_count__gte=0), name="chat_shop_rec_count_gte_0"),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="chat_shop_location_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["category"], name="chat_shop_category_idx"),
            # "only 착한가게" filters and the good-influence preference.
            models.Index(
                fields=["is_good_influence_shop"], condition=Q(is_good_influence_shop=True), name="chat_shop_good_idx"
            ),
            # Meal-card holders: shops where the card may be accepted.
            models.Index(
                fields=["is_food_card_shop"], condition=~Q(is_food_card_shop="N"), name="chat_shop_food_card_idx"
            ),
            # Bounding-box prefilter of the radius search (latitude BETWEEN .. AND longitude BETWEEN ..).
            models.Index(fields=["latitude", "longitude"], name="chat_shop_location_idx"),
            models.Index(F("popularity_score").desc(), name="chat_shop_popularity_idx"),
            models.Index(fields=["current_status"], condition=Q(current_status="OPEN"), name="chat_shop_open_idx"),
            # The seed's gin_trgm_ops index on shop_name needs pg_trgm, which the embedded server lacks;
            # admin search uses icontains on this small table instead.
        ]

    def __str__(self):
        return f"{self.shop_name} ({self.category})"

    @property
    def accepts_food_card(self) -> bool:
        return self.is_food_card_shop in (FoodCardAcceptance.YES, FoodCardAcceptance.PARTIAL)


class MenuCategory(models.TextChoices):
    MAIN = "메인메뉴", "메인메뉴"
    SET = "세트메뉴", "세트메뉴"
    SIDE = "사이드메뉴", "사이드메뉴"
    DRINK = "음료", "음료"
    DESSERT = "디저트", "디저트"
    OTHER = "기타", "기타"


class Menu(models.Model):
    Category = MenuCategory
    shop = models.ForeignKey(Shop, verbose_name="가게", on_delete=models.CASCADE, related_name="menus")
    menu_name = models.CharField("메뉴 이름", max_length=200)
    price = models.IntegerField("가격 (원)")
    description = models.TextField("설명", blank=True, default="")
    category = models.CharField("분류", max_length=100, choices=Category.choices, blank=True, default="")
    is_available = models.BooleanField("판매 중", default=True)
    is_popular = models.BooleanField("인기 메뉴", default=False)
    options = models.JSONField(
        "옵션",
        null=True,
        blank=True,
        validators=[validate_menu_options],
        help_text='{"size": [{"name": "곱빼기", "price": 1000}], "spicy": [...], "extras": [...]}',
    )
    recommendation_frequency = models.IntegerField("추천 횟수", default=0)
    dietary_info = models.CharField("식단 정보", max_length=200, blank=True, default="", help_text="예: 채식,할랄")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)

    class Meta:
        verbose_name = "메뉴"
        verbose_name_plural = "메뉴"
        db_table = "menus"
        ordering = ["shop_id", "price", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "menu_name"], name="chat_menu_shop_name_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="chat_menu_price_gte_0"),
            models.CheckConstraint(
                condition=Q(category__in=[*MenuCategory.values, ""]), name="chat_menu_category_valid"
            ),
            models.CheckConstraint(condition=Q(recommendation_frequency__gte=0), name="chat_menu_rec_freq_gte_0"),
        ]
        indexes = [
            # Candidate search: available menus of nearby shops under a price ceiling.
            models.Index(fields=["shop", "price"], condition=Q(is_available=True), name="chat_menu_avail_price_idx"),
            models.Index(fields=["price"], name="chat_menu_price_idx"),
            models.Index(fields=["is_popular"], condition=Q(is_popular=True), name="chat_menu_popular_idx"),
        ]

    def __str__(self):
        return f"{self.menu_name} {self.price:,}원"


class Platform(models.TextChoices):
    WEB = "web", "웹"
    MOBILE_APP = "mobile_app", "모바일 앱"
    KAKAO = "kakao", "카카오"
    LINE = "line", "라인"
    FACEBOOK = "facebook", "페이스북"
    TEST = "test", "테스트"


class UserStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "활성"
    INACTIVE = "INACTIVE", "비활성"
    SUSPENDED = "SUSPENDED", "정지"
    DELETED = "DELETED", "삭제됨"


class ChatUser(models.Model):
    """An end user of the dining assistant (seed table `users`).

    `auth_user` links the Django account whose token authenticates the API; users reached through
    other platforms (kakao, line...) have only their external id.
    """

    Platform = Platform
    Status = UserStatus
    external_user_id = models.CharField("외부 사용자 ID", max_length=200, unique=True)
    platform = models.CharField("플랫폼", max_length=50, choices=Platform.choices, default=Platform.WEB)
    auth_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="로그인 계정",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_user",
    )
    name = models.CharField("이름", max_length=100, blank=True, default="")
    nickname = models.CharField("닉네임", max_length=100, blank=True, default="")
    email = models.EmailField("이메일", max_length=255, blank=True, default="")
    phone_number = models.CharField("전화번호", max_length=20, blank=True, default="")
    birth_date = models.DateField("생년월일", null=True, blank=True)
    current_address = models.TextField("현재 주소", blank=True, default="")
    preferred_location = models.CharField(
        "선호 지역", max_length=100, blank=True, default="", help_text="예: 강남구, 건국대 근처"
    )
    status = models.CharField("상태", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    terms_agreed_at = models.DateTimeField("약관 동의 시각", null=True, blank=True)
    privacy_agreed_at = models.DateTimeField("개인정보 동의 시각", null=True, blank=True)
    marketing_agreed_at = models.DateTimeField("마케팅 동의 시각", null=True, blank=True)
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)
    last_login_at = models.DateTimeField("마지막 로그인", null=True, blank=True)

    class Meta:
        verbose_name = "챗봇 사용자"
        verbose_name_plural = "챗봇 사용자"
        db_table = "users"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="chat_chatuser_email_uniq"),
            models.CheckConstraint(condition=Q(platform__in=Platform.values), name="chat_chatuser_platform_valid"),
            models.CheckConstraint(condition=Q(status__in=UserStatus.values), name="chat_chatuser_status_valid"),
            models.CheckConstraint(
                condition=Q(email="") | Q(email__regex=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
                name="chat_chatuser_email_format",
            ),
        ]
        indexes = [
            models.Index(fields=["platform"], name="chat_chatuser_platform_idx"),
            models.Index(fields=["status"], condition=Q(status="ACTIVE"), name="chat_chatuser_active_idx"),
        ]

    def __str__(self):
        return self.nickname or self.external_user_id


class CardType(models.TextChoices):
    CHILD = "아동급식카드", "아동급식카드"
    YOUTH = "청소년급식카드", "청소년급식카드"
    VULNERABLE = "취약계층지원카드", "취약계층지원카드"
    OTHER = "기타", "기타"


class AgeGroup(models.TextChoices):
    ELEMENTARY = "초등학생", "초등학생"
    MIDDLE = "중학생", "중학생"
    HIGH = "고등학생", "고등학생"
    UNIVERSITY = "대학생", "대학생"
    YOUNG_ADULT = "청년", "청년"
    OTHER = "기타", "기타"


class CardStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "활성"
    INACTIVE = "INACTIVE", "비활성"
    SUSPENDED = "SUSPENDED", "정지"
    EXPIRED = "EXPIRED", "만료"
    LOST = "LOST", "분실"


class FoodcardUser(models.Model):
    """A user's meal card (급식카드). The balance is synced from the card system; coupon apply debits it."""

    CardType = CardType
    AgeGroup = AgeGroup
    Status = CardStatus
    user = models.OneToOneField(ChatUser, verbose_name="사용자", on_delete=models.CASCADE, related_name="foodcard")
    card_number = models.CharField("카드 번호", max_length=50, blank=True, default="")
    card_type = models.CharField("카드 종류", max_length=30, choices=CardType.choices)
    balance = models.IntegerField("잔액 (원)", default=0, help_text="카드 시스템에서 동기화")
    target_age_group = models.CharField("대상 연령대", max_length=20, choices=AgeGroup.choices)
    status = models.CharField("상태", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    balance_alert_threshold = models.IntegerField("저잔액 알림 기준 (원)", default=5000)
    balance_alert_sent = models.BooleanField("저잔액 알림 보냄", default=False, help_text="매일 초기화")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)
    last_sync_at = models.DateTimeField("마지막 동기화", null=True, blank=True)

    class Meta:
        verbose_name = "급식카드"
        verbose_name_plural = "급식카드"
        db_table = "foodcard_users"
        constraints = [
            models.UniqueConstraint(
                fields=["card_number"], condition=~Q(card_number=""), name="chat_foodcarduser_card_number_uniq"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="chat_foodcarduser_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(balance_alert_threshold__gte=0), name="chat_foodcarduser_threshold_gte_0"
            ),
            models.CheckConstraint(condition=Q(card_type__in=CardType.values), name="chat_foodcarduser_type_valid"),
            models.CheckConstraint(
                condition=Q(target_age_group__in=AgeGroup.values), name="chat_foodcarduser_age_group_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=CardStatus.values), name="chat_foodcarduser_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status"], condition=Q(status="ACTIVE"), name="chat_foodcard_active_idx"),
            # Low-balance targeting (emergency coupons, alerts).
            models.Index(fields=["balance"], condition=Q(balance__lt=5000), name="chat_foodcard_low_balance_idx"),
        ]

    def __str__(self):
        return f"{self.card_type} of {self.user_id} ({self.balance:,}원)"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.ACTIVE


class ConversationStyle(models.TextChoices):
    FRIENDLY = "friendly", "친근하게"
    FORMAL = "formal", "격식 있게"
    CASUAL = "casual", "편하게"
    BRIEF = "brief", "간단하게"


class UserProfile(models.Model):
    ConversationStyle = ConversationStyle
    user = models.OneToOneField(ChatUser, verbose_name="사용자", on_delete=models.CASCADE, related_name="profile")
    preferred_categories = ArrayField(
        models.CharField(max_length=100), verbose_name="선호 분류", default=list, blank=True
    )
    average_budget = models.IntegerField("평균 예산 (원)", null=True, blank=True)
    favorite_shops = ArrayField(
        models.IntegerField(), verbose_name="즐겨찾는 가게", default=list, blank=True, help_text="가게 ID"
    )
    dietary_restrictions = ArrayField(
        models.CharField(max_length=50), verbose_name="식이 제한", default=list, blank=True
    )
    conversation_style = models.CharField(
        "대화 스타일", max_length=20, choices=ConversationStyle.choices, default=ConversationStyle.FRIENDLY
    )
    taste_preferences = models.JSONField("맛 선호", default=dict, blank=True, help_text='{"매운맛": 0.8, "단맛": 0.3}')
    companion_patterns = ArrayField(models.CharField(max_length=50), verbose_name="동행 유형", default=list, blank=True)
    location_preferences = ArrayField(
        models.CharField(max_length=100), verbose_name="선호 지역", default=list, blank=True
    )
    good_influence_preference = models.DecimalField(
        "착한가게 선호도", max_digits=3, decimal_places=2, default=Decimal("0.50")
    )
    interaction_count = models.IntegerField("대화 횟수", default=0)
    data_completeness = models.DecimalField("데이터 완성도", max_digits=3, decimal_places=2, default=Decimal("0.00"))
    recent_orders = models.JSONField("최근 주문", default=list, blank=True, help_text="최근 10건, 최신순")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)

    class Meta:
        verbose_name = "사용자 프로필"
        verbose_name_plural = "사용자 프로필"
        db_table = "user_profiles"
        constraints = [
            models.CheckConstraint(
                condition=Q(conversation_style__in=ConversationStyle.values), name="chat_userprofile_style_valid"
            ),
            models.CheckConstraint(
                condition=_between_0_and_1("good_influence_preference"), name="chat_userprofile_good_pref_0_1"
            ),
            models.CheckConstraint(
                condition=_between_0_and_1("data_completeness"), name="chat_userprofile_completeness_0_1"
            ),
            models.CheckConstraint(condition=Q(interaction_count__gte=0), name="chat_userprofile_interactions_gte_0"),
            models.CheckConstraint(
                condition=_null_or("average_budget", Q(average_budget__gte=0)), name="chat_userprofile_budget_gte_0"
            ),
        ]
        indexes = [
            # preferred_categories @> ARRAY['한식'] (users who like a category: coupons, analytics).
            GinIndex(fields=["preferred_categories"], name="chat_profile_categories_gin"),
            # favorite_shops @> ARRAY[shop_id] (who favours a shop).
            GinIndex(fields=["favorite_shops"], name="chat_profile_favorites_gin"),
            models.Index(
                F("data_completeness").desc(),
                condition=Q(data_completeness__gt=Decimal("0.5")),
                name="chat_profile_completeness_idx",
            ),
        ]

    def __str__(self):
        return f"profile of {self.user_id}"


class CouponQuerySet(models.QuerySet):
    def valid_on(self, day):
        return self.filter(is_active=True, valid_from__lte=day, valid_until__gte=day)


class CouponType(models.TextChoices):
    FIXED_AMOUNT = "FIXED_AMOUNT", "정액 할인"
    PERCENTAGE = "PERCENTAGE", "정률 할인"
    FREEBIE = "FREEBIE", "무료 증정"
    BOGO = "BOGO", "1+1 증정"


class UsageType(models.TextChoices):
    ALL = "ALL", "전체"
    SHOP = "SHOP", "특정 가게"
    CATEGORY = "CATEGORY", "특정 분류"
    FOODCARD = "FOODCARD", "급식카드"
    NEW_USER = "NEW_USER", "신규 사용자"
    LOYALTY = "LOYALTY", "단골"


class Coupon(models.Model):
    CouponType = CouponType
    UsageType = UsageType
    id = models.CharField("쿠폰 코드", max_length=50, primary_key=True, help_text="예: WELCOME3000, FOODCARD20")
    coupon_name = models.CharField("쿠폰 이름", max_length=200)
    description = models.TextField("설명")
    coupon_type = models.CharField("쿠폰 종류", max_length=30, choices=CouponType.choices)
    discount_amount = models.IntegerField("할인 금액", null=True, blank=True, help_text="정액 할인 (원)")
    discount_rate = models.DecimalField(
        "할인율", max_digits=3, decimal_places=2, null=True, blank=True, help_text="정률 할인 0.01-1.00"
    )
    max_discount_amount = models.IntegerField("최대 할인 금액", null=True, blank=True)
    min_order_amount = models.IntegerField("최소 주문 금액", default=0)
    usage_type = models.CharField("사용 범위", max_length=30, choices=UsageType.choices)
    target_categories = ArrayField(models.CharField(max_length=100), verbose_name="대상 분류", default=list, blank=True)
    applicable_shop_ids = ArrayField(models.IntegerField(), verbose_name="적용 가게 ID", default=list, blank=True)
    target_user_types = ArrayField(
        models.CharField(max_length=50), verbose_name="대상 사용자 유형", default=list, blank=True
    )
    valid_from = models.DateField("사용 시작일", default=timezone.localdate)
    valid_until = models.DateField("사용 종료일")
    max_issue_count = models.IntegerField("최대 발급 수", null=True, blank=True, help_text="비우면 무제한")
    max_use_per_user = models.IntegerField("1인당 사용 횟수", default=1)
    total_issued = models.IntegerField("발급 수", default=0)
    total_used = models.IntegerField("사용 수", default=0)
    is_active = models.BooleanField("활성", default=True)
    priority_score = models.DecimalField("우선순위 점수", max_digits=3, decimal_places=2, default=Decimal("0.50"))
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    created_by = models.CharField("만든 사람", max_length=100, blank=True, default="")

    objects = CouponQuerySet.as_manager()

    class Meta:
        verbose_name = "쿠폰"
        verbose_name_plural = "쿠폰"
        db_table = "coupons"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(coupon_type__in=CouponType.values), name="chat_coupon_type_valid"),
            models.CheckConstraint(condition=Q(usage_type__in=UsageType.values), name="chat_coupon_usage_valid"),
            models.CheckConstraint(
                condition=_null_or("discount_amount", Q(discount_amount__gt=0)), name="chat_coupon_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=_null_or("discount_rate", Q(discount_rate__gt=ZERO, discount_rate__lte=ONE)),
                name="chat_coupon_rate_0_1",
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__isnull=False, discount_rate__isnull=True)
                | Q(discount_amount__isnull=True, discount_rate__isnull=False),
                name="chat_coupon_amount_xor_rate",
                violation_error_message="할인 금액과 할인율 중 정확히 하나만 입력하세요.",
            ),
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="chat_coupon_valid_period"),
            models.CheckConstraint(
                condition=Q(min_order_amount__gte=0, total_issued__gte=0, total_used__gte=0, max_use_per_user__gte=1),
                name="chat_coupon_counts_gte_0",
            ),
            models.CheckConstraint(
                condition=_null_or("max_discount_amount", Q(max_discount_amount__gt=0)),
                name="chat_coupon_max_discount_gt_0",
            ),
            # Issuing increments total_issued with a conditional UPDATE; this is the backstop.
            models.CheckConstraint(
                condition=_null_or("max_issue_count", Q(total_issued__lte=F("max_issue_count"))),
                name="chat_coupon_issue_limit",
            ),
            models.CheckConstraint(condition=_between_0_and_1("priority_score"), name="chat_coupon_priority_0_1"),
        ]
        indexes = [
            models.Index(fields=["usage_type"], name="chat_coupon_usage_idx"),
            # Coupons valid today: is_active AND valid_from <= today AND valid_until >= today.
            models.Index(fields=["is_active", "valid_from", "valid_until"], name="chat_coupon_active_idx"),
            # target_categories && ARRAY[category] / applicable_shop_ids && ARRAY[shop_id].
            GinIndex(fields=["target_categories"], name="chat_coupon_categories_gin"),
            GinIndex(fields=["applicable_shop_ids"], name="chat_coupon_shops_gin"),
        ]

    def __str__(self):
        return f"{self.id} {self.coupon_name}"


class WalletStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "사용 가능"
    USED = "USED", "사용함"
    EXPIRED = "EXPIRED", "만료"
    CANCELLED = "CANCELLED", "취소"


class AcquisitionSource(models.TextChoices):
    WELCOME_BONUS = "WELCOME_BONUS", "가입 환영"
    LOYALTY_REWARD = "LOYALTY_REWARD", "단골 보상"
    EMERGENCY_ASSIST = "EMERGENCY_ASSIST", "긴급 지원"
    PROMOTION = "PROMOTION", "프로모션"
    ADMIN_GRANT = "ADMIN_GRANT", "관리자 지급"
    REFERRAL = "REFERRAL", "친구 추천"


class UserCouponWallet(models.Model):
    Status = WalletStatus
    Source = AcquisitionSource
    user = models.ForeignKey(ChatUser, verbose_name="사용자", on_delete=models.CASCADE, related_name="coupon_wallet")
    coupon = models.ForeignKey(Coupon, verbose_name="쿠폰", on_delete=models.PROTECT, related_name="wallet_entries")
    status = models.CharField("상태", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField("발급 시각", default=timezone.now)
    issued_by = models.CharField("발급자", max_length=100, default="SYSTEM")
    acquisition_source = models.CharField("발급 경로", max_length=50, choices=Source.choices)
    acquisition_context = models.JSONField("발급 맥락", default=dict, blank=True)
    used_at = models.DateTimeField("사용 시각", null=True, blank=True)
    used_shop = models.ForeignKey(
        Shop, verbose_name="사용한 가게", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_order_amount = models.IntegerField("주문 금액", null=True, blank=True)
    discount_applied = models.IntegerField("할인액", null=True, blank=True)
    expires_at = models.DateTimeField("만료 시각")
    expiry_notified = models.BooleanField("만료 알림 보냄", default=False)
    usage_probability = models.DecimalField("사용 가능성", max_digits=4, decimal_places=3, default=Decimal("0.500"))
    recommended_usage_date = models.DateField("추천 사용일", null=True, blank=True)

    class Meta:
        verbose_name = "지갑 쿠폰"
        verbose_name_plural = "지갑 쿠폰"
        db_table = "user_coupon_wallet"
        ordering = ["-issued_at", "-id"]
        constraints = [
            # The seed's UNIQUE (user_id, coupon_id, status) would forbid a second EXPIRED or USED copy
            # (e.g. a monthly emergency coupon); what it protects is one *active* copy per user.
            models.UniqueConstraint(
                fields=["user", "coupon"], condition=Q(status="ACTIVE"), name="chat_wallet_one_active_per_user"
            ),
            models.CheckConstraint(condition=Q(status__in=WalletStatus.values), name="chat_wallet_status_valid"),
            models.CheckConstraint(
                condition=Q(acquisition_source__in=AcquisitionSource.values), name="chat_wallet_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="USED", used_at__isnull=False) | (~Q(status="USED") & Q(used_at__isnull=True)),
                name="chat_wallet_used_at_iff_used",
            ),
            models.CheckConstraint(condition=Q(expires_at__gte=F("issued_at")), name="chat_wallet_expires_after_issue"),
            models.CheckConstraint(
                condition=_null_or("discount_applied", Q(discount_applied__gte=0))
                & _null_or("used_order_amount", Q(used_order_amount__gte=0)),
                name="chat_wallet_amounts_gte_0",
            ),
            models.CheckConstraint(condition=_between_0_and_1("usage_probability"), name="chat_wallet_usage_prob_0_1"),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="chat_wallet_user_status_idx"),
            # Daily expiry job: ACTIVE rows with expires_at < now.
            models.Index(fields=["expires_at"], condition=Q(status="ACTIVE"), name="chat_wallet_expires_idx"),
            models.Index(
                F("usage_probability").desc(), condition=Q(status="ACTIVE"), name="chat_wallet_usage_prob_idx"
            ),
        ]

    def __str__(self):
        return f"{self.coupon_id} → {self.user_id} ({self.status})"


class Intent(models.TextChoices):
    FOOD_REQUEST = "FOOD_REQUEST", "음식 요청"
    BUDGET_INQUIRY = "BUDGET_INQUIRY", "예산 문의"
    COUPON_INQUIRY = "COUPON_INQUIRY", "쿠폰 문의"
    LOCATION_INQUIRY = "LOCATION_INQUIRY", "위치 문의"
    TIME_INQUIRY = "TIME_INQUIRY", "영업시간 문의"
    GENERAL_CHAT = "GENERAL_CHAT", "일반 대화"
    MENU_OPTION = "MENU_OPTION", "메뉴 옵션"
    EMERGENCY_FOOD = "EMERGENCY_FOOD", "긴급 식사"
    GROUP_DINING = "GROUP_DINING", "단체 식사"
    BALANCE_CHECK = "BALANCE_CHECK", "잔액 조회"
    BALANCE_CHARGE = "BALANCE_CHARGE", "잔액 충전"
    UNKNOWN = "UNKNOWN", "알 수 없음"


class UserStrategy(models.TextChoices):
    ONBOARDING = "ONBOARDING", "신규 안내"
    DATA_BUILDING = "DATA_BUILDING", "데이터 수집"
    NORMAL = "NORMAL", "일반"
    URGENT = "URGENT", "긴급"


class Conversation(models.Model):
    """One chat turn: what the user said, what the bot answered, NLU results and timings."""

    user = models.ForeignKey(
        ChatUser, verbose_name="사용자", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    session_id = models.UUIDField("세션 ID", default=uuid.uuid4)
    conversation_id = models.UUIDField("대화 ID", default=uuid.uuid4)
    input_text = models.TextField("질문")
    response_text = models.TextField("답변")
    timestamp = models.DateTimeField("시각", default=timezone.now)
    extracted_intent = models.CharField("의도", max_length=50, choices=Intent.choices, blank=True, default="")
    intent_confidence = models.DecimalField("의도 신뢰도", max_digits=4, decimal_places=3, null=True, blank=True)
    extracted_entities = models.JSONField("엔티티", default=dict, blank=True)
    conversation_turn = models.IntegerField("턴", default=1)
    previous_intent = models.CharField("이전 의도", max_length=50, blank=True, default="")
    user_strategy = models.CharField("사용자 전략", max_length=30, choices=UserStrategy.choices, blank=True, default="")
    processing_time_ms = models.IntegerField("처리 시간 (ms)", null=True, blank=True)
    nlu_time_ms = models.IntegerField("NLU 시간 (ms)", null=True, blank=True)
    rag_time_ms = models.IntegerField("RAG 시간 (ms)", null=True, blank=True)
    response_time_ms = models.IntegerField("응답 생성 시간 (ms)", null=True, blank=True)
    response_quality_score = models.DecimalField(
        "응답 품질 점수", max_digits=4, decimal_places=3, null=True, blank=True
    )
    user_satisfaction_inferred = models.DecimalField(
        "추정 만족도", max_digits=4, decimal_places=3, null=True, blank=True
    )
    conversation_coherence = models.DecimalField("대화 일관성", max_digits=4, decimal_places=3, null=True, blank=True)
    recommended_shop_ids = ArrayField(models.IntegerField(), verbose_name="추천한 가게 ID", default=list, blank=True)
    selected_shop = models.ForeignKey(
        Shop, verbose_name="선택한 가게", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_coupon_ids = ArrayField(
        models.CharField(max_length=50), verbose_name="적용한 쿠폰 ID", default=list, blank=True
    )
    model_versions = models.JSONField(
        "모델 버전",
        null=True,
        blank=True,
        help_text="이 턴에 쓰인 모델 버전: {모델 유형: {version_id, version, group}} (ml_training)",
    )

    class Meta:
        verbose_name = "식사 대화"
        verbose_name_plural = "식사 대화"
        db_table = "conversations"
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(extracted_intent__in=[*Intent.values, ""]), name="chat_conversation_intent_valid"
            ),
            models.CheckConstraint(
                condition=Q(user_strategy__in=[*UserStrategy.values, ""]), name="chat_conversation_strategy_valid"
            ),
            models.CheckConstraint(
                condition=_null_or("intent_confidence", _between_0_and_1("intent_confidence")),
                name="chat_conversation_confidence_0_1",
            ),
            models.CheckConstraint(condition=Q(conversation_turn__gte=1), name="chat_conversation_turn_gte_1"),
            # One row per turn of a session; its index also serves the session's lookups (ownership,
            # the next turn number as MAX + 1, see chat/services/turn_log.py).
            models.UniqueConstraint(
                fields=["session_id", "conversation_turn"], name="chat_conversation_session_turn_uniq"
            ),
            models.CheckConstraint(
                condition=_null_or("processing_time_ms", Q(processing_time_ms__gte=0))
                & _null_or("nlu_time_ms", Q(nlu_time_ms__gte=0))
                & _null_or("rag_time_ms", Q(rag_time_ms__gte=0))
                & _null_or("response_time_ms", Q(response_time_ms__gte=0)),
                name="chat_conversation_metrics_gte_0",
            ),
        ]
        indexes = [
            # A user's history, newest first (context, admin, exports).
            models.Index(F("user"), F("timestamp").desc(), name="chat_conv_user_time_idx"),
            models.Index(fields=["extracted_intent"], name="chat_conv_intent_idx"),
            # Date-range admin filters and the daily jobs (the seed's "last 7 days" partial index needs
            # a non-immutable predicate, which PostgreSQL rejects).
            models.Index(fields=["timestamp"], name="chat_conv_timestamp_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.extracted_intent or '?'}: {self.input_text[:40]}"


class RecommendationMethod(models.TextChoices):
    WIDE_DEEP = "WIDE_DEEP", "Wide&Deep 모델"
    RAG = "RAG", "RAG"
    HYBRID = "HYBRID", "혼합"
    EMERGENCY = "EMERGENCY", "긴급"
    COUPON_BASED = "COUPON_BASED", "쿠폰 기반"
    FALLBACK = "FALLBACK", "대체 추천"


class RecommendationLog(models.Model):
    Method = RecommendationMethod
    user = models.ForeignKey(
        ChatUser, verbose_name="사용자", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.OneToOneField(
        Conversation,
        verbose_name="대화",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recommendation_log",
    )
    session_id = models.UUIDField("세션 ID")
    timestamp = models.DateTimeField("시각", default=timezone.now)
    request_intent = models.CharField("요청 의도", max_length=50)
    request_entities = models.JSONField("요청 엔티티", default=dict)
    user_latitude = models.DecimalField("사용자 위도", max_digits=10, decimal_places=8, null=True, blank=True)
    user_longitude = models.DecimalField("사용자 경도", max_digits=11, decimal_places=8, null=True, blank=True)
    recommendations = models.JSONField("추천 목록", default=list)
    recommendation_count = models.IntegerField("추천 수")
    recommendation_method = models.CharField("추천 방식", max_length=50, choices=Method.choices)
    confidence_score = models.DecimalField("신뢰도", max_digits=4, decimal_places=3, null=True, blank=True)
    total_candidates = models.IntegerField("후보 수", null=True, blank=True)
    filtering_steps = models.JSONField("걸러낸 단계", default=dict, blank=True)
    user_viewed_details = ArrayField(models.IntegerField(), verbose_name="상세를 본 가게", default=list, blank=True)
    user_final_selection = models.ForeignKey(
        Shop,
        verbose_name="최종 선택 가게",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="user_final_selection",
        related_name="+",
    )
    selected_menu_id = models.IntegerField("선택한 메뉴 ID", null=True, blank=True)
    selected_at = models.DateTimeField("선택 시각", null=True, blank=True)
    time_to_decision_ms = models.IntegerField("결정까지 걸린 시간 (ms)", null=True, blank=True)
    feedback_rating = models.IntegerField("평점", null=True, blank=True)
    diversity_score = models.DecimalField("다양성 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    personalization_score = models.DecimalField("개인화 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    relevance_score = models.DecimalField("관련성 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    novelty_score = models.DecimalField("새로움 점수", max_digits=4, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = "추천 기록"
        verbose_name_plural = "추천 기록"
        db_table = "recommendations_log"
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recommendation_method__in=RecommendationMethod.values), name="chat_reclog_method_valid"
            ),
            models.CheckConstraint(condition=Q(recommendation_count__gte=0), name="chat_reclog_count_gte_0"),
            models.CheckConstraint(
                condition=_null_or("feedback_rating", Q(feedback_rating__gte=1, feedback_rating__lte=5)),
                name="chat_reclog_rating_1_5",
            ),
            models.CheckConstraint(
                condition=_null_or("time_to_decision_ms", Q(time_to_decision_ms__gte=0)),
                name="chat_reclog_decision_time_gte_0",
            ),
            models.CheckConstraint(
                condition=_null_or("confidence_score", _between_0_and_1("confidence_score")),
                name="chat_reclog_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(F("user"), F("timestamp").desc(), name="chat_reclog_user_time_idx"),
            models.Index(fields=["recommendation_method"], name="chat_reclog_method_idx"),
            # CTR / training export: logs where the user picked something.
            models.Index(
                fields=["user_final_selection"],
                condition=Q(user_final_selection__isnull=False),
                name="chat_reclog_selection_idx",
            ),
            models.Index(fields=["timestamp"], name="chat_reclog_timestamp_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.recommendation_method} x{self.recommendation_count}"


class PerformanceLog(models.Model):
    """Timings of one operation (seed §5.2 step 20), e.g. a chat turn, with the slowest component."""

    operation_type = models.CharField("작업 유형", max_length=50)
    conversation = models.ForeignKey(
        Conversation,
        verbose_name="대화",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="performance_logs",
    )
    total_time_ms = models.IntegerField("전체 시간 (ms)")
    nlu_time_ms = models.IntegerField("NLU 시간 (ms)", null=True, blank=True)
    rag_time_ms = models.IntegerField("RAG 시간 (ms)", null=True, blank=True)
    recommendation_time_ms = models.IntegerField("추천 시간 (ms)", null=True, blank=True)
    response_time_ms = models.IntegerField("응답 생성 시간 (ms)", null=True, blank=True)
    bottleneck_component = models.CharField("병목 구성 요소", max_length=50, blank=True, default="")
    error_type = models.CharField("오류 유형", max_length=100, blank=True, default="")
    created_at = models.DateTimeField("생성 시각", default=timezone.now)

    class Meta:
        verbose_name = "성능 기록"
        verbose_name_plural = "성능 기록"
        db_table = "performance_logs"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_time_ms__gte=0)
                & _null_or("nlu_time_ms", Q(nlu_time_ms__gte=0))
                & _null_or("rag_time_ms", Q(rag_time_ms__gte=0))
                & _null_or("recommendation_time_ms", Q(recommendation_time_ms__gte=0))
                & _null_or("response_time_ms", Q(response_time_ms__gte=0)),
                name="chat_perflog_times_gte_0",
            ),
        ]
        indexes = [
            # Dashboards: latency per operation over time; errors only.
            models.Index(fields=["operation_type", "-created_at"], name="chat_perflog_op_time_idx"),
            models.Index(fields=["error_type"], condition=~Q(error_type=""), name="chat_perflog_errors_idx"),
        ]

    def __str__(self):
        return f"{self.operation_type} {self.total_time_ms} ms"
