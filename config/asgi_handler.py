"""Django's ASGI handler, with each synchronous view served in one thread hop on a kept thread.

Django's ASGI handler runs the middleware stack in async mode. Every middleware of this project
(Django's own, WhiteNoise's) is a `MiddlewareMixin` whose `process_request`/`process_response` are
synchronous, so in async mode each one is called through `sync_to_async`: a dozen round trips
between the event loop and the thread-sensitive executor per request, before and after the view
(itself one more hop). Measured on a bare `GET /api/v1/me`, that was about half of the time.

Here a request whose view is synchronous (all but the streaming endpoints) goes through a second
copy of the stack loaded in sync mode, in ONE `sync_to_async` call: the same middleware, the same
thread and database connection the view would have had. Async views (SSE streams) keep Django's
async path, so a stream still runs on the event loop and notices a client that goes away.

Django also gives every request a thread of its own (a new single-thread executor per request,
asgiref's `ThreadSensitiveContext`), started and joined each time, and with it a new database
connection wrapper. Here a synchronous view runs on one of at most `WEB_THREADS` threads that the
process keeps: no thread start per request, and no more requests competing for the GIL than that
(a further one waits for a free thread on the event loop). The URL is resolved once, before
choosing the path, and that match is the one the view gets.
"""

import asyncio
import itertools
import weakref
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, get_resolver

RESOLVER_MATCH_KEY = "chatbots.resolver_match"  # the scope key the pre-resolved match travels under


class _PreResolvedHandler(BaseHandler):
    """The synchronous stack; it takes the view the ASGI handler already resolved for this request."""

    def resolve_request(self, request):
        match = request.scope.get(RESOLVER_MATCH_KEY)
        if match is None or hasattr(request, "urlconf"):  # a middleware chose another urlconf
            return super().resolve_request(request)
        request.resolver_match = match
        return match


class KeptThreads:
    """Single-thread executors kept for reuse, at most `size` in use at once (asgiref requires a
    context's executor to run one call at a time on one thread)."""

    def __init__(self, size: int):
        self.size = size
        self._idle: list[ThreadPoolExecutor] = []
        self._numbers = itertools.count(1)
        self._slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> Semaphore

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.size)
        return slots

    def _new_thread(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix=f"sync-view-{next(self._numbers)}")

    async def run(self, coroutine_function, *args):
        """Await `coroutine_function(*args)` in a thread-sensitive context bound to a kept thread."""
        async with self._slots_of_this_loop():
            executor = self._idle.pop() if self._idle else self._new_thread()
            try:
                async with ThreadSensitiveContext(executor=executor):
                    return await coroutine_function(*args)
            finally:
                self._idle.append(executor)


class ASGIHandlerWithSyncViewsInOneHop(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._sync_handler = _PreResolvedHandler()
        self._sync_handler.load_middleware(is_async=False)
        self._threads = KeptThreads(settings.WEB_THREADS)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)  # Django refuses it
        match = self._resolve(scope)
        if match is not None and iscoroutinefunction(match.func):
            return await super().__call__(scope, receive, send)  # a stream: Django's async path
        await self._threads.run(self.handle, {**scope, RESOLVER_MATCH_KEY: match}, receive, send)

    async def get_response_async(self, request):
        if RESOLVER_MATCH_KEY not in request.scope:
            return await super().get_response_async(request)
        return await sync_to_async(self._sync_handler.get_response, thread_sensitive=True)(request)

    @staticmethod
    def _resolve(scope):
        """The match of the request's path, None when no view matches (the 404 is rendered by the
        synchronous middleware stack)."""
        path_info = scope["path"].removeprefix(get_script_prefix(scope))
        try:
            return get_resolver().resolve(path_info)
        except Resolver404:
            return None
