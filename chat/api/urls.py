from django.urls import path

from chat.api import knowledge_views

urlpatterns: list = [
    # knowledge chat
    path("rag/chat", knowledge_views.KnowledgeChatView.as_view(), name="knowledge-chat"),
    path("rag/chat/stream", knowledge_views.KnowledgeChatStreamView.as_view(), name="knowledge-chat-stream"),
    path("rag/chat/regenerate", knowledge_views.KnowledgeRegenerateView.as_view(), name="knowledge-chat-regenerate"),
    path("rag/conversations", knowledge_views.KnowledgeConversationListView.as_view(), name="knowledge-conversations"),
    path(
        "rag/conversations/<uuid:pk>",
        knowledge_views.KnowledgeConversationDetailView.as_view(),
        name="knowledge-conversation-detail",
    ),
]
