"""One dining chat turn, end to end (seed 003 §5.2, DESIGN.md §5):

context (cached) -> NLU -> strategy and scenario grants (welcome / emergency coupons) -> candidates,
scores and MMR -> coupons -> Korean answer -> Conversation + RecommendationLog + PerformanceLog
(+ the analytics message log) with nlu/rag/response/total timings.

Authentication happens in the API layer; `chat_user` is already the caller. Logging never fails the
turn: a failed write is reported through `logging` and the answer still goes out.
"""

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from analytics.services.message_logs import enqueue_statement, record_exchange
from chat.models import (
    ChatUser,
    Conversation,
    Intent,
    PerformanceLog,
    RecommendationLog,
    RecommendationMethod,
    UserStrategy,
)
from chat.services.business_hours import SEOUL
from chat.services.coupons import grant_emergency_coupon, grant_welcome_coupons, usable_coupon_terms
from chat.services.geo import Point, find_place
from chat.services.nlu import understand
from chat.services.profiles import ensure_profile, learn_from_turn
from chat.services.recommend import RecommendQuery, RecommendResult, recommend
from chat.services.respond import RECOMMENDING_INTENTS, TurnFacts, compose
from chat.services.turn_log import write_turn_log
from chat.services.user_context import get_session_context, get_user_context, save_session_context
from config.api.exceptions import ApiError
from ml_training.services.collection import dining_turn_statement
from ml_training.services.quality import turn_quality_score
from ml_training.services.serving import nlu_classifier_for, reranker_for

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MEAL_TIMES = ("아침", "점심", "저녁", "야식")
# meal -> (window start, window end, the time a meal still ahead today is looked up at)
MEAL_WINDOWS = {
    "아침": (dt.time(6), dt.time(10, 30), dt.time(8)),
    "점심": (dt.time(11), dt.time(14, 30), dt.time(12)),
    "저녁": (dt.time(17), dt.time(21), dt.time(18)),
    "야식": (dt.time(21), dt.time(4), dt.time(22)),
}
VISIT_GRACE = dt.timedelta(hours=1)  # "밤 11시" asked at 23:40 still means tonight, i.e. now
GROUP_TOTAL_MIN_PER_PERSON = 4000  # "4명이서 3만원" is a total; "4명이서 3천원" is per person
DATA_BUILDING_BELOW = 0.5
RESPONDER_MODEL = "dining-template-v1"


@dataclass
class Timer:
    started: float

    @classmethod
    def start(cls) -> "Timer":
        return cls(time.perf_counter())

    def ms(self) -> int:
        return max(0, round((time.perf_counter() - self.started) * 1000))


def parse_session_id(session_id) -> uuid.UUID:
    if session_id in (None, ""):
        return uuid.uuid4()
    try:
        return uuid.UUID(str(session_id))
    except ValueError as exc:
        raise ApiError("invalid_session_id", _("session_id must be a UUID.")) from exc


def load_session(session_id: uuid.UUID, chat_user: ChatUser, is_new_session: bool) -> dict:
    """{"owner", "turn", "last"} of the session; another user's session is refused."""
    if is_new_session:
        return {"owner": chat_user.pk, "turn": 0, "last": None}
    cached = get_session_context(session_id)
    if cached is None:
        turns = Conversation.objects.filter(session_id=session_id)
        owners = set(turns.values_list("user_id", flat=True).distinct()[:2])
        if owners and owners != {chat_user.pk}:
            raise ApiError("session_forbidden", _("This session belongs to another user."), status.HTTP_403_FORBIDDEN)
        last = (
            turns.order_by("-conversation_turn", "-id")
            .values("conversation_turn", "extracted_intent", "extracted_entities")
            .first()
        )
        cached = {
            "owner": chat_user.pk,
            "turn": last["conversation_turn"] if last else 0,
            "last": {"intent": last["extracted_intent"], "entities": last["extracted_entities"]} if last else None,
        }
    if cached["owner"] != chat_user.pk:
        raise ApiError("session_forbidden", _("This session belongs to another user."), status.HTTP_403_FORBIDDEN)
    return cached


