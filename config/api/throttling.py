"""Per-client rate limiting on the shared Redis cache (fixed one-minute-style windows).

DRF's SimpleRateThrottle keeps a request history with read-modify-write, which races between
processes; an atomic INCR per window does not. While Redis is unreachable requests are let through
(and a warning logged): rate limiting is a guard, the chats are the service.
"""

import logging
import time

from django.conf import settings
from redis import RedisError
from rest_framework.throttling import BaseThrottle

from config.api.permissions import is_partner_request
from config.cache import incr_in_window

logger = logging.getLogger(__name__)

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
        self.retry_after = period - (time.time() % period)
        try:
            count = incr_in_window(key, period + 1)
        except (RedisError, OSError) as exc:  # fail open: a Redis outage must not take the APIs down with it
            logger.warning("rate limit not applied, the cache is unreachable: %s", exc)
            return True
        return count <= limit

    def wait(self):
        return self.retry_after
