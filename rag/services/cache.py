"""Redis cache of shared search results, keyed by the rag_key's version in PostgreSQL.

Every key embeds `SharedResultsVersion.version`, which triggers on rag_document replace in the same
transaction as any change to that rag_key's shared documents (services, admin bulk deletes, cascades).
So invalidation is part of the committed write and can neither fail nor be skipped when Redis is down;
old entries become unreachable at commit and expire after settings.RAG_SHARED_CACHE_TTL.

Redis is only an accelerator here: when it is unreachable a lookup is a miss and a store is skipped
(logged), and the search answers uncached.
"""

import hashlib
import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from redis import RedisError

from rag.models import SharedResultsVersion

logger = logging.getLogger(__name__)

_BUMP_SQL = """
INSERT INTO rag_sharedresultsversion (rag_key, version) VALUES (%s, nextval('rag_shared_results_version_seq'))
ON CONFLICT (rag_key) DO UPDATE SET version = EXCLUDED.version
"""


def shared_version(rag_key: str) -> int:
    """0 for a rag_key whose shared documents were never written (nothing to find, nothing stale)."""
    version = SharedResultsVersion.objects.filter(rag_key=rag_key).values_list("version", flat=True).first()
    return version or 0


def bump_shared_version(rag_key: str) -> None:
    """Invalidate the cached shared results of rag_key now (writes to rag_document do this by trigger)."""
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [rag_key])


def result_key(rag_key: str, **parts) -> str:
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{rag_key}\x00{payload}".encode()).hexdigest()
    return f"rag:shared-search:v{shared_version(rag_key)}:{digest}"


def get(key: str):
    """The cached value, or None on a miss or while Redis is unreachable."""
    try:
        return cache.get(key)
    except (RedisError, OSError) as exc:
        logger.warning("shared search cache unavailable, searching uncached: %s", exc)
        return None


def put(key: str, value) -> None:
    try:
        cache.set(key, value, timeout=settings.RAG_SHARED_CACHE_TTL)
    except (RedisError, OSError) as exc:
        logger.warning("shared search cache unavailable, result not cached: %s", exc)
