from django.urls import include, path
from rest_framework.routers import SimpleRouter

from analytics.api import views

router = SimpleRouter(trailing_slash=False)
router.register("analytics/logs", views.MessageLogViewSet, basename="analytics-log")
router.register("analytics/conversations", views.ConversationHistoryViewSet, basename="analytics-conversation")

urlpatterns = [
    path("analytics/stats", views.ChatStatisticsView.as_view(), name="analytics-stats"),
    path("analytics/summary", views.SummaryView.as_view(), name="analytics-summary"),
    path("analytics/timeline", views.TimelineView.as_view(), name="analytics-timeline"),
    path("analytics/top-queries", views.TopQueriesView.as_view(), name="analytics-top-queries"),
    path("analytics/search-quality", views.SearchQualityView.as_view(), name="analytics-search-quality"),
    path("analytics/knowledge-gaps", views.KnowledgeGapsView.as_view(), name="analytics-knowledge-gaps"),
    path("analytics/export/logs", views.MessageLogExportView.as_view(), name="analytics-export-logs"),
    path("analytics/export/statistics", views.ChatStatisticsExportView.as_view(), name="analytics-export-statistics"),
    path("analytics/archive/logs", views.ArchivedLogsView.as_view(), name="analytics-archive-logs"),
    path(
        "analytics/archive/conversations",
        views.ArchivedConversationsView.as_view(),
        name="analytics-archive-conversations",
    ),  # fmt: skip
    path("", include(router.urls)),
]
