"""Validators for the JSONB columns of the dining tables (seed 003 §4.3).

They raise django.core.exceptions.ValidationError so that model.full_clean(), forms (admin) and the
shop import all report the same messages. This module imports no models: the models import it.
"""

import re

from django.core.exceptions import ValidationError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS_KEYS = (*WEEKDAYS, "holiday")
DAY_FIELDS = ("open", "close", "break_start", "break_end", "closed")
TIME_RE = re.compile(r"^\d{2}:\d{2}$")
MENU_OPTION_GROUPS = ("size", "spicy", "extras")


def parse_hhmm(value: str) -> int:
    """'09:30' -> 570 minutes after midnight; '24:00' is allowed (end of day)."""
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ValueError(f"{value!r} is not a HH:MM time")
    hours, minutes = int(value[:2]), int(value[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a valid time of day")
    return hours * 60 + minutes


def business_hours_errors(hours) -> list[str]:
    """Every problem of a business_hours value, as readable messages (empty list = valid)."""
    if hours is None:
        return []
    if not isinstance(hours, dict):
        return ["business hours must be an object keyed by weekday"]
    errors = []
    for key, day in hours.items():
        if key == "closed_dates":
            if not isinstance(day, list) or not all(
                isinstance(item, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", item) for item in day
            ):
                errors.append("closed_dates must be a list of YYYY-MM-DD dates")
            continue
        if key not in HOURS_KEYS:
            errors.append(f"unknown day {key!r} (expected one of {', '.join(HOURS_KEYS)}, closed_dates)")
            continue
        if not isinstance(day, dict):
            errors.append(f"{key}: must be an object")
            continue
        unknown = set(day) - set(DAY_FIELDS)
        if unknown:
            errors.append(f"{key}: unknown field(s) {', '.join(sorted(unknown))}")
        if "closed" in day and not isinstance(day["closed"], bool):
            errors.append(f"{key}: closed must be true or false")
        if day.get("closed") is True:
            continue
        errors.extend(_day_errors(key, day))
    return errors


def _day_errors(key: str, day: dict) -> list[str]:
    errors = []
    minutes = {}
    for field in ("open", "close", "break_start", "break_end"):
        if field in day:
            try:
                minutes[field] = parse_hhmm(day[field])
            except ValueError as exc:
                errors.append(f"{key}.{field}: {exc}")
    if errors:
        return errors
    if "open" not in day or "close" not in day:
        return [f"{key}: open and close are both required unless the day is closed"]
    if minutes["open"] == 24 * 60:
        errors.append(f"{key}.open: 24:00 is not an opening time")
    if ("break_start" in day) != ("break_end" in day):
        return [*errors, f"{key}: break_start and break_end go together"]
    if "break_start" in day:
        start, end = minutes["break_start"], minutes["break_end"]
        if start >= end:
            errors.append(f"{key}: break_start must be before break_end")
        elif minutes["close"] > minutes["open"] and not (minutes["open"] <= start and end <= minutes["close"]):
            errors.append(f"{key}: the break must lie within opening hours")
    return errors


def validate_business_hours(hours) -> None:
    errors = business_hours_errors(hours)
    if errors:
        raise ValidationError(errors)


def validate_menu_options(options) -> None:
    """{"size": [{"name": "곱빼기", "price": 1000}], "spicy": [...], "extras": [...]}."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValidationError("menu options must be an object")
    errors = []
    for group, items in options.items():
        if group not in MENU_OPTION_GROUPS:
            errors.append(f"unknown option group {group!r} (expected {', '.join(MENU_OPTION_GROUPS)})")
            continue
        if not isinstance(items, list):
            errors.append(f"{group}: must be a list")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                errors.append(f"{group}[{index}]: needs a name")
            elif not isinstance(item.get("price"), int) or isinstance(item["price"], bool) or item["price"] < 0:
                errors.append(f"{group}[{index}]: price must be a whole number of won >= 0")
    if errors:
        raise ValidationError(errors)
