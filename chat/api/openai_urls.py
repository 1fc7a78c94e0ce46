"""The OpenAI-compatible API, mounted at /v1/ (config/urls.py)."""

from django.urls import path, re_path

from chat.api import openai_views

urlpatterns = [
    path("models", openai_views.ModelListView.as_view(), name="openai-models"),
    path("models/<path:model_id>", openai_views.ModelDetailView.as_view(), name="openai-model"),
    path("chat/completions", openai_views.ChatCompletionsView.as_view(), name="openai-chat-completions"),
    re_path(r"^.*$", openai_views.openai_not_found),
]
