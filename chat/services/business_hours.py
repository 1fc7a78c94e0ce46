"""Is a shop open right now? Business hours (seed 003 §3.1 / §4.3) evaluated in Asia/Seoul.

`business_hours` looks like {"monday": {"open": "09:00", "close": "22:00", "break_start": "15:00",
"break_end": "17:00"}, ..., "holiday": {"closed": true}, "closed_dates": ["2026-02-17"]}:
- a weekday missing from a shop that lists other days means closed that day;
- close <= open means the shop closes after midnight (the late part counts for the next day);
- "holiday" replaces the weekday's hours on Korean public holidays (fixed-date ones below) and on
  the shop's own `closed_dates` (lunar holidays, temporary closures) the shop is closed;
- no business hours at all -> UNKNOWN (never recommended: we cannot promise it is open).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import Shop, ShopStatus
from chat.services.schemas import WEEKDAYS, parse_hhmm

SEOUL = ZoneInfo("Asia/Seoul")

# Fixed-date public holidays (month, day). Lunar ones (설날, 추석, 부처님오신날) move every year:
# shops list those in `closed_dates`.
KOREAN_FIXED_HOLIDAYS = {(1, 1), (3, 1), (5, 5), (6, 6), (8, 15), (10, 3), (10, 9), (12, 25)}


def seoul_now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).astimezone(SEOUL)


def is_public_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in KOREAN_FIXED_HOLIDAYS


def _day_hours(hours: dict, day: dt.date) -> dict | None:
    """The hours that apply on `day` ({"closed": True} for a closed day), None when not listed."""
    if day.isoformat() in (hours.get("closed_dates") or []):
        return {"closed": True}
    if is_public_holiday(day) and "holiday" in hours:
        return hours["holiday"]
    return hours.get(WEEKDAYS[day.weekday()])


def status_at(hours: dict | None, now: dt.datetime | None = None) -> str:
    """OPEN, BREAK_TIME, CLOSED or UNKNOWN for the given business hours at `now` (default: now)."""
    if not hours:
        return ShopStatus.UNKNOWN
    local = seoul_now(now)
    minute = local.hour * 60 + local.minute
    today, yesterday = local.date(), local.date() - dt.timedelta(days=1)
    try:
        # Late-night part of yesterday's hours (e.g. 18:00-02:00, now 01:00).
        previous = _day_hours(hours, yesterday)
        if previous and not previous.get("closed") and "open" in previous:
            opens, closes = parse_hhmm(previous["open"]), parse_hhmm(previous["close"])
            if closes <= opens and minute < closes:
                return ShopStatus.OPEN
        current = _day_hours(hours, today)
        if not current or current.get("closed") or "open" not in current:
            return ShopStatus.CLOSED
        opens, closes = parse_hhmm(current["open"]), parse_hhmm(current["close"])
        overnight = closes <= opens
        is_open = minute >= opens if overnight else opens <= minute < closes
        if not is_open:
            return ShopStatus.CLOSED
        if "break_start" in current and parse_hhmm(current["break_start"]) <= minute < parse_hhmm(current["break_end"]):
            return ShopStatus.BREAK_TIME
    except (KeyError, TypeError, ValueError):
        return ShopStatus.UNKNOWN  # malformed hours (bypassed validation): never claim "open"
    return ShopStatus.OPEN


def is_open_now(hours: dict | None, now: dt.datetime | None = None) -> bool:
    return status_at(hours, now) == ShopStatus.OPEN


def refresh_shop_status(now: dt.datetime | None = None, batch_size: int = 2000) -> int:
    """Recompute every shop's current_status from its business hours; returns how many changed.

    Called every minute by the Celery beat job. Only rows whose status really changes are written
    (one UPDATE per status value), so a quiet minute costs one SELECT.
    """
    moment = now or timezone.now()
    changes: dict[str, list[int]] = {}
    shops = Shop.objects.only("id", "business_hours", "current_status").order_by("id")
    for shop in shops.iterator(chunk_size=batch_size):
        status = status_at(shop.business_hours, moment)
        if status != shop.current_status:
            changes.setdefault(status, []).append(shop.id)
    changed = 0
    with transaction.atomic():
        for status, ids in changes.items():
            for start in range(0, len(ids), batch_size):
                chunk = ids[start : start + batch_size]
                changed += (
                    Shop.objects.filter(id__in=chunk)
                    .filter(~Q(current_status=status))
                    .update(current_status=status, updated_at=moment)
                )
    return changed
