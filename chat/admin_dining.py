"""Django admin for the dining tables (seed 003 §3): shops with menus and a business-hours editor,
users with cards and profiles, coupons with issued/used counts, the wallet, and the read-only logs
(conversations, recommendations, performance). Imported at the bottom of chat/admin.py.

Rules stay in services: the actions call chat.services.dining_ops / dining_jobs / shop_import.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from chat.models import (
    ChatUser,
    Conversation,
    Coupon,
    FoodcardUser,
    Intent,
    Menu,
    PerformanceLog,
    RecommendationLog,
    Shop,
    UserCouponWallet,
    UserProfile,
    UserStrategy,
    WalletStatus,
)
from chat.services import dining_jobs, dining_ops
from chat.services.schemas import WEEKDAYS, business_hours_problems
from chat.services.shop_import import (
    ImportFileError,
    import_files,
    normalise_time,
    template_workbook,
)
from config.admin_tools import LargeTablePaginator, ReadOnlyAdmin, pretty_json

# --------------------------------------------------------------------------------------- shared bits


class ChatUserIdFilter(admin.SimpleListFilter):
    """ "Which user?" as a small input box (a list of every user would not fit)."""

    title = "사용자 ID"
    parameter_name = "chat_user"
    template = "admin/chat/input_filter.html"

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True

    def choices(self, changelist):
        """One "choice" for the template: the current value and the other filters to keep."""
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "hidden": [(key, value) for key, value in changelist.params.items() if key != self.parameter_name],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isascii() and value.isdigit():  # "²".isdigit() is True, int("²") fails
            return queryset.filter(user_id=int(value))
        return queryset.filter(user__external_user_id=value)


class IntentFilter(admin.SimpleListFilter):
    """Intent choices from the taxonomy (no DISTINCT scan of a big log table)."""

    title = "의도"
    parameter_name = "intent"
    field = "extracted_intent"

    def lookups(self, request, model_admin):
        return Intent.choices

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class RequestIntentFilter(IntentFilter):
    field = "request_intent"


class StrategyFilter(admin.SimpleListFilter):
    """The user strategy of the turn that produced the recommendation."""

    title = "사용자 전략"
    parameter_name = "strategy"

    def lookups(self, request, model_admin):
        return UserStrategy.choices

    def queryset(self, request, queryset):
        return queryset.filter(conversation__user_strategy=self.value()) if self.value() else queryset


class HasMealCardFilter(admin.EmptyFieldListFilter):
    """Users with or without a meal card (a reverse relation has no verbose name to title the filter)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "급식카드"


def _short(text: str, length: int = 50) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class ReadableJSONField(forms.JSONField):
    """JSON indented and fully visible in the form (Django's default is one long line)."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


READABLE_JSON = {models.JSONField: {"form_class": ReadableJSONField, "widget": forms.Textarea(attrs={"rows": 6})}}


ENTITY_LABELS = {
    "budget": "예산 (원)",
    "food_type": "음식",
    "category": "분류",
    "location": "장소",
    "companions": "동행",
    "companion_count": "동행 수",
    "meal_time": "식사 시간",
    "menu_options": "메뉴 옵션",
    "urgency": "긴급도",
}


def labelled_fields(values: dict, labels: dict) -> str:
    """A dict as label: value lines; keys without a value are left out, unknown keys keep their name."""
    empty = (None, "", [], {})
    rows = [(labels.get(key, key), value) for key, value in _in_label_order(values, labels) if value not in empty]
    if not rows:
        return "—"
    return format_html(
        '<dl class="labelled-fields">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", ((label, _plain(value)) for label, value in rows)),
    )


STEP_LABELS = {
    "budget": "예산",
    "category": "분류",
    "food_card_only": "급식카드 가맹점만",
    "price_ceiling": "가격 상한",
    "radius_m": "반경 (m)",
    "shops_in_box": "범위 안 가게",
    "outside_radius": "반경 밖",
    "closed_shops": "영업 안 함",
    "menus": "살펴본 메뉴",
    "over_budget_menus": "예산 초과 메뉴",
}


def filtering_steps_list(steps: dict) -> str:
    """The recommender's filtering as a short list: the query, then one line per search radius tried."""
    steps = dict(steps or {})
    radius_steps = steps.pop("radius_steps", [])
    lines = [labelled_fields(steps, STEP_LABELS)] if steps else []
    for step in radius_steps:
        parts = (f"{STEP_LABELS.get(key, key)} {_plain(value)}" for key, value in _in_label_order(step, STEP_LABELS))
        lines.append(", ".join(parts))
    if not lines:
        return "—"
    items = format_html_join("", "<li>{}</li>", ((line,) for line in lines))
    return format_html('<ol class="filtering-steps">{}</ol>', items)


