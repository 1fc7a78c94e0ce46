from django.contrib import admin
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.exceptions import is_api_path, json_not_found, json_server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api.urls")),
    path("v1/", include("chat.api.openai_urls")),  # OpenAI-compatible clients expect /v1 at the root
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]


def handler404(request, exception):
    if is_api_path(request.path):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api_path(request.path):
        return json_server_error(request)
    return defaults.server_error(request)
