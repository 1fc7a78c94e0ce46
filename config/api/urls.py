from django.urls import include, path
from rest_framework.routers import SimpleRouter

from config.api import views

router = SimpleRouter(trailing_slash=False)
router.register("partners", views.PartnerViewSet)

urlpatterns = [
    path("health", views.health, name="health"),
    path("me", views.me, name="me"),
    path("auth/token", views.ObtainTokenView.as_view(), name="auth-token"),
    path("", include(router.urls)),
    path("", include("chat.api.urls")),
    path("", include("rag.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("ml_training.api.urls")),
]