def _in_label_order(values: dict, labels: dict) -> list[tuple]:
    """JSONB does not keep key order: show known keys in the labels' order, then the rest by name."""
    order = {key: index for index, key in enumerate(labels)}
    return sorted((values or {}).items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _plain(value) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={_plain(item)}" for key, item in value.items())
    if isinstance(value, bool):
        return "예" if value else "아니오"
    return str(value)


# --------------------------------------------------------------------------------------- shops


DAY_LABELS = {
    "monday": "월요일",
    "tuesday": "화요일",
    "wednesday": "수요일",
    "thursday": "목요일",
    "friday": "금요일",
    "saturday": "토요일",
    "sunday": "일요일",
    "holiday": "공휴일",
}
HOURS_DAYS = (*WEEKDAYS, "holiday")
HOURS_PARTS = ("open", "close", "break_start", "break_end")
HOURS_ROWS = [tuple(f"{day}_{part}" for part in (*HOURS_PARTS, "closed")) for day in HOURS_DAYS]
SHOP_MAIN_FIELDS = ["shop_name", "category", "is_food_card_shop", "is_good_influence_shop", "data_source"]
SHOP_ADDRESS_FIELDS = ["address_name", "road_address_name", ("latitude", "longitude"), "phone", "owner_message"]
SHOP_FORM_FIELDS = [*SHOP_MAIN_FIELDS, "address_name", "road_address_name", "latitude", "longitude", "phone",
                    "owner_message"]  # fmt: skip


def _time_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "HH:MM", "size": 6}),
    )


