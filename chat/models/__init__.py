from chat.models.knowledge import (
    KnowledgeConversation,
    KnowledgeMessage,
    MessageRole,
    MessageRoute,
    MessageStatus,
    RagType,
)
from chat.models.partners import Partner, PartnerApiKey, PartnerChatTuningLog

__all__ = [
    "KnowledgeConversation",
    "KnowledgeMessage",
    "MessageRole",
    "MessageRoute",
    "MessageStatus",
    "RagType",
    "Partner",
    "PartnerApiKey",
    "PartnerChatTuningLog",
]
