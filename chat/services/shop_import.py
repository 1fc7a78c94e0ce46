"""Import shops and menus from .xlsx / .csv (seed 003 §7.1).

Shops sheet/file columns: shop_name, category, address_name, road_address_name,
is_good_influence_shop, is_food_card_shop, phone, owner_message, latitude, longitude, data_source,
and per weekday `monday_open`, `monday_close`, `monday_break_start`, `monday_break_end`
(… `sunday_*`); optional `monday_closed` (… `sunday_closed`), `holiday_closed` and `closed_dates`
("2026-02-17, 2026-02-18").
Menus sheet/file columns: shop_name, address_name (which shop), menu_name, price, description,
category, is_available, is_popular, dietary_info, options (JSON).

An .xlsx holds a `shops` sheet (or shops on its first sheet) and optionally a `menus` sheet; a .csv
is one table, recognised as menus when it has a `menu_name` column. UTF-8 (with or without BOM)
and CP949 (Korean Excel exports) are read.

Rules:
- Idempotent: a shop is identified by (shop_name, address_name) and updated when it exists; a menu
  by (shop, menu_name).
- Every bad row is reported with its row number (the spreadsheet's, header = row 1), the column and
  the reason, and skipped; the good rows still land.
- A choice column takes its stored value or the label the admin shows for it (is_food_card_shop Y or
  사용가능, data_source manual or 수동 입력; category and menu category labels are the values, e.g. 한식).
- Business hours: a day with open/close fills that day; `*_closed` = yes or the word 휴무/closed in
  `*_open` closes it; a row with no hour columns at all imports with unknown hours (NULL).
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from chat.models import FoodCardAcceptance, Menu, Shop, ShopCategory
from chat.models.dining import MenuCategory
from chat.services.business_hours import refresh_shop_status
from chat.services.schemas import WEEKDAYS, business_hours_problems, validate_menu_options
from rag.services.text import decoded_text

SHOP_REQUIRED = ("shop_name", "category", "address_name", "latitude", "longitude")
MENU_REQUIRED = ("shop_name", "address_name", "menu_name", "price")
DAY_PARTS = ("open", "close", "break_start", "break_end")
TRUE_WORDS = {"y", "yes", "true", "1", "o", "예", "네", "t"}
FALSE_WORDS = {"n", "no", "false", "0", "x", "아니오", "아니요", "f"}
CLOSED_WORDS = {"휴무", "closed", "휴일", "정기휴무"}
MAX_PRICE = 1_000_000
WRITE_BATCH = 500

SHOP_UPDATE_FIELDS = [
    "category",
    "road_address_name",
    "is_good_influence_shop",
    "is_food_card_shop",
    "business_hours",
    "phone",
    "owner_message",
    "latitude",
    "longitude",
    "data_source",
    "updated_at",
]
MENU_UPDATE_FIELDS = [
    "price",
    "description",
    "category",
    "is_available",
    "is_popular",
    "dietary_info",
    "options",
    "updated_at",
]


class ImportFileError(Exception):
    """The file itself cannot be read (wrong type, no header, missing required columns)."""


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int
    column: str
    reason: str

    def __str__(self):
        where = {"sheet": self.sheet, "row": self.row, "column": self.column or "-", "reason": self.reason}
        return gettext("%(sheet)s row %(row)s, %(column)s: %(reason)s") % where


@dataclass
class ImportReport:
    shops_created: int = 0
    shops_updated: int = 0
    menus_created: int = 0
    menus_updated: int = 0
    rows_read: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows_skipped(self) -> int:
        return len({(error.sheet, error.row) for error in self.errors})

    def summary(self) -> str:
        """Korean, for staff (the admin's import page and `import_shops`)."""
        return ("미리 보기, 저장하지 않음 — " if self.dry_run else "") + (
            f"가게: {self.shops_created}곳 추가, {self.shops_updated}곳 수정; "
            f"메뉴: {self.menus_created}개 추가, {self.menus_updated}개 수정; "
            f"{self.rows_read}행 읽음, {self.rows_skipped}행 건너뜀"
        )


class _RowProblem(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass
class Table:
    name: str  # "shops" or "menus"
    rows: list[tuple[int, dict]]  # (spreadsheet row number, {column: value})


Progress = Callable[[Iterable, str, int], Iterable]


def _no_progress(iterable, desc, total):
    return iterable


# ---------------------------------------------------------------------------------------- reading


def read_tables(source, filename: str) -> list[Table]:
    """The shops/menus tables of an uploaded or local file (path, bytes or binary file object)."""
    suffix = Path(filename).suffix.lower()
    data = _read_bytes(source)
    if suffix == ".xlsx":
        return _read_xlsx(data)
    if suffix == ".csv":
        header, rows = _read_csv(data)
        return [Table("menus" if "menu_name" in header else "shops", rows)]
    raise ImportFileError(gettext("%(filename)s: only .xlsx and .csv files can be imported") % {"filename": filename})


def _read_bytes(source) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes()
    return source.read()


def _normalise_header(values) -> list[str]:
    return [str(value).strip().lower().replace(" ", "_") if value is not None else "" for value in values]


def _table_rows(header: list[str], raw_rows: Iterable[tuple[int, tuple]]) -> list[tuple[int, dict]]:
    rows = []
    for number, values in raw_rows:
        row = {column: value for column, value in zip(header, values, strict=False) if column}
        if all(value is None or str(value).strip() == "" for value in row.values()):
            continue  # blank line
        rows.append((number, row))
    return rows


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    text = decoded_text(data)
    if text is None:
        raise ImportFileError(gettext("the CSV file is not UTF-8, UTF-16 (with a byte-order mark) or CP949 text"))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _normalise_header(next(reader))
    except StopIteration:
        raise ImportFileError(gettext("the CSV file is empty")) from None
    return header, _table_rows(header, ((reader.line_num, tuple(values)) for values in reader))


def _read_xlsx(data: bytes) -> list[Table]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a damaged/non-xlsx file
        raise ImportFileError(gettext("not a readable .xlsx file (%(reason)s)") % {"reason": exc}) from exc
    sheets = {name.strip().lower(): workbook[name] for name in workbook.sheetnames}
    tables = []
    shops_sheet = sheets.get("shops") or (workbook.worksheets[0] if "menus" not in sheets else None)
    for name, sheet in (("shops", shops_sheet), ("menus", sheets.get("menus"))):
        if sheet is None:
            continue
        rows = sheet.iter_rows(values_only=True)
        try:
            header = _normalise_header(next(rows))
        except StopIteration:
            continue
        tables.append(Table(name, _table_rows(header, enumerate(rows, start=2))))
    workbook.close()
    return tables


# ---------------------------------------------------------------------------------------- cleaning


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _too_long(limit: int) -> str:
    return gettext("longer than %(limit)d characters") % {"limit": limit}


def _required_text(row: dict, column: str, max_length: int | None = None) -> str:
    value = _text(row.get(column))
    if not value:
        raise _RowProblem(column, gettext("required"))
    if max_length and len(value) > max_length:
        raise _RowProblem(column, _too_long(max_length))
    return value


def _bool(row: dict, column: str, default: bool) -> bool:
    value = row.get(column)
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _RowProblem(column, gettext("%(value)s is not yes/no (Y/N, TRUE/FALSE, 1/0)") % {"value": repr(text)})


def _decimal(row: dict, column: str, low: int, high: int) -> Decimal:
    text = _text(row.get(column))
    try:
        value = Decimal(text)
    except InvalidOperation:
        reason = gettext("%(value)s is not a number") % {"value": repr(text)} if text else gettext("required")
        raise _RowProblem(column, reason) from None
    if not value.is_finite() or not low <= value <= high:
        raise _RowProblem(column, gettext("Must be between %(low)s and %(high)s.") % {"low": low, "high": high})
    return value.quantize(Decimal("0.00000001"))


def normalise_time(value) -> str | None:
    """'9:00', '09:00', '0900', '09:00:00', an Excel time or '24:00' -> 'HH:MM'; empty -> None.
    Raises ValueError for anything else (range checks are the business-hours validator's)."""
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        return f"{value.hour:02d}:{value.minute:02d}"
    text = _text(value)
    if not text:
        return None
    if text.isdigit() and len(text) in (3, 4):
        text = f"{text[:-2]}:{text[-2:]}"
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and len(hours) <= 2 and minutes[:2].isdigit() and len(minutes) in (2, 5)):
        raise ValueError(gettext("%(value)s is not a HH:MM time") % {"value": repr(text)})
    return f"{int(hours):02d}:{minutes[:2]}"


def _time(row: dict, column: str) -> str | None:
    try:
        return normalise_time(row.get(column))
    except ValueError as exc:
        raise _RowProblem(column, str(exc)) from None


def _business_hours(row: dict) -> dict | None:
    hour_columns = [f"{day}_{part}" for day in WEEKDAYS for part in (*DAY_PARTS, "closed")]
    if not any(_text(row.get(column)) for column in [*hour_columns, "holiday_closed", "closed_dates"]):
        return None
    hours: dict = {}
    for day in WEEKDAYS:
        if _text(row.get(f"{day}_open")).lower() in CLOSED_WORDS or _bool(row, f"{day}_closed", False):
            hours[day] = {"closed": True}
            continue
        entry = {part: value for part in DAY_PARTS if (value := _time(row, f"{day}_{part}")) is not None}
        if entry:
            problems = business_hours_problems({day: entry})
            if problems:
                raise _RowProblem(*problems[0])
            hours[day] = entry
    if _bool(row, "holiday_closed", False):
        hours["holiday"] = {"closed": True}
    dates = [part.strip() for part in _text(row.get("closed_dates")).replace(";", ",").split(",") if part.strip()]
    if dates:
        hours["closed_dates"] = dates
        problems = business_hours_problems({"closed_dates": dates})
        if problems:
            raise _RowProblem(*problems[0])
    return hours


class _RowProblems(Exception):
    """Every problem of one row, so a sheet is fixed in one pass rather than one error per import."""

    def __init__(self, problems: list[_RowProblem]):
        super().__init__("; ".join(problem.reason for problem in problems))
        self.problems = problems


class _RowCheck:
    """Parses each field on its own and collects the problems instead of stopping at the first."""

    def __init__(self):
        self.problems: list[_RowProblem] = []

    def parse(self, parser, *args):
        try:
            return parser(*args)
        except _RowProblem as problem:
            self.problems.append(problem)
            return None

    def fail(self, column: str, reason: str) -> None:
        self.problems.append(_RowProblem(column, reason))

    def result(self, values: dict) -> dict:
        if self.problems:
            raise _RowProblems(self.problems)
        return values


def _choice(check: _RowCheck, column: str, text: str, choices: type[models.Choices], default: str = "") -> str:
    """The stored value of a choice column given as its value (Y, manual) or as the label the admin
    shows (사용가능, 수동 입력), either case; empty gives the default."""
    if not text:
        return default
    values = {key.casefold(): value for value, label in choices.choices for key in (value, str(label))}
    value = values.get(text.casefold())
    if value is None:
        described = ", ".join(f"{value} ({label})" if label != value else value for value, label in choices.choices)
        check.fail(column, gettext("%(value)s is not one of %(choices)s") % {"value": repr(text), "choices": described})
        return text
    return value


def clean_shop_row(row: dict) -> dict:
    """Model field values for one shops row, or raise _RowProblems naming every bad column."""
    check = _RowCheck()
    category = _choice(check, "category", check.parse(_required_text, row, "category"), ShopCategory)
    food_card = _choice(
        check, "is_food_card_shop", _text(row.get("is_food_card_shop")), FoodCardAcceptance, FoodCardAcceptance.UNKNOWN
    )
    data_source = _choice(check, "data_source", _text(row.get("data_source")), Shop.DataSource, Shop.DataSource.MANUAL)
    phone = _text(row.get("phone"))
    if len(phone) > 20:
        check.fail("phone", _too_long(20))
    return check.result(
        {
            "shop_name": check.parse(_required_text, row, "shop_name", 200),
            "category": category,
            "address_name": check.parse(_required_text, row, "address_name"),
            "road_address_name": _text(row.get("road_address_name")),
            "is_good_influence_shop": check.parse(_bool, row, "is_good_influence_shop", False),
            "is_food_card_shop": food_card,
            "business_hours": check.parse(_business_hours, row),
            "phone": phone,
            "owner_message": _text(row.get("owner_message")),
            "latitude": check.parse(_decimal, row, "latitude", -90, 90),
            "longitude": check.parse(_decimal, row, "longitude", -180, 180),
            "data_source": data_source,
        }
    )


def _price(row: dict) -> int:
    price_text = _text(row.get("price")).replace(",", "").removesuffix("원")
    if not price_text:
        raise _RowProblem("price", gettext("required"))
    if not price_text.isdigit():
        raise _RowProblem("price", gettext("%(value)s is not a whole number of won >= 0") % {"value": repr(price_text)})
    if int(price_text) > MAX_PRICE:
        raise _RowProblem("price", gettext("more than %(limit)s won") % {"limit": f"{MAX_PRICE:,}"})
    return int(price_text)


def _options(row: dict):
    options_text = _text(row.get("options"))
    if not options_text:
        return None
    try:
        options = json.loads(options_text)
        validate_menu_options(options)
    except ValueError as exc:
        raise _RowProblem("options", gettext("not JSON: %(reason)s") % {"reason": exc}) from None
    except Exception as exc:  # django ValidationError
        raise _RowProblem("options", "; ".join(getattr(exc, "messages", [str(exc)]))) from None
    return options


def clean_menu_row(row: dict) -> dict:
    """Model field values for one menus row, or raise _RowProblems naming every bad column."""
    check = _RowCheck()
    category = _choice(check, "category", _text(row.get("category")), MenuCategory)
    return check.result(
        {
            "shop_key": (
                check.parse(_required_text, row, "shop_name"),
                check.parse(_required_text, row, "address_name"),
            ),
            "menu_name": check.parse(_required_text, row, "menu_name", 200),
            "price": check.parse(_price, row),
            "description": _text(row.get("description")),
            "category": category,
            "is_available": check.parse(_bool, row, "is_available", True),
            "is_popular": check.parse(_bool, row, "is_popular", False),
            "dietary_info": _text(row.get("dietary_info"))[:200],
            "options": check.parse(_options, row),
        }
    )


# ---------------------------------------------------------------------------------------- writing


def _check_columns(table: Table, required: tuple[str, ...]) -> None:
    present = set().union(*(row.keys() for _, row in table.rows)) if table.rows else set()
    missing = [column for column in required if column not in present]
    if table.rows and missing:
        message = gettext("the %(table)s table lacks the column(s) %(columns)s")
        raise ImportFileError(message % {"table": table.name, "columns": ", ".join(missing)})


def _clean_rows(table: Table, cleaner, key, report: ImportReport, progress: Progress) -> list[tuple[int, dict]]:
    """(row number, cleaned values) of the good rows; bad rows and in-file duplicates go to the report."""
    seen: dict = {}
    good = []
    for number, row in progress(table.rows, gettext("checking %(table)s") % {"table": table.name}, len(table.rows)):
        report.rows_read += 1
        try:
            values = cleaner(row)
        except _RowProblems as bad:
            report.errors.extend(RowError(table.name, number, p.column, p.reason) for p in bad.problems)
            continue
        if key(values) in seen:
            duplicate = gettext("duplicate of row %(row)s") % {"row": seen[key(values)]}
            report.errors.append(RowError(table.name, number, "", duplicate))
            continue
        seen[key(values)] = number
        good.append((number, values))
    return good


def _upsert_shops(rows: list[dict], report: ImportReport) -> None:
    now = timezone.now()
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        names = {row["shop_name"] for row in batch}
        existing = set(Shop.objects.filter(shop_name__in=names).values_list("shop_name", "address_name"))
        shops = [Shop(**row, updated_at=now) for row in batch]
        with transaction.atomic():
            Shop.objects.bulk_create(
                shops,
                update_conflicts=True,
                unique_fields=["shop_name", "address_name"],
                update_fields=SHOP_UPDATE_FIELDS,
            )
        updated = sum((row["shop_name"], row["address_name"]) in existing for row in batch)
        report.shops_updated += updated
        report.shops_created += len(batch) - updated


def _upsert_menus(rows: list[tuple[int, dict]], report: ImportReport) -> None:
    """Menus of known shops (from this import or earlier ones); rows naming an unknown shop are reported."""
    now = timezone.now()
    shop_ids = {}
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        missing_keys = {row["shop_key"] for _, row in batch} - set(shop_ids)
        if missing_keys:
            names = {name for name, _ in missing_keys}
            for shop_id, name, address in Shop.objects.filter(shop_name__in=names).values_list(
                "id", "shop_name", "address_name"
            ):
                shop_ids[(name, address)] = shop_id
        menus = []
        for number, row in batch:
            shop_id = shop_ids.get(row["shop_key"])
            if shop_id is None:
                report.errors.append(
                    RowError("menus", number, "shop_name", gettext("no shop with this shop_name and address_name"))
                )
                continue
            values = {k: v for k, v in row.items() if k != "shop_key"}
            menus.append(Menu(shop_id=shop_id, **values, updated_at=now))
        existing = set(Menu.objects.filter(shop_id__in={m.shop_id for m in menus}).values_list("shop_id", "menu_name"))
        with transaction.atomic():
            Menu.objects.bulk_create(
                menus,
                update_conflicts=True,
                unique_fields=["shop", "menu_name"],
                update_fields=MENU_UPDATE_FIELDS,
            )
        updated = sum((menu.shop_id, menu.menu_name) in existing for menu in menus)
        report.menus_updated += updated
        report.menus_created += len(menus) - updated


def import_tables(tables: list[Table], progress: Progress = _no_progress, *, dry_run: bool = False) -> ImportReport:
    """Shops first (so a menus table can refer to shops of the same import), then menus.

    A dry run does the whole import in a transaction it rolls back: the report says exactly what
    would be created, updated and skipped, and nothing changes."""
    with transaction.atomic():
        report = _import_tables(tables, progress)
        report.dry_run = dry_run
        transaction.set_rollback(dry_run)
    return report


def _import_tables(tables: list[Table], progress: Progress) -> ImportReport:
    report = ImportReport()
    for table in tables:
        _check_columns(table, SHOP_REQUIRED if table.name == "shops" else MENU_REQUIRED)
    for table in (t for t in tables if t.name == "shops"):
        rows = _clean_rows(table, clean_shop_row, lambda v: (v["shop_name"], v["address_name"]), report, progress)
        _upsert_shops([values for _, values in rows], report)
        if rows:
            refresh_shop_status()  # new/changed hours: statuses right now, not at the next minute
    for table in (t for t in tables if t.name == "menus"):
        rows = _clean_rows(table, clean_menu_row, lambda v: (v["shop_key"], v["menu_name"]), report, progress)
        _upsert_menus(rows, report)
    report.errors.sort(key=lambda error: (error.sheet != "shops", error.row))
    return report


def import_files(
    files: list[tuple[object, str]], progress: Progress = _no_progress, *, dry_run: bool = False
) -> ImportReport:
    """Import several files at once, e.g. [(shops.csv path, "shops.csv"), (menus.csv path, "menus.csv")]."""
    tables = [table for source, filename in files for table in read_tables(source, filename)]
    if not tables:
        raise ImportFileError(gettext("nothing to import: no shops or menus table found"))
    return import_tables(tables, progress, dry_run=dry_run)


SHOP_COLUMNS = [
    "shop_name", "category", "address_name", "road_address_name", "is_good_influence_shop", "is_food_card_shop",
    "phone", "owner_message", "latitude", "longitude", "data_source",
    *(f"{day}_{part}" for day in WEEKDAYS for part in (*DAY_PARTS, "closed")),
    "holiday_closed", "closed_dates",
]  # fmt: skip
MENU_COLUMNS = ["shop_name", "address_name", "menu_name", "price", "description", "category", "is_available",
                "is_popular", "dietary_info", "options"]  # fmt: skip
_EXAMPLE_SHOP = {
    "shop_name": "건대분식", "category": ShopCategory.SNACK.value, "address_name": "서울 광진구 화양동 1-1",
    "road_address_name": "서울 광진구 아차산로 1", "is_good_influence_shop": "N", "is_food_card_shop": "Y",
    "phone": "02-000-0000", "latitude": "37.5404", "longitude": "127.0692", "data_source": "manual",
    **{f"{day}_{part}": time for day in WEEKDAYS[:5] for part, time in (("open", "10:00"), ("close", "21:00"))},
    "saturday_open": "11:00", "saturday_close": "20:00", "sunday_closed": "Y", "holiday_closed": "Y",
}  # fmt: skip
_EXAMPLE_MENU = {
    "shop_name": "건대분식", "address_name": "서울 광진구 화양동 1-1", "menu_name": "떡볶이", "price": "4000",
    "category": MenuCategory.MAIN.value, "is_available": "Y", "is_popular": "Y",
    "options": '{"size": [{"name": "곱빼기", "price": 1000}]}',
}  # fmt: skip


def template_workbook() -> bytes:
    """An .xlsx with a `shops` and a `menus` sheet: every column this importer reads and one example row
    each (the example imports cleanly, so the file shows the accepted values)."""
    from openpyxl import Workbook

    workbook = Workbook()
    for sheet, columns, example in (("shops", SHOP_COLUMNS, _EXAMPLE_SHOP), ("menus", MENU_COLUMNS, _EXAMPLE_MENU)):
        worksheet = workbook.active if sheet == "shops" else workbook.create_sheet()
        worksheet.title = sheet
        worksheet.append(columns)
        worksheet.append([example.get(column, "") for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
