from django.urls import path

from chat.api import dining_views, knowledge_views, partner_views

urlpatterns: list = [
    # dining assistant (seed 003 §6.1)
    path("chat", dining_views.ChatView.as_view(), name="dining-chat"),
    path("users/<str:user_id>/profile", dining_views.UserProfileView.as_view(), name="dining-user-profile"),
    path("users/<str:user_id>/preferences", dining_views.UserPreferencesView.as_view(), name="dining-user-preferences"),
    path("users/<str:user_id>/coupons", dining_views.UserCouponsView.as_view(), name="dining-user-coupons"),
    path("coupons/apply", dining_views.CouponApplyView.as_view(), name="dining-coupon-apply"),
    path(
        "recommendations/<int:pk>/selection",
        dining_views.RecommendationSelectionView.as_view(),
        name="dining-recommendation-selection",
    ),
    path(
        "recommendations/<int:pk>/clicks",
        dining_views.RecommendationClickView.as_view(),
        name="dining-recommendation-clicks",
    ),
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
    # partner chat sessions (seed 000)
    path("partners/chat/warmup", partner_views.PartnerWarmupView.as_view(), name="partner-chat-warmup"),
    path("partners/chat/message", partner_views.PartnerMessageView.as_view(), name="partner-chat-message"),
    path(
        "partners/chat/sessions/<str:session_id>",
        partner_views.PartnerSessionView.as_view(),
        name="partner-chat-session",
    ),
]
