"""Per-client rate limiting on the shared Redis cache (fixed one-minute-style windows).

DRF's SimpleRateThrottle keeps a request history with read-modify-write, which races between
processes; an atomic INCR per window does not.
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from config.api.permissions import is_partner_request

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/min' -> (60, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


class ClientRateThrottle(BaseThrottle):
    def get_ident_key(self, request) -> str:
        if is_partner_request(request):
            return f"key:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view):
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        window = int(time.time() // period)
        key = f"throttle:{self.get_ident_key(request)}:{window}"
        cache.add(key, 0, timeout=period + 1)
        count = cache.incr(key)
        self.retry_after = period - (time.time() % period)
        return count <= limit

    def wait(self):
        return self.retry_after