class _ShopFormBase(forms.ModelForm):
    """The shop form with business hours as one line per day (open, close, break, closed) instead
    of raw JSON. Reads and writes `business_hours`; checked with the §4.3 business-hours validator.

    A day left empty is "not listed" (closed that day when other days are listed); every day empty
    means unknown hours (NULL)."""

    closed_dates = forms.CharField(
        required=False,
        label="휴무일",
        help_text="요일과 따로 쉬는 날 (명절, 휴가): YYYY-MM-DD, 쉼표로 구분.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    class Meta:
        model = Shop
        fields = SHOP_FORM_FIELDS  # business_hours is edited through the per-day fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hours = self.instance.business_hours or {}
        for day in HOURS_DAYS:
            entry = hours.get(day) or {}
            self.initial.setdefault(f"{day}_closed", entry.get("closed") is True)
            for part in HOURS_PARTS:
                self.initial.setdefault(f"{day}_{part}", entry.get(part, ""))
        self.initial.setdefault("closed_dates", ", ".join(hours.get("closed_dates") or []))

    def clean(self):
        cleaned = super().clean()
        hours: dict = {}
        for day in HOURS_DAYS:
            if cleaned.get(f"{day}_closed"):
                hours[day] = {"closed": True}
                continue
            entry = {}
            for part in HOURS_PARTS:
                name = f"{day}_{part}"
                try:
                    value = normalise_time(cleaned.get(name))
                except ValueError as exc:
                    self.add_error(name, str(exc))
                    continue
                if value:
                    entry[part] = value
            if entry:
                hours[day] = entry
        dates = [d.strip() for d in (cleaned.get("closed_dates") or "").split(",") if d.strip()]
        if dates:
            hours["closed_dates"] = dates
        if self.errors:
            return cleaned
        for field, message in business_hours_problems(hours):
            self.add_error(field if field in self.fields else None, message)
        self.instance.business_hours = hours or None
        return cleaned


def _business_hours_fields() -> dict:
    """One line per day in the form: open, close, break from, break to, closed."""
    fields = {}
    for day in HOURS_DAYS:
        fields[f"{day}_open"] = _time_field(f"{DAY_LABELS[day]} 여는 시각")
        fields[f"{day}_close"] = _time_field("닫는 시각")
        fields[f"{day}_break_start"] = _time_field("휴게 시작")
        fields[f"{day}_break_end"] = _time_field("휴게 끝")
        fields[f"{day}_closed"] = forms.BooleanField(label="휴무", required=False)
    return fields


ShopAdminForm = type("ShopAdminForm", (_ShopFormBase,), {"__module__": __name__, **_business_hours_fields()})


class MenuInline(admin.TabularInline):
    model = Menu
    formfield_overrides = READABLE_JSON
    extra = 0
    fields = ["menu_name", "price", "category", "is_available", "is_popular", "dietary_info", "options"]
    show_change_link = True


class ShopImportForm(forms.Form):
    shops_file = forms.FileField(
        label="가게 파일 (.xlsx 또는 .csv)", help_text=".xlsx에는 'menus' 시트도 넣을 수 있습니다."
    )
    menus_file = forms.FileField(label="메뉴 파일 (.csv, 선택)", required=False)
    dry_run = forms.BooleanField(
        label="미리 보기 (저장하지 않음)", required=False, initial=True,
        help_text="무엇이 생기고 바뀌고 건너뛰어질지 보여 주기만 합니다. 확인한 뒤 이 칸을 끄고 다시 올리세요.",
    )  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        for name in ("shops_file", "menus_file"):
            upload = cleaned.get(name)
            if upload and not upload.name.lower().endswith((".xlsx", ".csv")):
                self.add_error(name, ".xlsx와 .csv 파일만 가져올 수 있습니다.")
        return cleaned


class BusinessHoursKnownFilter(admin.SimpleListFilter):
    """Shops with unknown hours are never recommended: staff need to find and fix them."""

    title = "영업시간"
    parameter_name = "hours"

    def lookups(self, request, model_admin):
        return [("unknown", "모름 (추천되지 않음)"), ("known", "입력됨")]

    def queryset(self, request, queryset):
        if self.value() == "unknown":
            return queryset.filter(business_hours__isnull=True)
        if self.value() == "known":
            return queryset.filter(business_hours__isnull=False)
        return queryset


@admin.display(description="영업시간", boolean=True, ordering="business_hours")
def hours_known(shop: Shop) -> bool:
    return shop.business_hours is not None


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    form = ShopAdminForm
    change_list_template = "admin/chat/shop/change_list.html"
    list_display = [
        "shop_name",
        "category",
        "is_food_card_shop",
        "is_good_influence_shop",
        "current_status",
        hours_known,
        "popularity_score",
        "menu_count",
        "recommendation_count",
    ]
    list_filter = ["category", "is_food_card_shop", "is_good_influence_shop", "current_status",
                   BusinessHoursKnownFilter, "data_source"]  # fmt: skip
    search_fields = ["shop_name", "address_name", "road_address_name", "phone"]
    readonly_fields = [
        "current_status",
        "popularity_score",
        "quality_score",
        "recommendation_count",
        "business_hours_json",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": SHOP_MAIN_FIELDS}),
        ("주소와 연락처", {"fields": SHOP_ADDRESS_FIELDS}),
        (
            "영업시간 (Asia/Seoul; 닫는 시각이 여는 시각보다 이르면 자정 넘어 닫음)",
            {"fields": [*HOURS_ROWS, "closed_dates"]},
        ),
        (
            "자동 계산",
            {
                "classes": ["collapse"],
                "fields": ["current_status", "popularity_score", "quality_score", "recommendation_count",
                           "business_hours_json", "created_at", "updated_at"],
            },
        ),
    ]  # fmt: skip
    inlines = [MenuInline]
    actions = ["mark_closed_today", "recompute_popularity"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(menu_total=Count("menus"))

    @admin.display(description="메뉴 수", ordering="menu_total")
    def menu_count(self, obj):
        return obj.menu_total

    @admin.display(description="영업시간 (저장된 JSON)")
    def business_hours_json(self, obj):
        if not obj.business_hours:
            return "— (영업시간 모름: 추천되지 않음)"
        return format_html("<pre>{}</pre>", json.dumps(obj.business_hours, ensure_ascii=False, indent=1))

    @admin.action(description="선택한 가게를 오늘 남은 시간 동안 영업 종료로 표시")
    def mark_closed_today(self, request, queryset):
        count = dining_ops.close_shops_today(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"가게 {count}곳을 내일까지 영업 종료로 표시했습니다.", messages.SUCCESS)

    @admin.action(description="선택한 가게의 인기 점수 다시 계산 (최근 7일 추천 기준)")
    def recompute_popularity(self, request, queryset):
        count = dining_jobs.recompute_popularity(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"가게 {count}곳의 인기 점수를 다시 계산했습니다.", messages.SUCCESS)

    def get_urls(self):
        custom = [
            path("import/", self.admin_site.admin_view(self.import_view), name="chat_shop_import"),
            path(
                "import/template.xlsx",
                self.admin_site.admin_view(self.import_template_view),
                name="chat_shop_import_template",
            ),
        ]
        return custom + super().get_urls()

    def import_template_view(self, request):
        """The file to fill in: every column the importer reads, with one example shop and menu."""
        response = HttpResponse(
            template_workbook(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="shops_import_template.xlsx"'
        return response

    def import_view(self, request):
        """Upload shops (and menus) and show the per-row error report of the import service."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:chat_shop_changelist"))
        report = None
        form = ShopImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            files = [
                (upload, upload.name)
                for upload in (form.cleaned_data["shops_file"], form.cleaned_data.get("menus_file"))
                if upload
            ]
            try:
                report = import_files(files, dry_run=form.cleaned_data["dry_run"])
            except ImportFileError as exc:
                form.add_error(None, str(exc))
            else:
                level = messages.WARNING if report.errors else messages.SUCCESS
                self.message_user(request, f"가져오기 완료: {report.summary()}", level)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "가게와 메뉴 가져오기",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/chat/shop/import.html", context)


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin):
    formfield_overrides = READABLE_JSON
    list_display = ["menu_name", "shop", "price", "category", "is_available", "is_popular", "recommendation_frequency"]
    list_filter = ["category", "is_available", "is_popular", "shop__category"]
    list_editable = ["is_available"]
    list_select_related = ["shop"]
    search_fields = ["menu_name", "shop__shop_name"]
    raw_id_fields = ["shop"]
    readonly_fields = ["recommendation_frequency", "created_at", "updated_at"]


# --------------------------------------------------------------------------------------- users


@admin.display(description="카드 번호")
def masked_card_number(card: FoodcardUser) -> str:
    number = card.card_number
    return "—" if not number else "*" * max(0, len(number) - 4) + number[-4:]


class FoodcardForm(forms.ModelForm):
    """The card number is never sent to the browser: staff see it masked and may type a new one."""

    new_card_number = forms.CharField(
        label="새 카드 번호",
        required=False,
        max_length=50,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="비워 두면 저장된 번호를 그대로 둡니다.",
    )

    class Meta:
        model = FoodcardUser
        fields = ["user", "card_type", "balance", "target_age_group", "status", "balance_alert_threshold"]

    def save(self, commit=True):
        new_number = self.cleaned_data.get("new_card_number", "").strip()
        if new_number:
            self.instance.card_number = new_number
        return super().save(commit)


class FoodcardInline(admin.StackedInline):
    model = FoodcardUser
    form = FoodcardForm
    extra = 0
    readonly_fields = [masked_card_number, "balance_alert_sent", "last_sync_at", "created_at", "updated_at"]


@admin.display(description="최근 주문")
def readable_recent_orders(profile: UserProfile) -> str:
    return pretty_json(profile.recent_orders)


PROFILE_READONLY = ["interaction_count", "data_completeness", readable_recent_orders, "created_at", "updated_at"]


class ProfileInline(admin.StackedInline):
    model = UserProfile
    formfield_overrides = READABLE_JSON
    exclude = ["recent_orders"]
    extra = 0
    readonly_fields = PROFILE_READONLY


class IssueCouponForm(forms.Form):
    coupon = forms.ModelChoiceField(
        queryset=Coupon.objects.filter(is_active=True), label="쿠폰", help_text="활성 쿠폰만 보입니다."
    )
    note = forms.CharField(
        required=False, max_length=200, label="메모", help_text="발급 이유 (지갑 쿠폰의 발급 맥락에 남습니다)."
    )


def report_grant(model_admin, request, coupon, result) -> None:
    """Say how many got the coupon and why each of the others did not; a run that issued nothing is a warning."""
    if result.issued:
        model_admin.message_user(request, f"쿠폰 {coupon.pk}: {result.issued}명에게 발급했습니다.", messages.SUCCESS)
    else:
        model_admin.message_user(request, f"쿠폰 {coupon.pk}: 아무에게도 발급하지 못했습니다.", messages.WARNING)
    for reason, external_ids in result.skipped_by_reason().items():
        shown = ", ".join(external_ids[:20]) + (f" 외 {len(external_ids) - 20}명" if len(external_ids) > 20 else "")
        model_admin.message_user(request, f"건너뜀 {len(external_ids)}명 ({reason}): {shown}", messages.WARNING)


@admin.register(ChatUser)
class ChatUserAdmin(admin.ModelAdmin):
    list_display = ["external_user_id", "nickname", "platform", "status", "card_balance", "created_at", "last_login_at"]
    list_filter = ["platform", "status", ("foodcard", HasMealCardFilter)]
    list_select_related = ["foodcard"]
    search_fields = ["=id", "external_user_id", "nickname", "email"]
    raw_id_fields = ["auth_user"]
    readonly_fields = ["created_at", "updated_at", "last_login_at"]
    inlines = [FoodcardInline, ProfileInline]
    actions = ["issue_coupon"]

    @admin.display(description="급식카드", ordering="foodcard__balance")
    def card_balance(self, obj):
        card = getattr(obj, "foodcard", None)
        return f"{card.balance:,}원 ({card.get_status_display()})" if card else "—"

    @admin.action(description="선택한 사용자에게 쿠폰 발급…")
    def issue_coupon(self, request, queryset):
        """Intermediate page: choose the coupon, then issue it through the coupon service."""
        form = IssueCouponForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            result = dining_ops.grant_coupon(
                form.cleaned_data["coupon"],
                queryset.order_by("pk"),
                issued_by=request.user.get_username(),
                note=form.cleaned_data["note"],
            )
            report_grant(self, request, form.cleaned_data["coupon"], result)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "쿠폰 발급",
            "form": form,
            "users": queryset.order_by("pk")[:200],
            "user_count": queryset.count(),
            "selected_ids": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_name": "issue_coupon",
        }
        return TemplateResponse(request, "admin/chat/chatuser/issue_coupon.html", context)


@admin.register(FoodcardUser)
class FoodcardUserAdmin(admin.ModelAdmin):
    form = FoodcardForm
    list_display = ["user", "card_type", masked_card_number, "balance", "status", "balance_alert_threshold",
                    "balance_alert_sent", "last_sync_at"]  # fmt: skip
    list_filter = ["card_type", "target_age_group", "status", "balance_alert_sent"]
    list_select_related = ["user"]
    search_fields = ["user__external_user_id", "user__nickname", "=card_number"]
    raw_id_fields = ["user"]
    readonly_fields = [masked_card_number, "balance_alert_sent", "last_sync_at", "created_at", "updated_at"]


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "preferred_categories", "average_budget", "conversation_style", "interaction_count",
                    "data_completeness", "updated_at"]  # fmt: skip
    list_filter = ["conversation_style"]
    list_select_related = ["user"]
    search_fields = ["user__external_user_id", "user__nickname"]
    raw_id_fields = ["user"]
    formfield_overrides = READABLE_JSON
    exclude = ["recent_orders"]
    readonly_fields = PROFILE_READONLY


# --------------------------------------------------------------------------------------- coupons


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["id", "coupon_name", "coupon_type", "usage_type", "discount", "valid_from", "valid_until",
                    "is_active", "issued_count", "used_count", "max_issue_count"]  # fmt: skip
    list_filter = ["coupon_type", "usage_type", "is_active", "valid_until"]
    search_fields = ["id", "coupon_name", "description"]
    readonly_fields = ["total_issued", "total_used", "issued_count", "used_count", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                wallet_issued=Count("wallet_entries"),
                wallet_used=Count("wallet_entries", filter=Q(wallet_entries__status=WalletStatus.USED)),
            )
        )

    @admin.display(description="발급", ordering="wallet_issued")
    def issued_count(self, obj):
        return obj.wallet_issued

    @admin.display(description="사용", ordering="wallet_used")
    def used_count(self, obj):
        return obj.wallet_used

    @admin.display(description="할인")
    def discount(self, obj):
        if obj.discount_rate is not None:
            cap = f" (최대 {obj.max_discount_amount:,}원)" if obj.max_discount_amount else ""
            return f"{obj.discount_rate * 100:.0f}%{cap}"
        return f"{obj.discount_amount:,}원" if obj.discount_amount else "—"


@admin.register(UserCouponWallet)
class UserCouponWalletAdmin(admin.ModelAdmin):
    """Wallet rows are created by the coupon service (chat, welcome/emergency grants, the ChatUser
    "issue a coupon" action); here staff look them up and cancel."""

    list_display = ["id", "user", "coupon", "status", "acquisition_source", "issued_at", "expires_at", "used_at",
                    "discount_applied"]  # fmt: skip
    list_filter = ["status", "acquisition_source", "coupon", ("issued_at", admin.DateFieldListFilter)]
    list_select_related = ["user", "coupon"]
    search_fields = ["=user__external_user_id", "=coupon__id"]
    raw_id_fields = ["user", "used_shop"]
    date_hierarchy = "issued_at"
    paginator = LargeTablePaginator
    show_full_result_count = False
    readonly_fields = ["user", "coupon", "status", "issued_at", "issued_by", "acquisition_source",
                       "acquisition_context", "used_at", "used_shop", "used_order_amount", "discount_applied",
                       "expires_at", "expiry_notified", "usage_probability"]  # fmt: skip
    actions = ["cancel_coupons"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="선택한 쿠폰 중 사용 가능한 것 취소")
    def cancel_coupons(self, request, queryset):
        count = queryset.filter(status=WalletStatus.ACTIVE).update(status=WalletStatus.CANCELLED)
        if count:
            self.message_user(request, f"쿠폰 {count}장을 취소했습니다.", messages.SUCCESS)
        else:
            self.message_user(request, "선택한 쿠폰 중 사용 가능한 것이 없어 취소한 것이 없습니다.", messages.WARNING)


# --------------------------------------------------------------------------------------- logs


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "user", "extracted_intent", "intent_confidence", "short_input", "short_answer",
                    "processing_time_ms"]  # fmt: skip
    list_filter = [IntentFilter, "user_strategy", ("timestamp", admin.DateFieldListFilter), ChatUserIdFilter]
    list_select_related = ["user"]
    search_fields = ["=session_id", "=conversation_id", "input_text"]
    date_hierarchy = "timestamp"
    fieldsets = [
        (None, {"fields": ["timestamp", "user", "session_id", "conversation_turn", "input_text", "response_text"]}),
        ("이해한 내용", {"fields": ["extracted_intent", "intent_confidence", "previous_intent", "entities",
                                 "user_strategy"]}),
        ("추천", {"fields": ["recommended_shop_ids", "selected_shop", "applied_coupon_ids"]}),
        ("시간 (ms)", {"fields": ["processing_time_ms", "nlu_time_ms", "rag_time_ms", "response_time_ms"]}),
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "entities"]

    @admin.display(description="질문")
    def short_input(self, obj):
        return _short(obj.input_text)

    @admin.display(description="답변")
    def short_answer(self, obj):
        return _short(obj.response_text, 60)

    @admin.display(description="추출한 엔티티")
    def entities(self, obj):
        return labelled_fields(obj.extracted_entities, ENTITY_LABELS)


@admin.register(RecommendationLog)
class RecommendationLogAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "user", "request_intent", "recommendation_method", "strategy",
                    "recommendation_count", "total_candidates", "user_final_selection", "feedback_rating"]  # fmt: skip
    list_filter = [
        RequestIntentFilter,
        "recommendation_method",
        StrategyFilter,
        ("timestamp", admin.DateFieldListFilter),
        ChatUserIdFilter,
        ("user_final_selection", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["user", "conversation", "user_final_selection"]
    search_fields = ["=session_id"]
    date_hierarchy = "timestamp"
    fieldsets = [
        (None, {"fields": ["timestamp", "user", "session_id", "conversation", "request_intent", "entities"]}),
        ("추천한 가게", {"fields": ["shops_table", "recommendation_method", "total_candidates", "steps"]}),
        ("사용자 선택", {"fields": ["user_final_selection", "selected_menu_id", "selected_at", "time_to_decision_ms",
                                 "feedback_rating"]}),
        ("점수", {"classes": ["collapse"], "fields": ["confidence_score", "diversity_score", "user_latitude",
                                                    "user_longitude"]}),
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "entities", "shops_table", "steps"]

    @admin.display(description="사용자 전략")
    def strategy(self, obj):
        return (obj.conversation.get_user_strategy_display() or "—") if obj.conversation else "—"

    @admin.display(description="요청 엔티티")
    def entities(self, obj):
        return labelled_fields(obj.request_entities, ENTITY_LABELS)

    @admin.display(description="추천 목록")
    def shops_table(self, obj):
        shops = [
            {**item, "url": reverse("admin:chat_shop_change", args=[item["shop_id"]]) if item.get("shop_id") else ""}
            for item in obj.recommendations or []
        ]
        return render_to_string("admin/chat/recommendationlog/shops_table.html", {"shops": shops})

    @admin.display(description="걸러낸 단계")
    def steps(self, obj):
        return filtering_steps_list(obj.filtering_steps)


@admin.register(PerformanceLog)
class PerformanceLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "operation_type", "total_time_ms", "nlu_time_ms", "rag_time_ms",
                    "recommendation_time_ms", "response_time_ms", "bottleneck_component", "error_type"]  # fmt: skip
    list_filter = ["bottleneck_component", ("error_type", admin.EmptyFieldListFilter),
                   ("created_at", admin.DateFieldListFilter)]  # fmt: skip
    list_select_related = ["conversation"]
    search_fields = ["operation_type", "error_type"]
    date_hierarchy = "created_at"
