"""Demo data for `make run` (dining, seed 003): 320 shops over all 13 categories around 건대입구 and
강남역 with menus, varied business hours (breaks, closed days, late nights, 24 h), meal-card flags
Y/N/P/U; chat users with profiles and meal cards; coupons of every type and a few wallet entries.

Deterministic (a seeded random generator) and idempotent: rows are identified by their natural keys
(shop name + address, shop + menu name, external user id, coupon id) and only missing ones are
inserted, in bulk; running it again changes nothing.
"""

import datetime as dt
import math
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from chat.models import (
    AcquisitionSource,
    ChatUser,
    Coupon,
    CouponType,
    FoodcardUser,
    Menu,
    Shop,
    ShopCategory,
    UsageType,
    UserCouponWallet,
    UserProfile,
)
from chat.services.business_hours import refresh_shop_status
from chat.services.coupons import SYSTEM_COUPONS, ensure_system_coupon, issue_coupon
from chat.services.schemas import WEEKDAYS
from config.api.exceptions import ApiError

SEED = 3003
SHOPS_PER_AREA = 160
USER_COUNT = 24

AREAS = [
    # name, centre, district, dongs (지번), roads (도로명)
    ("건대", (37.5404, 127.0692), "광진구", ["화양동", "자양동", "구의동"],
     ["아차산로", "능동로", "동일로", "광나루로"]),
    ("강남", (37.4979, 127.0276), "강남구", ["역삼동", "논현동", "서초동"],
     ["강남대로", "테헤란로", "봉은사로", "서초대로"]),
]

SHOP_NAMES = {
    "한식": ["엄마손밥상", "고향집", "청년밥상", "장터국밥", "순두부명가", "김치찌개마을", "비빔당", "한옥식당",
             "소문난백반"],
    "중식": ["홍콩반점", "만리장성", "진짜루", "북경", "차이나타운", "황금성", "용궁"],
    "일식": ["카츠야", "멘야", "스시하나", "돈부리집", "우동명가", "이자카야 하루"],
    "양식": ["파스타공방", "더키친", "브런치하우스", "오므라이스랩", "수제버거클럽", "리틀이태리"],
    "치킨": ["바삭치킨", "치킨마루", "꼬꼬닭", "동네통닭", "크리스피치킨", "양념반반"],
    "피자": ["피자스쿨", "화덕피자", "피자마루", "도우앤치즈", "반올림피자"],
    "패스트푸드": ["버거팩토리", "퀵버거", "맘스키친버거", "해피버거", "핫도그스탠드"],
    "분식": ["김밥천국", "떡볶이공장", "국대떡볶이", "분식나라", "엄마김밥", "튀김왕"],
    "카페/디저트": ["카페봄", "달콤와플", "빈스커피", "디저트39", "카페온", "스무디킹덤"],
    "도시락/죽": ["한솥도시락", "본죽", "도시락연구소", "죽이야기", "컵밥하우스"],
    "프랜차이즈": ["이삭토스트", "써브웨이", "공차", "맘스터치", "봉구스밥버거"],
    "기타음식": ["포메인", "분짜라붐", "탄탄면공방", "마라탕하우스", "케밥스토리", "타코벨리"],
    "편의점": ["CU", "GS25", "세븐일레븐", "이마트24", "미니스톱"],
}

