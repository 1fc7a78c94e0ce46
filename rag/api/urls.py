from django.urls import include, path
from rest_framework.routers import SimpleRouter

from rag.api import views

router = SimpleRouter(trailing_slash=False)
router.register("rag/documents", views.DocumentViewSet, basename="rag-document")

urlpatterns = [
    path("rag/upload", views.UploadView.as_view(), name="rag-upload"),
    path("rag/sync", views.SyncView.as_view(), name="rag-sync"),
    path("rag/search", views.SearchView.as_view(), name="rag-search"),
    path("", include(router.urls)),
]
