from django.urls import path

from ml_training.api import views

urlpatterns: list = [
    path("ml/training-data/export", views.TrainingDataExportView.as_view(), name="training-data-export"),
    path("chat/turns/<int:conversation_id>/feedback", views.DiningTurnFeedbackView.as_view(), name="dining-feedback"),
    path(
        "rag/messages/<int:message_id>/feedback",
        views.KnowledgeAnswerFeedbackView.as_view(),
        name="knowledge-feedback",
    ),
    path(
        "partners/chat/sessions/<str:session_id>/turns/<int:turn>/feedback",
        views.PartnerTurnFeedbackView.as_view(),
        name="partner-feedback",
    ),
]
