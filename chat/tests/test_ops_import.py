"""Shop/menu import (seed 003 §7.1): CSV and XLSX, idempotent upserts, bad rows reported and skipped."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from chat.models import Menu, Shop, ShopCategory, ShopStatus
from chat.services.shop_import import ImportFileError, import_files

pytestmark = pytest.mark.django_db

SHOP_COLUMNS = [
    "shop_name", "category", "address_name", "road_address_name", "is_good_influence_shop", "is_food_card_shop",
    "phone", "owner_message", "latitude", "longitude",
    "monday_open", "monday_close", "monday_break_start", "monday_break_end",
    "tuesday_open", "tuesday_close", "sunday_open", "sunday_close", "sunday_closed",
]  # fmt: skip
MENU_COLUMNS = ["shop_name", "address_name", "menu_name", "price", "category", "options"]


def shop_row(name="건대김밥", **values):
    row = {
        "shop_name": name, "category": "분식", "address_name": f"서울 광진구 화양동 {name}",
        "road_address_name": "서울 광진구 아차산로 1", "is_good_influence_shop": "Y", "is_food_card_shop": "Y",
        "phone": "02-123-4567", "owner_message": "", "latitude": "37.5404", "longitude": "127.0692",
        "monday_open": "9:00", "monday_close": "21:00", "monday_break_start": "15:00", "monday_break_end": "16:00",
        "tuesday_open": "09:00", "tuesday_close": "21:00", "sunday_open": "", "sunday_close": "", "sunday_closed": "Y",
    }  # fmt: skip
    return {**row, **values}


def csv_bytes(columns, rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(shops, menus=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "shops"
    sheet.append(SHOP_COLUMNS)
    for row in shops:
        sheet.append([row.get(column) for column in SHOP_COLUMNS])
    if menus is not None:
        menu_sheet = workbook.create_sheet("menus")
        menu_sheet.append(MENU_COLUMNS)
        for row in menus:
            menu_sheet.append([row.get(column) for column in MENU_COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_csv_import_creates_shops_with_business_hours_from_day_columns():
    report = import_files([(csv_bytes(SHOP_COLUMNS, [shop_row()]), "shops.csv")])

    shop = Shop.objects.get(shop_name="건대김밥")
    assert report.shops_created == 1 and not report.errors
    assert shop.is_food_card_shop == "Y" and shop.is_good_influence_shop is True
    assert shop.business_hours == {
        "monday": {"open": "09:00", "close": "21:00", "break_start": "15:00", "break_end": "16:00"},
        "tuesday": {"open": "09:00", "close": "21:00"},
        "sunday": {"closed": True},
    }
    assert shop.current_status != ShopStatus.UNKNOWN  # status computed right after the import


def test_a_csv_saved_as_utf16_by_a_windows_program_is_imported():
    data = csv_bytes(SHOP_COLUMNS, [shop_row()]).decode("utf-8-sig").encode("utf-16")  # with its byte-order mark

    report = import_files([(data, "shops.csv")])

    assert (report.shops_created, report.errors) == (1, [])
    assert Shop.objects.get().shop_name == "건대김밥"


def test_reimport_updates_the_same_shop_instead_of_duplicating():
    import_files([(csv_bytes(SHOP_COLUMNS, [shop_row()]), "shops.csv")])

    report = import_files([(csv_bytes(SHOP_COLUMNS, [shop_row(phone="02-999-9999")]), "shops.csv")])

    assert (report.shops_created, report.shops_updated) == (0, 1)
    assert Shop.objects.filter(shop_name="건대김밥").count() == 1
    assert Shop.objects.get(shop_name="건대김밥").phone == "02-999-9999"


def test_bad_rows_are_reported_with_row_column_reason_and_good_rows_still_land():
    rows = [
        shop_row("좋은가게1"),
        shop_row("나쁜카테고리", category="한정식"),
        shop_row("좋은가게2"),
        shop_row("나쁜위도", latitude="137.5"),
        shop_row("나쁜시간", monday_close="25:99"),
        shop_row("나쁜휴게", monday_break_start="22:00", monday_break_end="23:00"),
        shop_row("", category="한식"),
        shop_row("나쁜카드", is_food_card_shop="Q"),
    ]

    report = import_files([(csv_bytes(SHOP_COLUMNS, rows), "shops.csv")])

    assert set(Shop.objects.values_list("shop_name", flat=True)) == {"좋은가게1", "좋은가게2"}
    found = {(error.row, error.column) for error in report.errors}
    assert found == {
        (3, "category"),
        (5, "latitude"),
        (6, "monday_close"),
        (7, "monday_break_start"),
        (8, "shop_name"),
        (9, "is_food_card_shop"),
    }
    assert all(error.reason for error in report.errors)
    assert report.rows_skipped == 6


@pytest.mark.parametrize("column", ["category", "is_food_card_shop", "data_source"])
def test_a_shop_choice_column_accepts_every_label_the_admin_shows_for_it(column):
    choices = Shop._meta.get_field(column).choices
    rows = [shop_row(f"라벨가게{number}", **{column: label}) for number, (_, label) in enumerate(choices)]

    report = import_files([(csv_bytes([*SHOP_COLUMNS, "data_source"], rows), "shops.csv")])

    assert report.errors == []
    assert dict(Shop.objects.values_list("shop_name", column)) == {
        f"라벨가게{number}": value for number, (value, _) in enumerate(choices)
    }


def test_a_shop_choice_column_still_accepts_the_stored_value():
    row = shop_row("값가게", is_food_card_shop="p", data_source="crawled")

    report = import_files([(csv_bytes([*SHOP_COLUMNS, "data_source"], [row]), "shops.csv")])

    assert report.errors == []
    assert Shop.objects.values_list("is_food_card_shop", "data_source").get() == ("P", "crawled")


def test_a_menu_category_is_accepted_as_the_label_the_admin_shows():
    shop = import_files([(csv_bytes(SHOP_COLUMNS, [shop_row()]), "shops.csv")])
    labels = [label for _, label in Menu._meta.get_field("category").choices]
    where = {"shop_name": "건대김밥", "address_name": "서울 광진구 화양동 건대김밥", "price": "3000"}
    menus = [{**where, "menu_name": f"메뉴{number}", "category": label} for number, label in enumerate(labels)]

    report = import_files([(csv_bytes(MENU_COLUMNS, menus), "menus.csv")])

    assert shop.errors == [] and report.errors == []
    assert sorted(Menu.objects.values_list("category", flat=True)) == sorted(labels)


def test_duplicate_rows_inside_one_file_are_reported():
    report = import_files([(csv_bytes(SHOP_COLUMNS, [shop_row(), shop_row(phone="1")]), "shops.csv")])

    assert [(error.row, error.reason) for error in report.errors] == [(3, "2행과 중복됩니다")]
    assert Shop.objects.count() == 1


def test_xlsx_with_shops_and_menus_sheets_is_imported_idempotently():
    menus = [
        {"shop_name": "건대김밥", "address_name": "서울 광진구 화양동 건대김밥", "menu_name": "참치김밥", "price": 4500,
         "category": "메인메뉴", "options": '{"size": [{"name": "곱빼기", "price": 1000}]}'},
        {"shop_name": "건대김밥", "address_name": "서울 광진구 화양동 건대김밥", "menu_name": "라면", "price": "4,000"},
        {"shop_name": "없는가게", "address_name": "어딘가", "menu_name": "라면", "price": 4000},
        {"shop_name": "건대김밥", "address_name": "서울 광진구 화양동 건대김밥", "menu_name": "떡볶이", "price": -1},
    ]  # fmt: skip
    data = xlsx_bytes([shop_row()], menus)

    first = import_files([(data, "sample_data.xlsx")])
    second = import_files([(data, "sample_data.xlsx")])

    assert (first.shops_created, first.menus_created) == (1, 2)
    assert (second.shops_updated, second.menus_updated, second.menus_created) == (1, 2, 0)
    assert Menu.objects.count() == 2
    assert Menu.objects.get(menu_name="라면").price == 4000
    assert {(e.sheet, e.row, e.column) for e in second.errors} == {("menus", 4, "shop_name"), ("menus", 5, "price")}


def test_xlsx_time_cells_are_read_as_hh_mm():
    import datetime as dt

    import_files([(xlsx_bytes([shop_row(monday_open=dt.time(8, 30), monday_close=dt.time(20, 0))]), "s.xlsx")])

    assert Shop.objects.get().business_hours["monday"]["open"] == "08:30"


def test_menus_csv_is_recognised_by_its_columns():
    shops = csv_bytes(SHOP_COLUMNS, [shop_row()])
    menu = {"shop_name": "건대김밥", "address_name": "서울 광진구 화양동 건대김밥", "menu_name": "쫄면", "price": 6000}
    menus = csv_bytes(MENU_COLUMNS, [menu])

    report = import_files([(menus, "menus.csv"), (shops, "shops.csv")])

    assert report.menus_created == 1 and Menu.objects.get().shop.shop_name == "건대김밥"


def test_a_file_missing_required_columns_is_refused():
    columns = ["shop_name", "category", "address_name"]
    data = csv_bytes(columns, [{"shop_name": "x", "category": "한식", "address_name": "y"}])

    with pytest.raises(ImportFileError, match="latitude, longitude"):
        import_files([(data, "shops.csv")])


def test_import_command_prints_skipped_rows_and_fails_unless_errors_are_allowed(tmp_path, capsys):
    path = tmp_path / "shops.csv"
    path.write_bytes(csv_bytes(SHOP_COLUMNS, [shop_row(), shop_row("엉터리", longitude="abc")]))

    with pytest.raises(CommandError, match="1행을 건너뛰었습니다"):
        call_command("import_shops", str(path), "--no-progress")
    call_command("import_shops", str(path), "--no-progress", "--allow-errors")

    captured = capsys.readouterr()
    assert "건너뜀: shops 3행, longitude: 'abc' 값은 숫자가 아닙니다" in captured.err
    assert "1곳 수정" in captured.out


def test_import_command_reads_an_xlsx_file(tmp_path, capsys):
    path = tmp_path / "sample_data.xlsx"
    path.write_bytes(xlsx_bytes([shop_row("엑셀가게")], menus=[]))

    call_command("import_shops", str(path), "--no-progress")

    assert Shop.objects.filter(shop_name="엑셀가게").exists()
    assert "가게: 1곳 추가" in capsys.readouterr().out


def test_every_problem_of_a_bad_row_is_reported_not_only_the_first():
    bad = shop_row("엉망식당", category="우주식", latitude="north", is_food_card_shop="Q", phone="0" * 30)

    report = import_files([(csv_bytes(SHOP_COLUMNS, [bad]), "shops.csv")])

    assert {(error.row, error.column) for error in report.errors} == {
        (2, "category"), (2, "latitude"), (2, "is_food_card_shop"), (2, "phone"),
    }  # fmt: skip
    assert report.rows_skipped == 1


def test_a_dry_run_reports_what_would_change_and_saves_nothing():
    rows = [shop_row("새가게"), shop_row("엉망", latitude="x")]

    report = import_files([(csv_bytes(SHOP_COLUMNS, rows), "shops.csv")], dry_run=True)

    assert (report.shops_created, report.rows_skipped) == (1, 1)
    assert report.summary().startswith("미리 보기, 저장하지 않음")
    assert not Shop.objects.exists()


def test_the_template_file_holds_every_column_and_its_example_imports_cleanly():
    from chat.services.shop_import import template_workbook

    report = import_files([(template_workbook(), "template.xlsx")])

    assert report.errors == []
    assert (report.shops_created, report.menus_created) == (1, 1)
    assert Menu.objects.get().options == {"size": [{"name": "곱빼기", "price": 1000}]}


def test_the_admin_offers_the_template_and_previews_before_saving(admin_client):
    template = admin_client.get("/admin/chat/shop/import/template.xlsx")
    upload = io.BytesIO(csv_bytes(SHOP_COLUMNS, [shop_row("미리보기집")]))
    upload.name = "shops.csv"

    preview = admin_client.post("/admin/chat/shop/import/", {"shops_file": upload, "dry_run": "on"})

    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxml")
    assert "미리 보기, 저장하지 않음" in preview.content.decode()
    assert not Shop.objects.filter(shop_name="미리보기집").exists()


def test_the_admin_preview_of_a_bad_file_lists_every_problem_of_a_row_in_korean(admin_client):
    bad = shop_row("엉망식당", category="우주식", latitude="north", monday_close="25:99", phone="0" * 30)
    upload = io.BytesIO(csv_bytes(SHOP_COLUMNS, [shop_row("멀쩡한집"), bad, shop_row("멀쩡한집")]))
    upload.name = "shops.csv"

    response = admin_client.post("/admin/chat/shop/import/", {"shops_file": upload, "dry_run": "on"})

    page = response.content.decode()
    assert {(error.row, error.column, error.reason) for error in response.context["report"].errors} == {
        (3, "category", f"'우주식' 값은 허용되지 않습니다. 가능한 값: {', '.join(ShopCategory.values)}"),
        (3, "latitude", "'north' 값은 숫자가 아닙니다"),
        (3, "monday_close", "monday.close: '25:99' 값은 올바른 시각이 아닙니다"),
        (3, "phone", "20자를 넘습니다"),
        (4, "", "2행과 중복됩니다"),
    }
    for reason in ("값은 숫자가 아닙니다", "값은 올바른 시각이 아닙니다", "20자를 넘습니다", "2행과 중복됩니다"):
        assert reason in page
    assert not Shop.objects.exists()


def test_the_admin_says_in_korean_why_a_file_cannot_be_imported(admin_client):
    binary = io.BytesIO(b"\xff\xff\n")
    binary.name = "shops.csv"
    no_coordinates = io.BytesIO("shop_name,category,address_name\n건대김밥,분식,서울 광진구\n".encode())
    no_coordinates.name = "shops.csv"

    refused_text = admin_client.post("/admin/chat/shop/import/", {"shops_file": binary, "dry_run": "on"})
    refused_columns = admin_client.post("/admin/chat/shop/import/", {"shops_file": no_coordinates, "dry_run": "on"})

    assert refused_text.context["form"].non_field_errors() == [
        "CSV 파일이 UTF-8, UTF-16(바이트 순서 표시 포함) 또는 CP949 텍스트가 아닙니다"
    ]
    assert refused_columns.context["form"].non_field_errors() == [
        "shops 표에 필요한 열이 없습니다: latitude, longitude"
    ]
