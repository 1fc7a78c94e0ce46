"""Django's Redis cache with one connection pool per process instead of one per request.

Django keeps cache backends in an asgiref `Local` that is not thread-critical, so under ASGI every
request (its own context) builds a new `RedisCache` and with it a new, empty connection pool: each
request then opened a fresh Redis connection (connect + HELLO handshake) for the rate limit alone,
about a third of a bare `GET /api/v1/me`. redis-py's pools are thread-safe and reset themselves
after a fork, so one pool per server URL serves every request, thread and context of a process.

Django also builds a new `redis.Redis` client for every cache call (`get_client`), and each one
copies redis-py's table of ~170 response callbacks into a fresh case-insensitive dict: about a
quarter of a millisecond of CPU per call, a few per chat turn. A client holds no connection of its
own (it takes one from the pool per command), so one client per pool is shared the same way.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
_clients: dict[int, object] = {}  # id(pool) -> its redis.Redis client
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, tuple(sorted(self._pool_options.items(), key=str)))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            client = _clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient


def incr_in_window(key: str, timeout: int) -> int:
    """Add 1 to a counter that expires `timeout` s after its first increment; in ONE round trip.

    `cache.add()` + `cache.incr()` cost three (SET NX, EXISTS, INCR) on Django's Redis backend.
    Raises redis' errors (and OSError) when Redis is unreachable.
    """
    from django.core.cache import cache

    full_key = cache.make_and_validate_key(key)
    pipeline = cache._cache.get_client(full_key, write=True).pipeline(transaction=False)
    pipeline.set(full_key, 0, ex=timeout, nx=True)
    pipeline.incr(full_key)
    return pipeline.execute()[1]
