"""Chat users and their profiles: find-or-create for an API account, preference updates, learning
from chat turns (seed 003 §3.5, §5.3 scenario 2) and the profile summary of GET /users/{id}/profile."""

from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, F
from django.utils import timezone

from chat.models import ChatUser, ShopCategory, UserCouponWallet, UserProfile, WalletStatus
from chat.services.user_context import invalidate_on_commit

MAX_PREFERRED_CATEGORIES = 5
MAX_LEARNED_ITEMS = 5
BUDGET_EMA_OLD_WEIGHT = 0.7
BUDGET_STEP = 500  # the learned average budget moves in 500-won steps, so it settles instead of churning
SPICY_LOW = ("덜 맵게", "순한맛", "안 맵게", "안맵게")
SPICY_HIGH = ("매운맛", "맵게", "아주매움", "더 맵게")


def chat_user_for(auth_user) -> ChatUser:
    """The chat user linked to a Django account, created on first use. No query when the account was
    read with it (token authentication joins it)."""
    relation = type(auth_user)._meta.get_field("chat_user")
    if relation.is_cached(auth_user) and relation.get_cached_value(auth_user) is not None:
        return relation.get_cached_value(auth_user)
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


LEARNED_FIELDS = (
    "preferred_categories",
    "average_budget",
    "companion_patterns",
    "location_preferences",
    "taste_preferences",
)


def data_completeness(profile) -> Decimal:
    """Share of the onboarding facts we know: tastes, budget, spice, places, company, diet/favourites.
    `profile` is a UserProfile or its dict form (user_context.profile_as_dict)."""
    value = profile.get if isinstance(profile, dict) else lambda name: getattr(profile, name)
    known = [
        bool(value("preferred_categories")),
        value("average_budget") is not None,
        bool(value("taste_preferences")),
        bool(value("location_preferences")),
        bool(value("companion_patterns")),
        bool(value("dietary_restrictions") or value("favorite_shops")),
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


def learned_budget(old: int | None, stated: int) -> int:
    """Exponential moving average (0.7 old + 0.3 new), rounded to BUDGET_STEP won."""
    if old is None:
        return stated
    average = BUDGET_EMA_OLD_WEIGHT * old + (1 - BUDGET_EMA_OLD_WEIGHT) * stated
    return int(round(average / BUDGET_STEP) * BUDGET_STEP)


def learned_changes(current: dict, entities: dict, category: str | None) -> dict:
    """The profile fields a turn changes (category, budget EMA, company, place, spice), given the
    current values of LEARNED_FIELDS. Empty when there is nothing new."""
    changes = {}
    if category in ShopCategory.values and category not in current["preferred_categories"]:
        changes["preferred_categories"] = _add_unique(
            list(current["preferred_categories"]), category, MAX_PREFERRED_CATEGORIES
        )
    budget = entities.get("budget")
    if isinstance(budget, int) and budget > 0:
        average = learned_budget(current["average_budget"], budget)
        if average != current["average_budget"]:
            changes["average_budget"] = average
    companions = entities.get("companions") or []
    pattern = companions[0] if companions else ("혼자" if entities.get("companion_count") == 1 else None)
    if pattern and pattern not in current["companion_patterns"]:
        changes["companion_patterns"] = _add_unique(list(current["companion_patterns"]), pattern, MAX_LEARNED_ITEMS)
    place = entities.get("location")
    if place and place not in current["location_preferences"]:
        changes["location_preferences"] = _add_unique(list(current["location_preferences"]), place, MAX_LEARNED_ITEMS)
    options = " ".join(entities.get("menu_options") or [])
    spicy = 0.2 if any(w in options for w in SPICY_LOW) else 0.8 if any(w in options for w in SPICY_HIGH) else None
    tastes = dict(current["taste_preferences"] or {})
    if spicy is not None and tastes.get("매운맛") != spicy:
        changes["taste_preferences"] = {**tastes, "매운맛": spicy}
    return changes


def count_interaction(user: ChatUser) -> None:
    UserProfile.objects.filter(user=user).update(interaction_count=F("interaction_count") + 1)


_GUARDED_UPDATE = (
    f"UPDATE {UserProfile._meta.db_table} SET {{assignments}}, interaction_count = interaction_count + %s"
    f" WHERE {UserProfile._meta.get_field('user').column} = %s AND updated_at = %s"
)


def _update_unless_changed(user: ChatUser, since, values: dict, *, interactions: int) -> bool:
    """Set `values` (field name -> value) and add `interactions` to the count, unless the profile was
    updated after `since`; whether it was. Written out: compiling the ORM's `.update()` cost the turn more
    CPU than the database spends on it."""
    assignments, params = [], []
    for name, value in values.items():
        field = UserProfile._meta.get_field(name)
        assignments.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(
            _GUARDED_UPDATE.format(assignments=", ".join(assignments)), [*params, interactions, user.pk, since]
        )
        return cursor.rowcount == 1


def learn_from_turn(
    user: ChatUser,
    entities: dict,
    *,
    category: str | None = None,
    cached_profile: dict | None = None,
    counted: bool = False,
) -> bool:
    """Fold what a turn revealed into the profile and count the interaction; returns whether the
    learned fields changed (then the cached context is dropped on commit).

    With the cached profile this is one UPDATE guarded by the cached `updated_at` (optimistic: a
    profile changed meanwhile matches no row, and the locked read-modify-write below runs instead).
    `counted`: the caller already counted this interaction (the turn log does)."""
    step = 0 if counted else 1
    if cached_profile is not None and cached_profile.get("updated_at"):
        changes = learned_changes(cached_profile, entities, category)
        if not changes:
            if not counted:
                count_interaction(user)
            return False
        merged = {**cached_profile, **changes}
        values = {**changes, "data_completeness": data_completeness(merged), "updated_at": timezone.now()}
        if _update_unless_changed(user, cached_profile["updated_at"], values, interactions=step):
            invalidate_on_commit(user.pk)
            return True
    with transaction.atomic():
        profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
        changes = learned_changes({name: getattr(profile, name) for name in LEARNED_FIELDS}, entities, category)
        for name, value in changes.items():
            setattr(profile, name, value)
        if changes:
            profile.data_completeness = data_completeness(profile)
            profile.interaction_count = F("interaction_count") + step
            profile.save()
            invalidate_on_commit(user.pk)
        elif not counted:
            UserProfile.objects.filter(pk=profile.pk).update(interaction_count=F("interaction_count") + 1)
    return bool(changes)


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
