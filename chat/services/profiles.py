"""Chat users and their profiles: find-or-create for an API account, preference updates, learning
from chat turns (seed 003 §3.5, §5.3 scenario 2) and the profile summary of GET /users/{id}/profile."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F

from chat.models import ChatUser, ShopCategory, UserCouponWallet, UserProfile, WalletStatus
from chat.services.user_context import invalidate_on_commit

MAX_PREFERRED_CATEGORIES = 5
MAX_LEARNED_ITEMS = 5
BUDGET_EMA_OLD_WEIGHT = 0.7
SPICY_LOW = ("덜 맵게", "순한맛", "안 맵게", "안맵게")
SPICY_HIGH = ("매운맛", "맵게", "아주매움", "더 맵게")


def chat_user_for(auth_user) -> ChatUser:
    """The chat user linked to a Django account, created on first use."""
    try:
        return ChatUser.objects.get(auth_user=auth_user)
    except ChatUser.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return ChatUser.objects.create(
                auth_user=auth_user,
                external_user_id=f"django:{auth_user.pk}",
                platform=ChatUser.Platform.WEB,
                nickname=auth_user.get_username()[:100],
            )
    except IntegrityError:  # a concurrent first request created it
        return ChatUser.objects.get(auth_user=auth_user)


def data_completeness(profile: UserProfile) -> Decimal:
    """Share of the onboarding facts we know: tastes, budget, spice, places, company, diet/favourites."""
    known = [
        bool(profile.preferred_categories),
        profile.average_budget is not None,
        bool(profile.taste_preferences),
        bool(profile.location_preferences),
        bool(profile.companion_patterns),
        bool(profile.dietary_restrictions or profile.favorite_shops),
    ]
    return (Decimal(sum(known)) / Decimal(len(known))).quantize(Decimal("0.01"))


def ensure_profile(user: ChatUser) -> tuple[UserProfile, bool]:
    profile, created = UserProfile.objects.get_or_create(user=user)
    return profile, created


def update_preferences(
    user: ChatUser,
    *,
    categories: list[str] | None = None,
    budget: int | None = None,
    dietary_restrictions: list[str] | None = None,
    good_influence_preference: Decimal | None = None,
) -> UserProfile:
    """PUT /users/{id}/preferences: replace the given preferences (None = leave as is)."""
    with transaction.atomic():
        profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
        if categories is not None:
            profile.preferred_categories = list(dict.fromkeys(categories))
        if budget is not None:
            profile.average_budget = budget
        if dietary_restrictions is not None:
            profile.dietary_restrictions = list(dict.fromkeys(dietary_restrictions))
        if good_influence_preference is not None:
            profile.good_influence_preference = good_influence_preference
        profile.data_completeness = data_completeness(profile)
        profile.save()
        invalidate_on_commit(user.pk)
    return profile


def _add_unique(items: list, value, limit: int) -> list:
    if not value or value in items:
        return items
    return [value, *items][:limit]


def learn_from_turn(user: ChatUser, entities: dict, *, category: str | None = None) -> bool:
    """Fold what a turn revealed into the profile (category, budget EMA, company, place, spice).

    Counts the interaction always; writes the learned fields and drops the cached context only when
    something changed. Returns whether the profile changed."""
    with transaction.atomic():
        profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
        before = (
            list(profile.preferred_categories),
            profile.average_budget,
            list(profile.companion_patterns),
            list(profile.location_preferences),
            dict(profile.taste_preferences or {}),
        )
        if category in ShopCategory.values:
            profile.preferred_categories = _add_unique(
                list(profile.preferred_categories), category, MAX_PREFERRED_CATEGORIES
            )
        budget = entities.get("budget")
        if isinstance(budget, int) and budget > 0:
            old = profile.average_budget
            profile.average_budget = (
                budget if old is None else round(BUDGET_EMA_OLD_WEIGHT * old + (1 - BUDGET_EMA_OLD_WEIGHT) * budget)
            )
        companions = entities.get("companions") or []
        count = entities.get("companion_count")
        pattern = companions[0] if companions else ("혼자" if count == 1 else None)
        profile.companion_patterns = _add_unique(list(profile.companion_patterns), pattern, MAX_LEARNED_ITEMS)
        profile.location_preferences = _add_unique(
            list(profile.location_preferences), entities.get("location"), MAX_LEARNED_ITEMS
        )
        options = " ".join(entities.get("menu_options") or [])
        if any(word in options for word in SPICY_LOW):
            profile.taste_preferences = {**(profile.taste_preferences or {}), "매운맛": 0.2}
        elif any(word in options for word in SPICY_HIGH):
            profile.taste_preferences = {**(profile.taste_preferences or {}), "매운맛": 0.8}
        after = (
            list(profile.preferred_categories),
            profile.average_budget,
            list(profile.companion_patterns),
            list(profile.location_preferences),
            dict(profile.taste_preferences or {}),
        )
        changed = after != before
        if changed:
            profile.data_completeness = data_completeness(profile)
            profile.interaction_count = F("interaction_count") + 1
            profile.save()
            invalidate_on_commit(user.pk)
        else:
            UserProfile.objects.filter(pk=profile.pk).update(interaction_count=F("interaction_count") + 1)
    return changed


def profile_summary(user: ChatUser) -> dict:
    """The body of GET /users/{id}/profile (seed §6.1)."""
    profile = UserProfile.objects.filter(user=user).first()
    orders = UserCouponWallet.objects.filter(user=user, status=WalletStatus.USED).aggregate(
        total=Count("id"), avg=Avg("used_order_amount")
    )
    recent = (profile.recent_orders if profile else []) or []
    prices = [order.get("price") for order in recent if isinstance(order.get("price"), int)]
    budget = profile.average_budget if profile else None
    return {
        "user_id": user.pk,
        "nickname": user.nickname,
        "preferences": {
            "categories": list(profile.preferred_categories) if profile else [],
            "budget": budget,
            "budget_range": {"min": min(prices), "max": max(prices)} if prices else {"min": budget, "max": budget},
            "dietary_restrictions": list(profile.dietary_restrictions) if profile else [],
            "taste_preferences": dict(profile.taste_preferences or {}) if profile else {},
            "good_influence_preference": float(profile.good_influence_preference) if profile else 0.5,
        },
        "statistics": {
            "total_orders": max(orders["total"], len(recent)),
            "favorite_shops": list(profile.favorite_shops) if profile else [],
            "avg_spending": round(sum(prices) / len(prices)) if prices else round(orders["avg"] or 0) or None,
            "interaction_count": profile.interaction_count if profile else 0,
            "data_completeness": float(profile.data_completeness) if profile else 0.0,
        },
    }
