from chat.models.partners import Partner, PartnerApiKey, PartnerChatTuningLog

__all__ = ["Partner", "PartnerApiKey", "PartnerChatTuningLog"]
