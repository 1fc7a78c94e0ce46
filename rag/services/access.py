"""Who may see and change which RAG rows. Every search, document API call and chat goes through here.

Search visibility (`visible_chunks`):
  * user_isolated  -> only chunks the caller owns in that rag_key (nothing for anonymous/partner callers);
  * chatbot_shared -> only owner-NULL chunks of that rag_key;
  * both           -> the union of the two, never anybody else's chunks.
Staff get no wider search scope: isolation holds for everybody.

Document management (`manageable_documents`, `can_write`): a user sees and deletes their own documents,
a partner key the shared documents of the rag_keys it owns (`partner_rag_keys`: its partner_id plus the
rag_keys staff granted it), staff everything. For a partner every other rag_key does not exist (404).
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from rag.models import Chunk, Document, PartnerRagKey, RagType

BOTH = "both"
SEARCH_RAG_TYPES = (RagType.USER_ISOLATED.value, RagType.CHATBOT_SHARED.value, BOTH)


def user_id_of(user) -> int | None:
    """The Django user id behind a caller, or None for None / AnonymousUser / PartnerClient."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


def partner_id_of(user) -> str | None:
    """The partner behind a caller authenticated by a partner API key (a PartnerClient), else None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "partner_id", None)


def partner_rag_keys(partner_id: str) -> list[str]:
    """The rag_keys a partner owns: the one named after it first, then those staff granted it (a grant
    naming another partner never counts, even if that partner was created after the grant)."""
    from chat.models import Partner

    granted = (
        PartnerRagKey.objects.filter(partner_id=partner_id)
        .exclude(rag_key__in=Partner.objects.exclude(pk=partner_id).values("partner_id"))
        .values_list("rag_key", flat=True)
    )
    return [partner_id, *(key for key in granted if key != partner_id)]


def partner_owns(partner_id: str, rag_key: str) -> bool:
    return rag_key in partner_rag_keys(partner_id)


def is_staff(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def _check_search_rag_type(rag_type: str) -> None:
    if rag_type not in SEARCH_RAG_TYPES:
        raise ValueError(
            _("rag_type must be one of %(choices)s; got %(value)s.")
            % {"choices": ", ".join(SEARCH_RAG_TYPES), "value": repr(rag_type)}
        )


def scope_q(*, user, rag_key: str, rag_type: str, prefix: str = "") -> Q | None:
    """The row filter of a search scope, or None when the scope is empty (e.g. isolated search, no user)."""
    _check_search_rag_type(rag_type)
    user_id = user_id_of(user)
    parts = []
    if rag_type in (RagType.USER_ISOLATED, BOTH) and user_id is not None:
        parts.append(Q(**{f"{prefix}rag_type": RagType.USER_ISOLATED, f"{prefix}owner_id": user_id}))
    if rag_type in (RagType.CHATBOT_SHARED, BOTH):
        parts.append(Q(**{f"{prefix}rag_type": RagType.CHATBOT_SHARED, f"{prefix}owner__isnull": True}))
    if not parts:
        return None
    combined = parts[0] if len(parts) == 1 else parts[0] | parts[1]
    return Q(**{f"{prefix}rag_key": rag_key}) & combined


def partition_keys(*, user, rag_type: str) -> list[int]:
    """The BM25 statistics partitions (rag_scopestat.owner_key) of the same scope as scope_q: 0 is the
    shared partition, a user id that user's own chunks."""
    _check_search_rag_type(rag_type)
    user_id = user_id_of(user)
    keys = []
    if rag_type in (RagType.USER_ISOLATED, BOTH) and user_id is not None:
        keys.append(user_id)
    if rag_type in (RagType.CHATBOT_SHARED, BOTH):
        keys.append(0)
    return keys


def visible_chunks(*, user, rag_key: str, rag_type: str) -> QuerySet[Chunk]:
    """The chunks a caller may retrieve (see the module docstring)."""
    condition = scope_q(user=user, rag_key=rag_key, rag_type=rag_type)
    return Chunk.objects.none() if condition is None else Chunk.objects.filter(condition)


def empty_scope_notice(*, user, rag_key: str, rag_type: str) -> str | None:
    """What to tell a caller whose search scope holds nothing (an unknown or mistyped rag_key), else None.

    Only the caller's own scope is looked at, so it says nothing about other callers' documents."""
    if visible_chunks(user=user, rag_key=rag_key, rag_type=rag_type).exists():
        return None
    return _("rag_key '%(rag_key)s' holds no documents you can search (%(rag_type)s).") % {
        "rag_key": rag_key,
        "rag_type": rag_type,
    }


def searchable_documents(user) -> QuerySet[Document]:
    """The documents whose chunks a caller's `both` search can reach in any rag_key: the shared ones
    and, for a user, their own (what the OpenAI-compatible API lists as the caller's models)."""
    condition = Q(rag_type=RagType.CHATBOT_SHARED, owner__isnull=True)
    user_id = user_id_of(user)
    if user_id is not None:
        condition |= Q(rag_type=RagType.USER_ISOLATED, owner_id=user_id)
    return Document.objects.filter(condition)


def manageable_documents(user) -> QuerySet[Document]:
    """Documents a caller may list, read and delete through the API."""
    if is_staff(user):
        return Document.objects.all()
    partner_id = partner_id_of(user)
    if partner_id is not None:
        return Document.objects.filter(
            rag_type=RagType.CHATBOT_SHARED, owner__isnull=True, rag_key__in=partner_rag_keys(partner_id)
        )
    user_id = user_id_of(user)
    if user_id is None:
        return Document.objects.none()
    return Document.objects.filter(owner_id=user_id)


def can_write(user, rag_type: str) -> bool:
    """Shared documents need staff or a partner key (which rag_key: `can_use_rag_key`); isolated ones need a
    real user (the owner)."""
    if rag_type == RagType.CHATBOT_SHARED:
        return partner_id_of(user) is not None or is_staff(user)
    if rag_type == RagType.USER_ISOLATED:
        return user_id_of(user) is not None
    return False


def can_use_rag_key(user, rag_key: str) -> bool:
    """False only for a partner key naming a rag_key it does not own; users and staff are limited by scope."""
    partner_id = partner_id_of(user)
    return partner_id is None or partner_owns(partner_id, rag_key)
