"""Partner API keys (`Authorization: Api-Key <prefix>.<secret>`) and the OpenAI-style bearer header."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from chat.models import PartnerApiKey

KEYWORD = "Api-Key"


class PartnerClient:
    """The request.user of a partner's server: authenticated, never staff, no Django user row."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, partner):
        self.partner = partner
        self.partner_id = partner.partner_id

    def __str__(self):
        return f"partner:{self.partner_id}"


class PartnerApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Api-Key header must be 'Api-Key <key>'.")
        return self.authenticate_key(parts[1].decode(errors="replace"))

    def authenticate_key(self, raw_key: str):
        """(PartnerClient, PartnerApiKey) for a `<prefix>.<secret>` key; AuthenticationFailed otherwise."""
        prefix, _, secret = raw_key.partition(".")
        key = PartnerApiKey.objects.select_related("partner").filter(prefix=prefix).first()
        if key is None or not secret or not key.matches(secret):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if not key.partner.is_active:
            raise exceptions.AuthenticationFailed("This partner is inactive.")
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return PartnerClient(key.partner), key

    def authenticate_header(self, request):
        return KEYWORD


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.PartnerApiKeyAuthentication"
    name = "partnerApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Api-Key <key>"}


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <credential>`, as OpenAI clients send it: a partner API key
    (`<prefix>.<secret>`, the only credential with a dot) or a user's token."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token or API key>'.")
        credential = parts[1].decode(errors="replace")
        if "." in credential:
            return PartnerApiKeyAuthentication().authenticate_key(credential)
        return authentication.TokenAuthentication().authenticate_credentials(credential)

    def authenticate_header(self, request):
        return self.keyword


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "a user token or a partner API key"}
