"""Credentials in the Authorization header, stored hashed (config.models.HashedCredential):
`Token <prefix>.<secret>` for end users and staff, `Api-Key <prefix>.<secret>` for partner servers."""

import functools

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from chat.models import ChatUser, Partner, PartnerApiKey
from config.joined_rows import columns, fetch
from config.models import UserApiToken

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


class HashedCredentialAuthentication(authentication.BaseAuthentication):
    """`<keyword> <prefix>.<secret>`: look the row up by prefix, compare hashes, refuse revoked ones."""

    keyword: str
    # One whole sentence per scheme (a translator cannot inflect a noun spliced in).
    malformed_message: str
    invalid_message: str
    revoked_message: str

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(self.malformed_message)
        return self.authenticate_key(parts[1].decode(errors="replace"))

    def authenticate_key(self, key: str, credential=None):
        """(principal, credential) for a plain key; AuthenticationFailed otherwise."""
        prefix, secret = self.split(key)
        credential = credential or self.lookup(prefix)
        if credential is None or not secret or not credential.matches(secret):
            raise exceptions.AuthenticationFailed(self.invalid_message)
        if credential.is_revoked:
            raise exceptions.AuthenticationFailed(self.revoked_message)
        principal = self.principal(credential)
        credential.touch()
        return principal, credential

    @staticmethod
    def split(key: str) -> tuple[str, str]:
        prefix, _, secret = key.partition(".")
        return prefix, secret

    def lookup(self, prefix: str):
        raise NotImplementedError

    def principal(self, credential):
        raise NotImplementedError

    def authenticate_header(self, request):
        return self.keyword


class PartnerApiKeyAuthentication(HashedCredentialAuthentication):
    keyword = KEYWORD
    malformed_message = gettext_lazy("The header must be 'Api-Key <API key>'.")
    invalid_message = gettext_lazy("Invalid API key.")
    revoked_message = gettext_lazy("This API key has been revoked.")

    def lookup(self, prefix):
        # Hand-written SQL, like the user token's: this runs on every partner request (config.joined_rows).
        for key, partner in fetch(partner_key_lookup_sql(), [prefix], PartnerApiKey, Partner):
            PartnerApiKey._meta.get_field("partner").set_cached_value(key, partner)
            return key
        return None

    def principal(self, key):
        if not key.partner.is_active:
            raise exceptions.AuthenticationFailed(_("This partner is inactive."))
        return PartnerClient(key.partner)


class UserTokenAuthentication(HashedCredentialAuthentication):
    keyword = "Token"
    malformed_message = gettext_lazy("The header must be 'Token <token>'.")
    invalid_message = gettext_lazy("Invalid token.")
    revoked_message = gettext_lazy("This token has been revoked.")

    @staticmethod
    def split(key):
        if "." not in key and len(key) == 40:  # a token issued before tokens were hashed (migrated by config 0001)
            return key[: UserApiToken.PREFIX_LENGTH], key[UserApiToken.PREFIX_LENGTH :]
        return HashedCredentialAuthentication.split(key)

    def lookup(self, prefix):
        # The user's dining chat user comes along (chat.services.profiles.chat_user_for): a chat turn
        # would otherwise look it up in a query of its own right after this one. Hand-written SQL: this
        # runs on every request (config.joined_rows).
        user_model = get_user_model()
        for token, user, chat_user in fetch(token_lookup_sql(), [prefix], UserApiToken, user_model, ChatUser):
            UserApiToken._meta.get_field("user").set_cached_value(token, user)
            user_model._meta.get_field("chat_user").set_cached_value(user, chat_user)
            if chat_user is not None:
                ChatUser._meta.get_field("auth_user").set_cached_value(chat_user, user)
            return token
        return None

    def principal(self, token):
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This user is inactive."))
        return token.user


@functools.cache
def partner_key_lookup_sql() -> str:
    """An API key by prefix with its partner, in one row."""
    key, partner = PartnerApiKey._meta, Partner._meta
    return (
        f"SELECT {columns(PartnerApiKey, 'k')}, {columns(Partner, 'p')} FROM {key.db_table} k "
        f"JOIN {partner.db_table} p ON p.{partner.pk.column} = k.{key.get_field('partner').column} WHERE k.prefix = %s"
    )


@functools.cache
def token_lookup_sql() -> str:
    """A token by prefix with its user and the user's chat user (if any), in one row."""
    user_model = get_user_model()
    return (
        f"SELECT {columns(UserApiToken, 't')}, {columns(user_model, 'u')}, {columns(ChatUser, 'c')} "
        f"FROM {UserApiToken._meta.db_table} t JOIN {user_model._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {ChatUser._meta.db_table} c ON c.auth_user_id = u.id WHERE t.prefix = %s"
    )


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <credential>`, as OpenAI clients send it: a partner API key or a user's token.

    Both look like `<prefix>.<secret>`; the prefix says which table holds it."""

    keyword = "Bearer"
    schemes = (PartnerApiKeyAuthentication(), UserTokenAuthentication())

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("The header must be 'Bearer <token or API key>'."))
        key = parts[1].decode(errors="replace")
        for scheme in self.schemes:
            credential = scheme.lookup(scheme.split(key)[0])
            if credential is not None:
                return scheme.authenticate_key(key, credential)
        raise exceptions.AuthenticationFailed(_("Invalid token or API key."))

    def authenticate_header(self, request):
        return self.keyword


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "a user token or a partner API key"}


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.PartnerApiKeyAuthentication"
    name = "partnerApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Api-Key <key>"}


class UserTokenScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.UserTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <token>"}
