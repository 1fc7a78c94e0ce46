import os
import threading

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_asgi_application()


def _warm_up_models():
    from chat.services.nlu import warm_up

    warm_up()  # Kiwi's model and the intent classifier load in seconds; not inside the first chat request


threading.Thread(target=_warm_up_models, name="warm-up", daemon=True).start()
