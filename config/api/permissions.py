from django.utils.translation import gettext_lazy
from rest_framework.permissions import BasePermission

from chat.models import PartnerApiKey


def is_partner_request(request) -> bool:
    return isinstance(request.auth, PartnerApiKey)


class IsEndUser(BasePermission):
    """A person's account (token or session); partner server keys have no chat user or conversations."""

    message = gettext_lazy("An end-user token is required; partner API keys cannot use this endpoint.")
    refused_auth_schemes = ("partnerApiKey",)

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and not is_partner_request(request))


class IsPartner(BasePermission):
    message = gettext_lazy("A partner API key is required.")
    refused_auth_schemes = ("tokenAuth", "cookieAuth")

    def has_permission(self, request, view):
        return is_partner_request(request)


class IsPartnerOrStaff(BasePermission):
    message = gettext_lazy("A partner API key or a staff account is required.")

    def has_permission(self, request, view):
        return is_partner_request(request) or bool(request.user and request.user.is_staff)


class IsStaff(BasePermission):
    message = gettext_lazy("Staff only.")
    refused_auth_schemes = ("partnerApiKey",)

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
