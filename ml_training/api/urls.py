from django.urls import path

from ml_training.api import training_views, views

urlpatterns: list = [
    path("ml/training-jobs", training_views.TrainingJobListView.as_view(), name="training-jobs"),
    path("ml/training-jobs/<int:pk>", training_views.TrainingJobDetailView.as_view(), name="training-job"),
    path("ml/training-jobs/<int:pk>/cancel", training_views.TrainingJobCancelView.as_view(), name="job-cancel"),
    path("ml/model-versions", training_views.ModelVersionListView.as_view(), name="model-versions"),
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
