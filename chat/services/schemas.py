"""Validators for the JSONB columns of the dining tables (seed 003 §4.3).

They raise django.core.exceptions.ValidationError so that model.full_clean(), forms (admin) and the
shop import all report the same messages. This module imports no models: the models import it.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS_KEYS = (*WEEKDAYS, "holiday")
DAY_FIELDS = ("open", "close", "break_start", "break_end", "closed")
TIME_RE = re.compile(r"^\d{2}:\d{2}$")
MENU_OPTION_GROUPS = ("size", "spicy", "extras")


def parse_hhmm(value: str) -> int:
    """'09:30' -> 570 minutes after midnight; '24:00' is allowed (end of day)."""
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ValueError(gettext("%(value)s is not a HH:MM time") % {"value": repr(value)})
    hours, minutes = int(value[:2]), int(value[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(gettext("%(value)s is not a valid time of day") % {"value": repr(value)})
    return hours * 60 + minutes


def business_hours_errors(hours) -> list[str]:
    """Every problem of a business_hours value, as readable messages (empty list = valid)."""
    return [message for _, message in business_hours_problems(hours)]


def business_hours_problems(hours) -> list[tuple[str, str]]:
    """Every problem of a business_hours value as (column, message): the column is the form and import
    column it is about (monday_close, monday_break_start, monday_closed, closed_dates), "" for none."""
    if hours is None:
        return []
    if not isinstance(hours, dict):
        return [("", gettext("business hours must be an object keyed by weekday"))]
    problems = []
    for key, day in hours.items():
        if key == "closed_dates":
            if not isinstance(day, list) or not all(
                isinstance(item, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", item) for item in day
            ):
                problems.append(("closed_dates", gettext("closed_dates must be a list of YYYY-MM-DD dates")))
            continue
        if key not in HOURS_KEYS:
            message = gettext("unknown day %(day)s (expected one of %(days)s, closed_dates)")
            problems.append(("", message % {"day": repr(key), "days": ", ".join(HOURS_KEYS)}))
            continue
        if not isinstance(day, dict):
            problems.append(("", gettext("%(day)s: must be an object") % {"day": key}))
            continue
        unknown = set(day) - set(DAY_FIELDS)
        if unknown:
            message = gettext("%(day)s: unknown field(s) %(fields)s")
            problems.append(("", message % {"day": key, "fields": ", ".join(sorted(unknown))}))
        if "closed" in day and not isinstance(day["closed"], bool):
            problems.append((f"{key}_closed", gettext("%(day)s: closed must be true or false") % {"day": key}))
        if day.get("closed") is True:
            continue
        problems.extend(_day_problems(key, day))
    return problems


def _day_problems(key: str, day: dict) -> list[tuple[str, str]]:
    problems = []
    minutes = {}
    for field in ("open", "close", "break_start", "break_end"):
        if field in day:
            try:
                minutes[field] = parse_hhmm(day[field])
            except ValueError as exc:
                problems.append((f"{key}_{field}", f"{key}.{field}: {exc}"))
    if problems:
        return problems
    if "open" not in day or "close" not in day:
        message = gettext("%(day)s: open and close are both required unless the day is closed")
        return [(f"{key}_open", message % {"day": key})]
    if minutes["open"] == 24 * 60:
        problems.append((f"{key}_open", gettext("%(day)s.open: 24:00 is not an opening time") % {"day": key}))
    if ("break_start" in day) != ("break_end" in day):
        message = gettext("%(day)s: break_start and break_end go together")
        return [*problems, (f"{key}_break_start", message % {"day": key})]
    if "break_start" in day:
        start, end = minutes["break_start"], minutes["break_end"]
        if start >= end:
            message = gettext("%(day)s: break_start must be before break_end")
            problems.append((f"{key}_break_start", message % {"day": key}))
        elif minutes["close"] > minutes["open"] and not (minutes["open"] <= start and end <= minutes["close"]):
            message = gettext("%(day)s: the break must lie within opening hours")
            problems.append((f"{key}_break_start", message % {"day": key}))
    return problems


def validate_business_hours(hours) -> None:
    errors = business_hours_errors(hours)
    if errors:
        raise ValidationError(errors)


def validate_menu_options(options) -> None:
    """{"size": [{"name": "곱빼기", "price": 1000}], "spicy": [...], "extras": [...]}."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValidationError(gettext("menu options must be an object"))
    errors = []
    for group, items in options.items():
        if group not in MENU_OPTION_GROUPS:
            message = gettext("unknown option group %(group)s (expected %(groups)s)")
            errors.append(message % {"group": repr(group), "groups": ", ".join(MENU_OPTION_GROUPS)})
            continue
        if not isinstance(items, list):
            errors.append(gettext("%(group)s: must be a list") % {"group": group})
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                errors.append(gettext("%(item)s: needs a name") % {"item": f"{group}[{index}]"})
            elif not isinstance(item.get("price"), int) or isinstance(item["price"], bool) or item["price"] < 0:
                message = gettext("%(item)s: price must be a whole number of won >= 0")
                errors.append(message % {"item": f"{group}[{index}]"})
    if errors:
        raise ValidationError(errors)
