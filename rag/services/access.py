"""Who may see and change which RAG rows. Every search, document API call and chat goes through here.

Search visibility (`visible_chunks`):
  * user_isolated  -> only chunks the caller owns in that rag_key (nothing for anonymous/partner callers);
  * chatbot_shared -> only owner-NULL chunks of that rag_key;
  * both           -> the union of the two, never anybody else's chunks.
Staff get no wider search scope: isolation holds for everybody.

Document management (`manageable_documents`): a user sees and deletes their own documents, a partner
key the shared ones, staff everything.
"""

from django.db.models import Q, QuerySet

from rag.models import Chunk, Document, RagType

BOTH = "both"
SEARCH_RAG_TYPES = (RagType.USER_ISOLATED.value, RagType.CHATBOT_SHARED.value, BOTH)


def user_id_of(user) -> int | None:
    """The Django user id behind a caller, or None for None / AnonymousUser / PartnerClient."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


def is_staff(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def scope_q(*, user, rag_key: str, rag_type: str, prefix: str = "") -> Q | None:
    """The row filter of a search scope, or None when the scope is empty (e.g. isolated search, no user)."""
    if rag_type not in SEARCH_RAG_TYPES:
        raise ValueError(f"rag_type must be one of {', '.join(SEARCH_RAG_TYPES)}; got {rag_type!r}")
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
    if rag_type not in SEARCH_RAG_TYPES:
        raise ValueError(f"rag_type must be one of {', '.join(SEARCH_RAG_TYPES)}; got {rag_type!r}")
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


def searchable_documents(user) -> QuerySet[Document]:
    """The documents whose chunks a caller's `both` search can reach in any rag_key: the shared ones
    and, for a user, their own (what the OpenAI-compatible API lists as the caller's models)."""
    condition = Q(rag_type=RagType.CHATBOT_SHARED, owner__isnull=True)
    user_id = user_id_of(user)
    if user_id is not None:
        condition |= Q(rag_type=RagType.USER_ISOLATED, owner_id=user_id)
    return Document.objects.filter(condition)


def manageable_documents(user, *, partner: bool = False) -> QuerySet[Document]:
    """Documents a caller may list, read and delete through the API."""
    if is_staff(user):
        return Document.objects.all()
    if partner:
        return Document.objects.filter(rag_type=RagType.CHATBOT_SHARED, owner__isnull=True)
    user_id = user_id_of(user)
    if user_id is None:
        return Document.objects.none()
    return Document.objects.filter(owner_id=user_id)


def can_write(user, rag_type: str, *, partner: bool = False) -> bool:
    """Shared documents need staff or a partner key; isolated ones need a real user (the owner)."""
    if rag_type == RagType.CHATBOT_SHARED:
        return partner or is_staff(user)
    if rag_type == RagType.USER_ISOLATED:
        return user_id_of(user) is not None
    return False