def choose_strategy(*, is_new: bool, intent: str, entities: dict, profile: dict | None) -> str:
    if is_new:
        return UserStrategy.ONBOARDING.value
    if intent == Intent.EMERGENCY_FOOD or entities.get("urgency") == "high":
        return UserStrategy.URGENT.value
    if profile is None or profile["data_completeness"] < DATA_BUILDING_BELOW:
        return UserStrategy.DATA_BUILDING.value
    return UserStrategy.NORMAL.value


def group_size_of(intent: str, entities: dict) -> int:
    count = entities.get("companion_count")
    if isinstance(count, int) and count > 0:
        return min(count, 50)
    if intent == Intent.GROUP_DINING and entities.get("companions"):
        return len(entities["companions"]) + 1
    return 1


def resolve_budget(entities: dict, user_ctx: dict, group_size: int) -> tuple[int | None, int | None, bool]:
    """(per-person budget, stated group total, capped by card balance?). Sets entities["budget_scope"]
    for a stated amount, so a follow-up amount ("그럼 8천원이면?") keeps the same meaning."""
    stated = entities.get("budget")
    total = None
    per_person = stated
    if stated:
        scope = entities.get("budget_scope")
        if scope is None:
            big = group_size > 1 and stated >= group_size * GROUP_TOTAL_MIN_PER_PERSON
            scope = "total" if big else "per_person"
        entities["budget_scope"] = scope
        if scope == "total" and group_size > 1:
            total, per_person = stated, stated // group_size
    profile = user_ctx.get("profile") or {}
    card = user_ctx.get("card")
    usable_card = bool(card and card["usable"])
    if per_person is None and entities.get("no_money"):
        # "돈이 하나도 없어": only what costs nothing in cash - the card balance and the coupons.
        per_person = card["balance"] if usable_card else 0
    if per_person is None:
        per_person = profile.get("average_budget")
    capped = False
    if usable_card:
        if per_person is None:
            per_person = card["balance"]
        elif per_person > card["balance"]:
            per_person, capped = card["balance"], True
    return per_person, total, capped


def visit_time_of(entities: dict, now: dt.datetime) -> dt.datetime | None:
    """When the user means to eat, when that is not now: the clock time they said ("밤 11시" -> 23:00,
    tomorrow once it is more than an hour past), or a meal still ahead today ("저녁" at 15:30 -> 18:00).
    None means now (no time said, a meal happening now or already over today)."""
    local = now.astimezone(SEOUL)
    if entities.get("visit_time"):
        hour, minute = map(int, entities["visit_time"].split(":"))
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at < local - VISIT_GRACE:
            at += dt.timedelta(days=1)
        return at if at > local else None
    window = MEAL_WINDOWS.get(entities.get("meal_time"))
    if window is None:
        return None
    start, end, looked_up_at = window
    clock = local.time()
    if end < start:  # the window crosses midnight (야식): outside it, it is still ahead today
        inside, ahead = clock >= start or clock < end, True
    else:
        inside, ahead = start <= clock < end, clock < start
    if inside or not ahead:
        return None
    return local.replace(hour=looked_up_at.hour, minute=looked_up_at.minute, second=0, microsecond=0)


def resolve_location(location: dict | None, entities: dict, user_ctx: dict, chat_user: ChatUser) -> Point | None:
    """The request's coordinates, else the place named in the message, else (nothing named, or just
    "근처") where the user last asked from, else their profile's places. None: ask, rather than mixing
    shops of distant areas or searching one the user did not mean."""
    if location:  # {"latitude", "longitude"} (seed §6.1); {"lat", "lng"} is accepted too
        return Point(
            float(location.get("latitude", location.get("lat"))), float(location.get("longitude", location.get("lng")))
        )
    place = entities.get("location")
    if place and "근처" not in place:  # a place named but not known: ask, do not search somewhere else
        return find_place(place)
    last = (
        RecommendationLog.objects.filter(user=chat_user, user_latitude__isnull=False)
        .order_by("-timestamp")
        .values_list("user_latitude", "user_longitude")
        .first()
    )
    if last is not None:
        return Point(float(last[0]), float(last[1]))
    profile = user_ctx.get("profile") or {}
    for text in (*profile.get("location_preferences", ()), chat_user.preferred_location):
        point = find_place(text)
        if point is not None:
            return point
    return None


