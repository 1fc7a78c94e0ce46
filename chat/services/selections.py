"""What the user did with a recommendation: the shop cards opened, the chosen shop (and menu), time to
decide, a rating.

A choice is stored on recommendations_log (and the conversation's selected_shop) for CTR, the popularity
job and the training pipeline (a `recommendation` queue row and a recommendation_feedback row, in the same
transaction); the chosen shop also becomes one of the user's favourites. An opened card is only training
data: one `clicked` recommendation_feedback row per shop, which the re-ranker grades 0.5."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import status

from chat.models import Conversation, RecommendationLog, UserProfile
from chat.services.user_context import invalidate_on_commit
from config.api.exceptions import ApiError
from ml_training.services.collection import collect_click, collect_selection, record_rating

FAVORITE_SHOPS_KEPT = 10
MAX_DECISION_MS = 24 * 3600 * 1000


def record_selection(
    log: RecommendationLog,
    *,
    shop_id: int | None = None,
    menu_id: int | None = None,
    time_to_decision_ms: int | None = None,
    rating: int | None = None,
    now: dt.datetime | None = None,
) -> RecommendationLog:
    """Record a choice (once) and/or a 1-5 rating on a recommendation log row."""
    now = now or timezone.now()
    if shop_id is None and rating is None:
        raise ApiError("invalid", gettext("Send shop_id (the choice), rating, or both."))
    with transaction.atomic():
        if shop_id is not None:
            _select(log, shop_id=shop_id, menu_id=menu_id, time_to_decision_ms=time_to_decision_ms, now=now)
        if rating is not None:
            RecommendationLog.objects.filter(pk=log.pk).update(feedback_rating=rating)
            record_rating(log, rating)
    log.refresh_from_db()
    return log


@dataclass(frozen=True)
class Click:
    """An opened shop card as stored: a repeat gives the first click's row, time and delay."""

    recommendation_id: int
    shop_id: int
    feedback_id: int | None  # None: collection is switched off, nothing was stored
    clicked_at: dt.datetime
    time_to_action_ms: int
    created: bool


def record_click(
    log: RecommendationLog, *, shop_id: int, time_to_action_ms: int | None = None, now: dt.datetime | None = None
) -> Click:
    """Record (once per shop) that the user opened the card of a shop of this recommendation."""
    now = now or timezone.now()
    recommended_item(log, shop_id)
    if time_to_action_ms is None:
        time_to_action_ms = elapsed_ms(log, now)
    feedback, created = collect_click(log, shop_id=shop_id, time_to_action_ms=time_to_action_ms, now=now)
    if feedback is None:
        return Click(log.pk, shop_id, None, now, time_to_action_ms, created=False)
    return Click(log.pk, shop_id, feedback.pk, feedback.action_timestamp, feedback.time_to_action_ms, created)


def recommended_item(log: RecommendationLog, shop_id: int) -> dict:
    """The shop's entry in the recommendation, or 422 `not_recommended`."""
    item = next((item for item in log.recommendations if item.get("shop_id") == shop_id), None)
    if item is None:
        raise ApiError(
            "not_recommended",
            gettext("Shop %(shop_id)s was not part of this recommendation.") % {"shop_id": shop_id},
            status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return item


def elapsed_ms(log: RecommendationLog, now: dt.datetime) -> int:
    """Milliseconds from the recommendation to `now`, within 0 .. MAX_DECISION_MS."""
    return min(MAX_DECISION_MS, max(0, round((now - log.timestamp).total_seconds() * 1000)))


def _select(log: RecommendationLog, *, shop_id: int, menu_id: int | None, time_to_decision_ms: int | None, now):
    item = recommended_item(log, shop_id)
    if menu_id is not None and menu_id not in {menu.get("menu_id") for menu in item.get("menus", [])}:
        raise ApiError(
            "not_recommended",
            gettext("Menu %(menu_id)s was not recommended at this shop.") % {"menu_id": menu_id},
            status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if time_to_decision_ms is None:
        time_to_decision_ms = elapsed_ms(log, now)
    updated = RecommendationLog.objects.filter(pk=log.pk, user_final_selection__isnull=True).update(
        user_final_selection_id=shop_id,
        selected_menu_id=menu_id,
        selected_at=now,
        time_to_decision_ms=time_to_decision_ms,
    )
    if not updated:
        raise ApiError("already_selected", gettext("A choice was already recorded for this recommendation."), 409)
    collect_selection(log, shop_id=shop_id, menu_id=menu_id, time_to_decision_ms=time_to_decision_ms, now=now)
    if log.conversation_id:
        Conversation.objects.filter(pk=log.conversation_id).update(selected_shop_id=shop_id)
    if log.user_id:
        profile, _ = UserProfile.objects.select_for_update().get_or_create(user_id=log.user_id)
        if shop_id not in profile.favorite_shops:
            profile.favorite_shops = [shop_id, *profile.favorite_shops][:FAVORITE_SHOPS_KEPT]
            profile.save(update_fields=["favorite_shops", "updated_at"])
        invalidate_on_commit(log.user_id)
