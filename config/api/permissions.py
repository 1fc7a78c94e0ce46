from rest_framework.permissions import BasePermission

from chat.models import PartnerApiKey


def is_partner_request(request) -> bool:
    return isinstance(request.auth, PartnerApiKey)


class IsPartner(BasePermission):
    message = "A partner API key is required."

    def has_permission(self, request, view):
        return is_partner_request(request)


class IsPartnerOrStaff(BasePermission):
    message = "A partner API key or a staff account is required."

    def has_permission(self, request, view):
        return is_partner_request(request) or bool(request.user and request.user.is_staff)


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
