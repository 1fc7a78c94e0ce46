import os
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.asgi_handler import ASGIHandlerWithSyncViewsInOneHop  # noqa: E402 (needs the apps loaded)

application = ASGIHandlerWithSyncViewsInOneHop()


def _warm_up_models():
    from chat.services.nlu import warm_up

    warm_up()  # Kiwi's model and the intent classifier load in seconds; not inside the first chat request


threading.Thread(target=_warm_up_models, name="warm-up", daemon=True).start()
