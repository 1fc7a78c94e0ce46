"""Django's ASGI handler, with each synchronous view served in one thread hop.

Django's ASGI handler runs the middleware stack in async mode. Every middleware of this project
(Django's own, WhiteNoise's) is a `MiddlewareMixin` whose `process_request`/`process_response` are
synchronous, so in async mode each one is called through `sync_to_async`: a dozen round trips
between the event loop and the thread-sensitive executor per request, before and after the view
(itself one more hop). Measured on a bare `GET /api/v1/me`, that was about half of the time.

Here a request whose view is synchronous (all but the streaming endpoints) goes through a second
copy of the stack loaded in sync mode, in ONE `sync_to_async` call: the same middleware, the same
thread and database connection the view would have had. Async views (SSE streams) keep Django's
async path, so a stream still runs on the event loop and notices a client that goes away.
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, get_resolver


class ASGIHandlerWithSyncViewsInOneHop(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._sync_handler = BaseHandler()
        self._sync_handler.load_middleware(is_async=False)

    async def get_response_async(self, request):
        if self._view_is_async(request):
            return await super().get_response_async(request)
        return await sync_to_async(self._sync_handler.get_response, thread_sensitive=True)(request)

    @staticmethod
    def _view_is_async(request) -> bool:
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            return False  # the 404 page is rendered by the (sync) middleware stack
        return iscoroutinefunction(match.func)
