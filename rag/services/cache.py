"""Redis cache of shared search results, invalidated by bumping a per-rag_key version number.

Keys embed the version, so a bump makes every cached result of that rag_key unreachable at once;
stale entries simply expire (settings.RAG_SHARED_CACHE_TTL).
"""

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


def _version_key(rag_key: str) -> str:
    return "rag:shared-version:" + hashlib.sha256(rag_key.encode()).hexdigest()[:32]


def shared_version(rag_key: str) -> int:
    key = _version_key(rag_key)
    version = cache.get(key)
    if version is None:
        cache.add(key, 1, timeout=None)
        version = cache.get(key, 1)
    return int(version)


def bump_shared_version(rag_key: str) -> None:
    """Invalidate the cached shared results of rag_key (call after its shared documents changed)."""
    key = _version_key(rag_key)
    cache.add(key, 1, timeout=None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 2, timeout=None)


def bump_shared_version_on_commit(rag_key: str) -> None:
    transaction.on_commit(lambda: bump_shared_version(rag_key))


def result_key(rag_key: str, **parts) -> str:
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{rag_key}\x00{payload}".encode()).hexdigest()
    return f"rag:shared-search:v{shared_version(rag_key)}:{digest}"


def get(key: str):
    return cache.get(key)


def put(key: str, value) -> None:
    cache.set(key, value, timeout=settings.RAG_SHARED_CACHE_TTL)
