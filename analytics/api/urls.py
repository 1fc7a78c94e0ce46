from django.urls import include, path
from rest_framework.routers import SimpleRouter

from analytics.api import views

router = SimpleRouter(trailing_slash=False)
router.register("analytics/logs", views.MessageLogViewSet, basename="analytics-log")
router.register("analytics/conversations", views.ConversationHistoryViewSet, basename="analytics-conversation")

urlpatterns = [
    path("analytics/stats", views.ChatStatisticsView.as_view(), name="analytics-stats"),
    path("", include(router.urls)),
]
