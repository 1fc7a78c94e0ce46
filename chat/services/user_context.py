"""User and session context for the dining chat, cached in Redis (seed 003 §5.2 step 2, §6.3).

- `user:{id}:profile` (TTL 1 h): the chat user's profile and meal card, as plain JSON. It is dropped
  whenever the profile or card changes: explicitly by the services below (on commit) and by the
  post_save/post_delete receivers in chat/signals.py for admin edits and other writers. Writers
  using QuerySet.update() on those tables must call `invalidate_user_context()` themselves.
- `session:{uuid}:context` (TTL 24 h): the last turn's intent/entities (for follow-ups such as
  "그럼 8천원이면?"), the turn counter and the session owner.

The wallet is not cached: coupons expire by the clock and one indexed query reads them fresh.
A Redis outage degrades to database reads; it never fails a chat turn.
"""

import functools
import logging

from django.core.cache import cache
from django.db import transaction

from chat.models import ChatUser, FoodcardUser, UserProfile
from config.joined_rows import columns, fetch

logger = logging.getLogger(__name__)

USER_CONTEXT_TTL = 3600
SESSION_CONTEXT_TTL = 24 * 3600
RECENT_ORDERS_KEPT = 10


def user_context_key(user_id: int) -> str:
    return f"dining:user:{user_id}:profile"


def session_context_key(session_id) -> str:
    return f"dining:session:{session_id}:context"


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation
        logger.warning("cache read failed for %s", key, exc_info=True)
        return None


def _cache_set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("cache write failed for %s", key, exc_info=True)


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # noqa: BLE001
        logger.warning("cache delete failed for %s", key, exc_info=True)


def profile_as_dict(profile: UserProfile) -> dict:
    return {
        "preferred_categories": list(profile.preferred_categories),
        "average_budget": profile.average_budget,
        "favorite_shops": list(profile.favorite_shops),
        "dietary_restrictions": list(profile.dietary_restrictions),
        "conversation_style": profile.conversation_style,
        "taste_preferences": dict(profile.taste_preferences or {}),
        "companion_patterns": list(profile.companion_patterns),
        "location_preferences": list(profile.location_preferences),
        "good_influence_preference": float(profile.good_influence_preference),
        "data_completeness": float(profile.data_completeness),
        "updated_at": profile.updated_at,  # optimistic-update guard of profile learning
    }


def card_as_dict(card: FoodcardUser) -> dict:
    return {
        "card_type": card.card_type,
        "balance": card.balance,
        "status": card.status,
        "usable": card.is_usable,
        "balance_alert_threshold": card.balance_alert_threshold,
    }


@functools.cache
def user_context_sql() -> str:
    """The profile and meal card of a chat user (either may be missing: NULL columns), in one row. Hand-written:
    it runs on most dining turns (config.joined_rows)."""
    return (
        f"SELECT {columns(UserProfile, 'p')}, {columns(FoodcardUser, 'f')} FROM {ChatUser._meta.db_table} u "
        f"LEFT JOIN {UserProfile._meta.db_table} p ON p.user_id = u.id "
        f"LEFT JOIN {FoodcardUser._meta.db_table} f ON f.user_id = u.id WHERE u.id = %s"
    )


def build_user_context(user_id: int) -> dict:
    """The user's profile and meal card, read fresh in one query (both are one-to-one with the user)."""
    [profile, card] = next(iter(fetch(user_context_sql(), [user_id], UserProfile, FoodcardUser)), [None, None])
    return {
        "user_id": user_id,
        "profile": profile_as_dict(profile) if profile else None,
        "card": card_as_dict(card) if card else None,
    }


def get_user_context(user: ChatUser) -> dict:
    key = user_context_key(user.pk)
    context = _cache_get(key)
    if context is None:
        context = build_user_context(user.pk)
        _cache_set(key, context, USER_CONTEXT_TTL)
    return context


def invalidate_user_context(user_id: int) -> None:
    _cache_delete(user_context_key(user_id))


def invalidate_on_commit(user_id: int) -> None:
    transaction.on_commit(lambda: invalidate_user_context(user_id))


def get_session_context(session_id) -> dict | None:
    return _cache_get(session_context_key(session_id))


def save_session_context(session_id, context: dict) -> None:
    _cache_set(session_context_key(session_id), context, SESSION_CONTEXT_TTL)


def record_order(user: ChatUser, order: dict) -> None:
    """Prepend an order to the profile's recent_orders (newest first, 10 kept); call inside the
    order's transaction. The cached context is dropped when it commits (seed §6.3 order_complete)."""
    profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
    profile.recent_orders = [order, *(profile.recent_orders or [])][:RECENT_ORDERS_KEPT]
    profile.save(update_fields=["recent_orders", "updated_at"])
    invalidate_on_commit(user.pk)