def recommendation_method(intent: str, strategy: str, result: RecommendResult) -> str:
    if intent == Intent.EMERGENCY_FOOD or strategy == UserStrategy.URGENT:
        return RecommendationMethod.EMERGENCY
    if not result.found or result.widened:
        return RecommendationMethod.FALLBACK
    if any(shop.applicable_coupons for shop in result.shops):
        return RecommendationMethod.COUPON_BASED
    return RecommendationMethod.HYBRID


def _score(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(min(1.0, max(0.0, value)), 3)))


def handle_turn(
    *,
    chat_user: ChatUser,
    message: str,
    session_id: str | None,
    location: dict | None,
    context: dict | None,
    channel: str = "dining",
    now: dt.datetime | None = None,
) -> dict:
    """Answer one message; returns the POST /api/v1/chat response body (seed §6.1).

    `channel` is the analytics channel the turn is logged under (the OpenAI-compatible API's is "openai");
    `now` is the moment the message is answered at (a fixed clock in tests).
    """
    total = Timer.start()
    now = now or timezone.now()
    text = (message or "").strip()
    if not text:
        raise ApiError("invalid", _("message must not be empty."))
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApiError("invalid", _("message must be at most %(limit)d characters.") % {"limit": MAX_MESSAGE_CHARS})
    sid = parse_session_id(session_id)
    session = load_session(sid, chat_user, is_new_session=session_id in (None, ""))
    user_ctx = get_user_context(chat_user)

    nlu_timer = Timer.start()
    classifier, nlu_version = nlu_classifier_for(chat_user.pk)
    nlu = understand(text, context=session["last"], classifier=classifier)
    nlu_ms = nlu_timer.ms()
    entities = dict(nlu.entities)
    extra = context or {}
    if extra.get("companion_count"):
        entities["companion_count"] = int(extra["companion_count"])
    if not entities.get("meal_time") and extra.get("time_of_day") in MEAL_TIMES:
        entities["meal_time"] = extra["time_of_day"]
    intent = nlu.intent

    is_new = user_ctx["profile"] is None
    strategy = choose_strategy(is_new=is_new, intent=intent, entities=entities, profile=user_ctx["profile"])
    issued = []
    if is_new:
        ensure_profile(chat_user)
        issued.extend(grant_welcome_coupons(chat_user, now))
    card = user_ctx["card"]
    emergency = None
    if card and card["usable"] and card["balance"] < card["balance_alert_threshold"]:
        emergency = grant_emergency_coupon(chat_user, now)
        if emergency is not None:
            issued.append(emergency)

    rag_timer = Timer.start()
    coupons = usable_coupon_terms(chat_user, now)
    group_size = group_size_of(intent, entities)
    budget, group_total, capped = resolve_budget(entities, user_ctx, group_size)
    point = resolve_location(location, entities, user_ctx, chat_user)
    visit_at = visit_time_of(entities, now)
    profile = user_ctx["profile"] or {}
    no_money = bool(entities.get("no_money")) and not entities.get("budget")
    result = None
    reranker, recommendation_version = reranker_for(chat_user.pk)
    if intent in RECOMMENDING_INTENTS and point is not None:
        query = RecommendQuery(
            budget=budget,
            location=point,
            category=entities.get("category"),
            food_type=entities.get("food_type"),
            has_active_card=bool(card and card["usable"]),
            companion_count=group_size,
            menu_options=tuple(entities.get("menu_options") or ()),
            preferred_categories=tuple(profile.get("preferred_categories", ())),
            favorite_shops=tuple(profile.get("favorite_shops", ())),
            good_influence_preference=profile.get("good_influence_preference", 0.5),
            coupons=tuple(coupons),
            cheapest_first=no_money,
        )
        result = recommend(query, visit_at or now, reranker=reranker)
        if no_money and not result.found:  # nothing free: the cheapest meals, said as such
            result = recommend(replace(query, budget=None), visit_at or now, reranker=reranker)
    rag_ms = rag_timer.ms()

    response_timer = Timer.start()
    facts = TurnFacts(
        intent=intent,
        strategy=strategy,
        entities=entities,
        budget=budget,
        budget_capped_by_balance=capped,
        group_size=group_size,
        group_total_budget=group_total,
        result=result,
        location_known=point is not None,
        visit_at=visit_at,
        now=now,
        no_money=no_money,
        card=card,
        coupons=coupons,
        issued=issued,
        emergency=emergency,
        conversation_style=profile.get("conversation_style", "friendly"),
    )
    answer = compose(facts)
    response_ms = response_timer.ms()
    processing_ms = total.ms()

    turn = session["turn"] + 1  # what the session context says; the stored turn is the database's
    recommendations = [shop.as_dict() for shop in result.shops] if result else []
    conversation_id, recommendation_id, logged, turn = _persist_turn(
        chat_user=chat_user,
        sid=sid,
        text=text,
        answer=answer,
        nlu=nlu,
        entities=entities,
        turn=turn,
        previous_intent=(session["last"] or {}).get("intent") or "",
        strategy=strategy,
        result=result,
        point=point,
        timings={"nlu": nlu_ms, "rag": rag_ms, "response": response_ms, "total": processing_ms},
        now=now,
        message_log=_message_log(chat_user, sid, text, answer, nlu, result, rag_ms, processing_ms, channel),
        model_versions={"nlu": nlu_version, "recommendation": recommendation_version},
    )
    _learn(chat_user, entities, user_ctx["profile"], counted=logged)
    save_session_context(sid, {"owner": chat_user.pk, "turn": turn, "last": {"intent": intent, "entities": entities}})
    return {
        "response": answer,
        "recommendations": recommendations,
        "session_info": {
            "session_id": str(sid),
            "intent": intent,
            "confidence": round(float(nlu.confidence), 3),
            "conversation_turn": turn,
            "entities": entities,
            "strategy": strategy,
            "recommendation_id": recommendation_id,
            "conversation_id": conversation_id,
        },
        "search": {
            "budget": budget,
            "group_size": group_size,
            "radius_m": result.radius_m if result else None,
            "radius_widened": bool(result and result.widened),
            "total_candidates": result.total_candidates if result else 0,
        },
        "coupons_issued": [
            {
                "coupon_id": entry.coupon_id,
                "name": entry.coupon.coupon_name,
                "acquisition_source": entry.acquisition_source,
                "expires_at": timezone.localtime(entry.expires_at).isoformat(),
            }
            for entry in issued
        ],
    }


