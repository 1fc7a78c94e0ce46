"""Staff operations on dining data (called by admin actions): grant a coupon to chosen users, close
shops for the rest of today."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from chat.models import AcquisitionSource, Coupon, Shop, ShopStatus
from chat.services.business_hours import seoul_now
from chat.services.coupons import issue_coupon
from config.api.exceptions import ApiError


@dataclass
class GrantResult:
    issued: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (external user id, reason)

    def skipped_by_reason(self) -> dict[str, list[str]]:
        """Reason -> the external ids of the users skipped for it, in the order they were tried."""
        groups: dict[str, list[str]] = {}
        for external_id, reason in self.skipped:
            groups.setdefault(reason, []).append(external_id)
        return groups


def grant_coupon(
    coupon: Coupon, users, *, issued_by: str, now: dt.datetime | None = None, note: str = ""
) -> GrantResult:
    """Put `coupon` into each user's wallet (ADMIN_GRANT) with the coupon service's rules (validity,
    issue limit, one active copy, per-user use limit); users it cannot be given to are skipped with
    the reason, the others still get it."""
    now = now or timezone.now()
    result = GrantResult()
    for user in users:
        try:
            issue_coupon(
                user,
                coupon,
                source=AcquisitionSource.ADMIN_GRANT,
                issued_by=issued_by,
                context={"trigger_event": "admin_grant", **({"note": note} if note else {})},
                now=now,
            )
        except ApiError as exc:
            result.skipped.append((user.external_user_id, str(exc.detail)))
        else:
            result.issued += 1
    return result


def close_shops_today(shop_ids, now: dt.datetime | None = None) -> int:
    """Close shops for the rest of today (Asia/Seoul): today's date joins `closed_dates` in their
    business hours, so the every-minute status job keeps them CLOSED until tomorrow, and their status
    becomes CLOSED now. Shops without business hours only get the status (they are never recommended
    anyway: unknown hours). Returns how many shops were closed."""
    today = seoul_now(now).date().isoformat()
    moment = now or timezone.now()
    closed = 0
    with transaction.atomic():
        for shop in Shop.objects.select_for_update().filter(pk__in=shop_ids).only("id", "business_hours"):
            fields = ["current_status", "updated_at"]
            if shop.business_hours:
                dates = [d for d in shop.business_hours.get("closed_dates") or [] if d >= today]
                shop.business_hours = {**shop.business_hours, "closed_dates": sorted({*dates, today})}
                fields.append("business_hours")
            shop.current_status = ShopStatus.CLOSED
            shop.updated_at = moment
            shop.save(update_fields=fields)
            closed += 1
    return closed