# (menu name, price in won, menu category); each shop gets 4-7 of its category's menus.
MENUS = {
    "한식": [("김치찌개", 8000, "메인메뉴"), ("된장찌개", 8000, "메인메뉴"), ("제육볶음", 9000, "메인메뉴"),
             ("비빔밥", 8500, "메인메뉴"), ("순두부찌개", 8500, "메인메뉴"), ("불고기백반", 10000, "세트메뉴"),
             ("계란말이", 5000, "사이드메뉴"), ("공기밥", 1000, "사이드메뉴")],
    "중식": [("짜장면", 6000, "메인메뉴"), ("짬뽕", 7500, "메인메뉴"), ("볶음밥", 7500, "메인메뉴"),
             ("잡채밥", 8500, "메인메뉴"), ("탕수육(소)", 15000, "세트메뉴"), ("군만두", 5000, "사이드메뉴"),
             ("마파두부밥", 8000, "메인메뉴")],
    "일식": [("돈카츠", 9500, "메인메뉴"), ("규동", 8000, "메인메뉴"), ("연어덮밥", 12000, "메인메뉴"),
             ("우동", 7000, "메인메뉴"), ("냉모밀", 7500, "메인메뉴"), ("초밥 10피스", 13000, "세트메뉴"),
             ("가라아게", 6000, "사이드메뉴")],
    "양식": [("까르보나라", 12000, "메인메뉴"), ("토마토파스타", 11000, "메인메뉴"), ("버섯리조또", 12500, "메인메뉴"),
             ("함박스테이크", 11000, "메인메뉴"), ("수제버거", 9500, "메인메뉴"), ("리코타샐러드", 8500, "사이드메뉴"),
             ("오므라이스", 9000, "메인메뉴")],
    "치킨": [("후라이드치킨", 18000, "메인메뉴"), ("양념치킨", 19000, "메인메뉴"), ("간장치킨", 19000, "메인메뉴"),
             ("순살치킨", 20000, "메인메뉴"), ("치킨버거", 5500, "메인메뉴"), ("닭강정 컵", 4500, "사이드메뉴"),
             ("콜라 1.25L", 2500, "음료")],
    "피자": [("치즈피자 R", 14000, "메인메뉴"), ("페퍼로니피자 R", 16000, "메인메뉴"),
             ("콤비네이션피자 R", 18000, "메인메뉴"), ("포테이토피자 L", 22000, "메인메뉴"),
             ("조각피자", 3500, "메인메뉴"), ("치즈스틱", 4000, "사이드메뉴"), ("콜라 500ml", 2000, "음료")],
    "패스트푸드": [("불고기버거", 4500, "메인메뉴"), ("치즈버거", 4000, "메인메뉴"), ("새우버거", 5000, "메인메뉴"),
                   ("불고기버거 세트", 7500, "세트메뉴"), ("감자튀김", 2000, "사이드메뉴"),
                   ("치킨너겟 4조각", 3000, "사이드메뉴"), ("콜라", 1800, "음료")],
    "분식": [("떡볶이", 4000, "메인메뉴"), ("김밥", 3000, "메인메뉴"), ("참치김밥", 4000, "메인메뉴"),
             ("라면", 4000, "메인메뉴"), ("쫄면", 6000, "메인메뉴"), ("모둠튀김", 3000, "사이드메뉴"),
             ("순대", 4000, "사이드메뉴"), ("어묵", 2000, "사이드메뉴")],
    "카페/디저트": [("아메리카노", 2500, "음료"), ("카페라떼", 3500, "음료"), ("딸기스무디", 4500, "음료"),
                    ("와플", 4000, "디저트"), ("조각케이크", 5500, "디저트"), ("크로플", 3500, "디저트"),
                    ("햄치즈샌드위치", 5500, "메인메뉴")],
    "도시락/죽": [("치킨마요도시락", 4500, "메인메뉴"), ("제육도시락", 5500, "메인메뉴"),
                  ("돈까스도시락", 6000, "메인메뉴"), ("야채죽", 8000, "메인메뉴"), ("소불고기죽", 9000, "메인메뉴"),
                  ("전복죽", 12000, "메인메뉴"), ("김치볶음밥", 5000, "메인메뉴")],
    "프랜차이즈": [("햄치즈토스트", 3500, "메인메뉴"), ("베이컨토스트", 4200, "메인메뉴"),
                   ("에그마요 샌드위치", 5500, "메인메뉴"), ("버블티", 4000, "음료"), ("밥버거", 3500, "메인메뉴"),
                   ("싸이버거 세트", 7900, "세트메뉴"), ("컵밥", 4500, "메인메뉴")],
    "기타음식": [("쌀국수", 9500, "메인메뉴"), ("분짜", 11000, "메인메뉴"), ("팟타이", 10000, "메인메뉴"),
                 ("마라탕", 10000, "메인메뉴"), ("치킨케밥", 8500, "메인메뉴"), ("타코 2개", 7000, "메인메뉴"),
                 ("월남쌈", 6000, "사이드메뉴")],
    "편의점": [("삼각김밥", 1200, "메인메뉴"), ("편의점 도시락", 4500, "메인메뉴"), ("컵라면", 1500, "메인메뉴"),
               ("샌드위치", 2800, "메인메뉴"), ("주먹밥", 1500, "메인메뉴"), ("바나나우유", 1700, "음료"),
               ("핫바", 2500, "사이드메뉴")],
}  # fmt: skip