def _persist_turn(
    *, chat_user, sid, text, answer, nlu, entities, turn, previous_intent, strategy, result, point, timings, now,
    message_log, model_versions,
) -> tuple[int | None, int | None, bool, int]:  # fmt: skip
    """Conversation + RecommendationLog + PerformanceLog, the recommendation counters, the user's
    interaction count and the analytics message log (`message_log`, fields of `record_exchange`),
    written together in one statement (chat/services/turn_log.py). Returns (the conversation row id,
    the recommendation log id or None when nothing was recommended, whether the write succeeded, the
    turn number: the stored one, which concurrent turns of the session never share); both ids are None
    when the write failed. If it fails the analytics log is queued on its own, so the turn still reaches
    the message logs."""
    shops = result.shops if result else []
    conversation = Conversation(
        user=chat_user,
        session_id=sid,
        input_text=text,
        response_text=answer,
        timestamp=now,
        extracted_intent=nlu.intent,
        intent_confidence=_score(nlu.confidence),
        extracted_entities=entities,
        conversation_turn=turn,
        previous_intent=previous_intent,
        user_strategy=strategy,
        processing_time_ms=timings["total"],
        nlu_time_ms=timings["nlu"],
        rag_time_ms=timings["rag"],
        response_time_ms=timings["response"],
        recommended_shop_ids=[shop.shop_id for shop in shops],
        model_versions=model_versions,
        applied_coupon_ids=sorted({c for shop in shops for c in shop.applicable_coupons}),
        response_quality_score=turn_quality_score(
            confidence=nlu.confidence, response_ms=timings["total"], has_recommendations=bool(shops), response=answer
        ),
    )
    log = None
    if result is not None:
        scores = [shop.score for shop in shops]
        mean_score = sum(scores) / len(scores) if scores else None
        log = RecommendationLog(
            user=chat_user,
            session_id=sid,
            timestamp=now,
            request_intent=nlu.intent,
            request_entities=entities,
            user_latitude=_coordinate(point.latitude) if point else None,
            user_longitude=_coordinate(point.longitude) if point else None,
            recommendations=[shop.log_dict() for shop in shops],
            recommendation_count=len(shops),
            recommendation_method=recommendation_method(nlu.intent, strategy, result),
            confidence_score=_score(mean_score),
            total_candidates=result.total_candidates,
            filtering_steps=result.filtering_steps,
            diversity_score=_score(result.diversity_score),
            personalization_score=_score(
                sum(shop.features["preference"] for shop in shops) / len(shops) if shops else None
            ),
            relevance_score=_score(mean_score),
        )
    stages = {"nlu": timings["nlu"], "recommendation": timings["rag"], "response": timings["response"]}
    performance = PerformanceLog(
        operation_type="dining_chat_turn",
        total_time_ms=timings["total"],
        nlu_time_ms=timings["nlu"],
        rag_time_ms=timings["rag"],
        recommendation_time_ms=timings["rag"],
        response_time_ms=timings["response"],
        bottleneck_component=max(stages, key=stages.get),
        created_at=now,
    )

    def write(collect) -> tuple[int, int | None]:
        return write_turn_log(
            conversation,
            log,
            performance,
            shop_ids=[shop.shop_id for shop in shops],
            menu_ids=[menu.menu_id for shop in shops for menu in shop.menus],
            interaction_of=chat_user.pk,
            along_with=enqueue_statement(**message_log),
            collect=collect,
        )

    collect = dining_turn_statement(conversation)
    try:
        try:
            conversation_id, log_id = write(collect)
        except Exception:
            if collect is None:
                raise
            # The training-data queue must not cost the turn its log; the daily preparation backfills it.
            logger.exception("dining chat turn of user %s: training-data collection failed", chat_user.pk)
            conversation_id, log_id = write(None)
        return conversation_id, log_id, True, conversation.conversation_turn
    except Exception:  # noqa: BLE001 - the answer must still reach the user
        logger.exception("dining chat turn of user %s could not be logged", chat_user.pk)
        record_exchange(**message_log)  # never raises
        return None, None, False, turn


def _coordinate(value: float) -> Decimal:
    return Decimal(str(round(value, 8)))


def _learn(chat_user: ChatUser, entities: dict, cached_profile: dict | None, *, counted: bool) -> None:
    try:
        learn_from_turn(
            chat_user, entities, category=entities.get("category"), cached_profile=cached_profile, counted=counted
        )
    except Exception:  # noqa: BLE001
        logger.exception("profile learning failed for user %s", chat_user.pk)


def _message_log(chat_user, sid, text, answer, nlu, result, rag_ms, processing_ms, channel) -> dict:
    """The turn's analytics message log (seed 002 §3.1), as fields of `record_exchange`."""
    shops = result.shops if result else []
    return {
        "channel": channel,
        "collection_name": "dining",
        "session_id": str(sid),
        "user_id": chat_user.pk,
        "user_message": text,
        "assistant_message": answer,
        "llm_model": RESPONDER_MODEL,
        "retrieval_info": {
            "query": text,
            "retrieved_count": len(shops),
            "reranking_used": bool(shops),
            "top_scores": [round(shop.score, 3) for shop in shops],
        },
        "performance": {
            "response_time_ms": processing_ms,
            "token_count": len(nlu.tokens),
            "retrieval_time_ms": rag_ms,
        },
    }
