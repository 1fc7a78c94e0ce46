"""Data checks of seed 003 §7.2, plus the rules the database cannot enforce (JSON business hours,
coupon counters). `run_checks()` returns one result per check; `manage.py validate_data` prints them.

The seed's queries run as written (table names without the `chatbot.` schema). Several can never
find anything here because a constraint forbids the problem (foreign keys, the unique
(shop_name, address_name), CHECKs on coordinates and expiry); they still run, so that a database
loaded around the constraints (restores, manual SQL) is caught.
"""

from dataclasses import dataclass, field

from django.db import connection

from chat.models import Shop
from chat.services.schemas import business_hours_errors

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    sql: str  # selects the offending rows; the first column identifies each one


@dataclass
class CheckResult:
    name: str
    description: str
    count: int
    samples: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.count == 0


SQL_CHECKS = [
    # 1. 고아 레코드 확인
    Check(
        "orphan_menus",
        "menus whose shop does not exist",
        "SELECT m.id FROM menus m LEFT JOIN shops s ON m.shop_id = s.id WHERE s.id IS NULL",
    ),
    # 2. 중복 데이터 확인
    Check(
        "duplicate_shops",
        "shops sharing shop_name and address_name",
        "SELECT shop_name || ' / ' || address_name || ' x' || COUNT(*) FROM shops "
        "GROUP BY shop_name, address_name HAVING COUNT(*) > 1",
    ),
    # 3. 필수 필드 NULL 체크 (text columns are NOT NULL here; "" is the empty value)
    Check(
        "shops_missing_required",
        "shops without name, category or coordinates",
        "SELECT id FROM shops WHERE shop_name IS NULL OR shop_name = '' OR category IS NULL OR category = '' "
        "OR latitude IS NULL OR longitude IS NULL",
    ),
    # 4. 데이터 범위 검증
    Check(
        "menu_price_out_of_range",
        "menus priced below 0 or above 1,000,000 won",
        "SELECT id FROM menus WHERE price < 0 OR price > 1000000",
    ),
    Check(
        "shop_coordinates_out_of_range",
        "shops with latitude outside -90..90 or longitude outside -180..180",
        "SELECT id FROM shops WHERE latitude NOT BETWEEN -90 AND 90 OR longitude NOT BETWEEN -180 AND 180",
    ),
    Check(
        "wallet_expires_before_issue",
        "wallet coupons expiring before they were issued",
        "SELECT id FROM user_coupon_wallet WHERE expires_at < issued_at",
    ),
    # 5. 참조 무결성 검증
    Check(
        "wallet_dangling_references",
        "wallet coupons whose user or coupon does not exist",
        "SELECT ucw.id FROM user_coupon_wallet ucw LEFT JOIN users u ON ucw.user_id = u.id "
        "LEFT JOIN coupons c ON ucw.coupon_id = c.id WHERE u.id IS NULL OR c.id IS NULL",
    ),
    # Beyond the seed: counters the coupon service keeps must match the wallet.
    Check(
        "coupon_used_counter_drift",
        "coupons whose total_used differs from their USED wallet entries",
        "SELECT c.id || ' total_used=' || c.total_used || ' wallet=' || COUNT(w.id) FROM coupons c "
        "LEFT JOIN user_coupon_wallet w ON w.coupon_id = c.id AND w.status = 'USED' "
        "GROUP BY c.id HAVING c.total_used <> COUNT(w.id)",
    ),
    Check(
        "coupon_issued_counter_low",
        "coupons whose total_issued is lower than their wallet entries",
        "SELECT c.id || ' total_issued=' || c.total_issued || ' wallet=' || COUNT(w.id) FROM coupons c "
        "LEFT JOIN user_coupon_wallet w ON w.coupon_id = c.id "
        "GROUP BY c.id HAVING c.total_issued < COUNT(w.id)",
    ),
    Check(
        "available_shops_without_menus",
        "shops with no available menu (they can never be recommended)",
        "SELECT s.id FROM shops s WHERE NOT EXISTS "
        "(SELECT 1 FROM menus m WHERE m.shop_id = s.id AND m.is_available)",
    ),
]


def _run_sql(check: Check) -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({check.sql}) AS problems")
        count = cursor.fetchone()[0]
        samples = []
        if count:
            cursor.execute(f"SELECT * FROM ({check.sql}) AS problems LIMIT %s", [SAMPLE_SIZE])
            samples = [row[0] for row in cursor.fetchall()]
    return CheckResult(check.name, check.description, count, samples)


def _invalid_business_hours() -> CheckResult:
    """Business hours are JSON validated by forms and the import; rows written around them are found here."""
    bad = []
    rows = Shop.objects.exclude(business_hours__isnull=True).values_list("id", "business_hours")
    for shop_id, hours in rows.iterator(chunk_size=2000):
        errors = business_hours_errors(hours)
        if errors:
            bad.append(f"{shop_id}: {errors[0]}")
    return CheckResult(
        "invalid_business_hours", "shops whose business hours break the §4.3 schema", len(bad), bad[:SAMPLE_SIZE]
    )


def run_checks() -> list[CheckResult]:
    return [*(_run_sql(check) for check in SQL_CHECKS), _invalid_business_hours()]