MENU_OPTIONS = {
    "중식": {"size": [{"name": "보통", "price": 0}, {"name": "곱빼기", "price": 1000}]},
    "분식": {"spicy": [{"name": "순한맛", "price": 0}, {"name": "매운맛", "price": 0}],
             "extras": [{"name": "치즈추가", "price": 1000}, {"name": "계란추가", "price": 500}]},
    "치킨": {"extras": [{"name": "치즈볼", "price": 3000}], "spicy": [{"name": "순한맛", "price": 0}]},
    "한식": {"extras": [{"name": "밥추가", "price": 1000}]},
}  # fmt: skip


def _days(open_, close, brk=None, closed=()):
    hours = {}
    for day in WEEKDAYS:
        if day in closed:
            hours[day] = {"closed": True}
        else:
            hours[day] = {"open": open_, "close": close}
            if brk:
                hours[day] |= {"break_start": brk[0], "break_end": brk[1]}
    return hours


HOURS_PATTERNS = {
    "lunch_dinner_break": _days("11:00", "21:00", ("15:00", "17:00"), closed=("sunday",)),
    "all_day": _days("10:00", "22:00"),
    "all_day_holiday_closed": {**_days("09:00", "21:00", ("14:30", "16:00")), "holiday": {"closed": True}},
    "weekdays_lunch": _days("11:00", "15:00", closed=("saturday", "sunday")),
    "late_night": _days("16:00", "02:00", closed=("monday",)),
    "cafe": {**_days("08:00", "22:00"), "saturday": {"open": "10:00", "close": "23:00"},
             "sunday": {"open": "10:00", "close": "23:00"}},
    "always": _days("00:00", "24:00"),
    "closed_tuesday": _days("10:30", "21:30", ("15:30", "16:30"), closed=("tuesday",)),
}  # fmt: skip
CATEGORY_HOURS = {"편의점": "always", "치킨": "late_night", "피자": "late_night", "카페/디저트": "cafe"}
GENERAL_HOURS = ["lunch_dinner_break", "all_day", "all_day_holiday_closed", "weekdays_lunch", "closed_tuesday"]
CARD_FLAGS = ["Y"] * 9 + ["P"] * 3 + ["N"] * 5 + ["U"] * 3
OWNER_MESSAGES = ["급식카드 환영합니다!", "학생 손님은 곱빼기 무료예요.", "매일 아침 직접 만든 반찬으로 준비합니다.",
                  "착한가격 지키겠습니다.", "", "", ""]  # fmt: skip


def _point_near(rng: random.Random, centre: tuple[float, float], radius_m: float) -> tuple[Decimal, Decimal]:
    distance = radius_m * math.sqrt(rng.random())
    angle = rng.random() * 2 * math.pi
    lat = centre[0] + distance * math.cos(angle) / 111_320
    lng = centre[1] + distance * math.sin(angle) / (111_320 * math.cos(math.radians(centre[0])))
    return Decimal(f"{lat:.8f}"), Decimal(f"{lng:.8f}")


def _vary(rng: random.Random, price: int) -> int:
    """Shops differ a little in price: ±1,000원 in 500원 steps (±200원 in 100원 steps below 3,000원)."""
    step = 100 if price < 3000 else 500
    return price + step * rng.randint(-2, 2)


def build_shops(rng: random.Random) -> list[tuple[Shop, list[Menu]]]:
    """The demo shops with their menus (unsaved), always the same for the same seed."""
    categories = list(ShopCategory.values)
    shops = []
    for area, centre, district, dongs, roads in AREAS:
        for index in range(SHOPS_PER_AREA):
            category = categories[index % len(categories)]
            stem = SHOP_NAMES[category][(index // len(categories)) % len(SHOP_NAMES[category])]
            branch = index // (len(categories) * len(SHOP_NAMES[category]))
            name = f"{stem} {area}{'' if branch == 0 else branch + 1}점"
            number = 100 + index
            pattern = CATEGORY_HOURS.get(category) or rng.choice(GENERAL_HOURS)
            hours = None if rng.random() < 0.03 else HOURS_PATTERNS[pattern]
            latitude, longitude = _point_near(rng, centre, 1200)
            shop = Shop(
                shop_name=name,
                category=category,
                address_name=f"서울 {district} {rng.choice(dongs)} {number}-{rng.randint(1, 40)}",
                road_address_name=f"서울 {district} {rng.choice(roads)} {rng.randint(1, 300)}",
                is_good_influence_shop=rng.random() < 0.2,
                is_food_card_shop=rng.choice(CARD_FLAGS),
                business_hours=hours,
                phone=f"02-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                owner_message=rng.choice(OWNER_MESSAGES),
                latitude=latitude,
                longitude=longitude,
                popularity_score=Decimal(f"{rng.uniform(0.1, 0.95):.3f}"),
                quality_score=Decimal(f"{rng.uniform(0.3, 0.95):.3f}"),
                data_source=Shop.DataSource.MANUAL,
            )
            choices = rng.sample(MENUS[category], k=min(len(MENUS[category]), rng.randint(4, 7)))
            menus = [
                Menu(
                    menu_name=menu_name,
                    price=_vary(rng, price),
                    category=menu_category,
                    is_available=rng.random() > 0.05,
                    is_popular=rng.random() < 0.2,
                    options=MENU_OPTIONS.get(category) if menu_category == "메인메뉴" else None,
                )
                for menu_name, price, menu_category in choices
            ]
            shops.append((shop, menus))
    return shops


def _coupons(today: dt.date, shop_ids: list[int]) -> list[Coupon]:
    until = today + dt.timedelta(days=365)
    since = today - dt.timedelta(days=7)
    common = {"valid_from": since, "valid_until": until, "created_by": "demo"}
    return [
        Coupon(id="LUNCH1000", coupon_name="점심 1,000원 할인", description="5,000원 이상 주문 시 1,000원 할인",
               coupon_type=CouponType.FIXED_AMOUNT, discount_amount=1000, min_order_amount=5000,
               usage_type=UsageType.ALL, **common),
        Coupon(id="FOODCARD10", coupon_name="급식카드 10% 할인", description="급식카드 결제 시 10% 할인 (최대 2,000원)",
               coupon_type=CouponType.PERCENTAGE, discount_rate=Decimal("0.10"), max_discount_amount=2000,
               usage_type=UsageType.FOODCARD, target_user_types=["foodcard"], priority_score=Decimal("0.80"),
               **common),
        Coupon(id="FREE_DRINK", coupon_name="음료 한 잔 무료",
               description="분식·패스트푸드 주문 시 음료 무료 (2,000원 상당)",
               coupon_type=CouponType.FREEBIE, discount_amount=2000, min_order_amount=4000,
               usage_type=UsageType.CATEGORY, target_categories=["분식", "패스트푸드"], **common),
        Coupon(id="BOGO_CHICKEN", coupon_name="치킨 1+1", description="치킨 두 마리 주문 시 한 마리 값 할인",
               coupon_type=CouponType.BOGO, discount_rate=Decimal("0.50"), max_discount_amount=20000,
               min_order_amount=30000, usage_type=UsageType.CATEGORY, target_categories=["치킨"],
               max_issue_count=500, **common),
        Coupon(id="KONDAE_SHOP2000", coupon_name="건대 착한가게 2,000원", description="지정 가게에서 2,000원 할인",
               coupon_type=CouponType.FIXED_AMOUNT, discount_amount=2000, usage_type=UsageType.SHOP,
               applicable_shop_ids=shop_ids, **common),
        Coupon(id="LOYALTY15", coupon_name="단골 15% 할인", description="자주 오는 친구를 위한 15% 할인 (최대 3,000원)",
               coupon_type=CouponType.PERCENTAGE, discount_rate=Decimal("0.15"), max_discount_amount=3000,
               usage_type=UsageType.LOYALTY, target_user_types=["vip"], max_use_per_user=3, **common),
    ]  # fmt: skip


def _users(rng: random.Random) -> list[tuple[ChatUser, dict, dict | None]]:
    platforms = ["web", "mobile_app", "kakao", "kakao", "line", "mobile_app"]
    card_types = list(FoodcardUser.CardType.values)
    ages = ["초등학생", "중학생", "고등학생", "청년"]
    categories = list(ShopCategory.values)
    users = []
    for number in range(1, USER_COUNT + 1):
        user = ChatUser(
            external_user_id=f"demo:{number:03d}",
            platform=platforms[number % len(platforms)],
            nickname=f"데모친구{number}",
            preferred_location=rng.choice(["건대입구", "강남역", "건국대 근처", ""]),
        )
        profile = {
            "preferred_categories": rng.sample(categories, k=rng.randint(0, 3)),
            "average_budget": rng.choice([None, 5000, 7000, 8000, 10000]),
            "conversation_style": rng.choice(["friendly", "casual", "brief", "formal"]),
            "taste_preferences": {"매운맛": round(rng.random(), 2)},
            "companion_patterns": rng.sample(["혼자", "친구", "가족"], k=rng.randint(0, 2)),
            "location_preferences": rng.sample(["건대", "강남"], k=rng.randint(0, 1)),
            "good_influence_preference": Decimal(f"{rng.uniform(0.2, 0.9):.2f}"),
            "interaction_count": rng.randint(0, 40),
            "data_completeness": Decimal(f"{rng.uniform(0, 1):.2f}"),
        }
        card = None
        if number <= 18:  # most demo users hold a meal card; some run low (emergency-coupon scenario)
            card = {
                "card_number": f"9410-{number:04d}-{rng.randint(1000, 9999)}",
                "card_type": card_types[number % len(card_types)],
                "target_age_group": ages[number % len(ages)],
                "balance": 3000 if number % 6 == 0 else rng.randrange(5000, 60000, 500),
                "status": "SUSPENDED" if number == 17 else "ACTIVE",
            }
        users.append((user, profile, card))
    return users


def load(stdout) -> None:
    started = timezone.now()
    rng = random.Random(SEED)
    with transaction.atomic():
        shop_count, menu_count = _load_shops(rng)
        user_count = _load_users(rng)
        coupon_count, wallet_count = _load_coupons()
    changed = refresh_shop_status()
    elapsed = (timezone.now() - started).total_seconds()
    stdout.write(
        f"  dining: {shop_count} shops, {menu_count} menus, {user_count} users, {coupon_count} coupons, "
        f"{wallet_count} wallet entries added; {changed} shop statuses refreshed ({elapsed:.1f} s)"
    )


def _load_shops(rng: random.Random) -> tuple[int, int]:
    built = build_shops(rng)
    existing = dict(
        ((name, address), pk)
        for pk, name, address in Shop.objects.filter(shop_name__in={shop.shop_name for shop, _ in built}).values_list(
            "id", "shop_name", "address_name"
        )
    )
    new_shops = [shop for shop, _ in built if (shop.shop_name, shop.address_name) not in existing]
    Shop.objects.bulk_create(new_shops, batch_size=500)
    for shop in new_shops:
        existing[(shop.shop_name, shop.address_name)] = shop.pk
    menus = []
    for shop, shop_menus in built:
        shop_id = existing[(shop.shop_name, shop.address_name)]
        for menu in shop_menus:
            menu.shop_id = shop_id
            menus.append(menu)
    before = Menu.objects.filter(shop_id__in=existing.values()).count()
    Menu.objects.bulk_create(menus, batch_size=1000, ignore_conflicts=True)
    after = Menu.objects.filter(shop_id__in=existing.values()).count()
    return len(new_shops), after - before


def _load_users(rng: random.Random) -> int:
    specs = _users(rng)
    existing = set(
        ChatUser.objects.filter(external_user_id__in=[u.external_user_id for u, _, _ in specs]).values_list(
            "external_user_id", flat=True
        )
    )
    new = [user for user, _, _ in specs if user.external_user_id not in existing]
    ChatUser.objects.bulk_create(new)
    ids = dict(ChatUser.objects.filter(external_user_id__startswith="demo:").values_list("external_user_id", "id"))
    UserProfile.objects.bulk_create(
        [UserProfile(user_id=ids[user.external_user_id], **profile) for user, profile, _ in specs],
        ignore_conflicts=True,
    )
    FoodcardUser.objects.bulk_create(
        [FoodcardUser(user_id=ids[user.external_user_id], **card) for user, _, card in specs if card],
        ignore_conflicts=True,
    )
    return len(new)


def _load_coupons() -> tuple[int, int]:
    today = timezone.localdate()
    for coupon_id in SYSTEM_COUPONS:  # welcome (NEW_USER) and emergency coupons of the coupon service
        ensure_system_coupon(coupon_id)
    shop_ids = list(
        Shop.objects.filter(address_name__contains="광진구", is_good_influence_shop=True)
        .order_by("id")
        .values_list("id", flat=True)[:10]
    )
    coupons = _coupons(today, shop_ids)
    known = set(Coupon.objects.filter(pk__in=[c.pk for c in coupons]).values_list("pk", flat=True))
    Coupon.objects.bulk_create([c for c in coupons if c.pk not in known])

    # A few wallet entries, issued through the coupon service (so counters stay right), once.
    if UserCouponWallet.objects.filter(user__external_user_id__startswith="demo:").exists():
        return len(coupons) - len(known), 0
    grants = [("demo:001", "LUNCH1000"), ("demo:001", "FOODCARD10"), ("demo:002", "FREE_DRINK"),
              ("demo:003", "BOGO_CHICKEN"), ("demo:004", "KONDAE_SHOP2000"), ("demo:005", "LOYALTY15"),
              ("demo:006", "FOODCARD10"), ("demo:007", "WELCOME3000")]  # fmt: skip
    users = {user.external_user_id: user for user in ChatUser.objects.filter(external_user_id__startswith="demo:")}
    coupons_by_id = Coupon.objects.in_bulk([coupon_id for _, coupon_id in grants])
    issued = 0
    for external_id, coupon_id in grants:
        source = AcquisitionSource.WELCOME_BONUS if coupon_id == "WELCOME3000" else AcquisitionSource.PROMOTION
        try:
            issue_coupon(users[external_id], coupons_by_id[coupon_id], source=source, issued_by="demo",
                         context={"campaign_id": "demo"})  # fmt: skip
        except ApiError:
            continue
        issued += 1
    return len(coupons) - len(known), issued
