"""One dining chat turn, end to end (seed 003 §5.2, DESIGN.md §5):

context (cached) -> NLU -> strategy and scenario grants (welcome / emergency coupons) -> candidates,
scores and MMR -> coupons -> Korean answer -> Conversation + RecommendationLog + PerformanceLog
(+ the analytics message log) with nlu/rag/response/total timings.

Authentication happens in the API layer; `chat_user` is already the caller. Logging never fails the
turn: a failed write is reported through `logging` and the answer still goes out.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
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
from ml_training.services.serving import nlu_classifier_for

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MEAL_TIMES = ("아침", "점심", "저녁", "야식")
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
        raise ApiError("invalid_session_id", "session_id must be a UUID.") from exc


def load_session(session_id: uuid.UUID, chat_user: ChatUser, is_new_session: bool) -> dict:
    """{"owner", "turn", "last"} of the session; another user's session is refused."""
    if is_new_session:
        return {"owner": chat_user.pk, "turn": 0, "last": None}
    cached = get_session_context(session_id)
    if cached is None:
        turns = Conversation.objects.filter(session_id=session_id)
        owners = set(turns.values_list("user_id", flat=True).distinct()[:2])
        if owners and owners != {chat_user.pk}:
            raise ApiError("session_forbidden", "This session belongs to another user.", status.HTTP_403_FORBIDDEN)
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
        raise ApiError("session_forbidden", "This session belongs to another user.", status.HTTP_403_FORBIDDEN)
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
    """(per-person budget, stated group total, capped by card balance?)."""
    stated = entities.get("budget")
    total = None
    per_person = stated
    if stated and group_size > 1 and stated >= group_size * GROUP_TOTAL_MIN_PER_PERSON:
        total, per_person = stated, stated // group_size
    profile = user_ctx.get("profile") or {}
    if per_person is None:
        per_person = profile.get("average_budget")
    card = user_ctx.get("card")
    capped = False
    if card and card["usable"]:
        if per_person is None:
            per_person = card["balance"]
        elif per_person > card["balance"]:
            per_person, capped = card["balance"], True
    return per_person, total, capped


def resolve_location(location: dict | None, entities: dict, user_ctx: dict, chat_user: ChatUser) -> Point | None:
    if location:  # {"latitude", "longitude"} (seed §6.1); {"lat", "lng"} is accepted too
        return Point(
            float(location.get("latitude", location.get("lat"))), float(location.get("longitude", location.get("lng")))
        )
    profile = user_ctx.get("profile") or {}
    for text in (entities.get("location"), *profile.get("location_preferences", ()), chat_user.preferred_location):
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
    *, chat_user: ChatUser, message: str, session_id: str | None, location: dict | None, context: dict | None
) -> dict:
    """Answer one message; returns the POST /api/v1/chat response body (seed §6.1)."""
    total = Timer.start()
    now = timezone.now()
    text = (message or "").strip()
    if not text:
        raise ApiError("invalid", "message must not be empty.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApiError("invalid", f"message must be at most {MAX_MESSAGE_CHARS} characters.")
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
    profile = user_ctx["profile"] or {}
    result = None
    if intent in RECOMMENDING_INTENTS:
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
        )
        result = recommend(query, now)
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
        card=card,
        coupons=coupons,
        issued=issued,
        emergency=emergency,
        conversation_style=profile.get("conversation_style", "friendly"),
    )
    answer = compose(facts)
    response_ms = response_timer.ms()
    processing_ms = total.ms()

    turn = session["turn"] + 1
    recommendations = [shop.as_dict() for shop in result.shops] if result else []
    recommendation_id, logged = _persist_turn(
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
        message_log=_message_log(chat_user, sid, text, answer, nlu, result, rag_ms, processing_ms),
        model_versions={"nlu": nlu_version},
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
                "expires_at": entry.expires_at.isoformat(),
            }
            for entry in issued
        ],
    }


def _persist_turn(
    *, chat_user, sid, text, answer, nlu, entities, turn, previous_intent, strategy, result, point, timings, now,
    message_log, model_versions,
) -> tuple[int | None, bool]:  # fmt: skip
    """Conversation + RecommendationLog + PerformanceLog, the recommendation counters, the user's
    interaction count and the analytics message log (`message_log`, fields of `record_exchange`),
    written together in one statement (chat/services/turn_log.py). Returns (the recommendation log id
    or None when nothing was recommended, whether the write succeeded). If it fails the analytics log
    is queued on its own, so the turn still reaches the message logs."""
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
    def write(collect) -> int | None:
        _, log_id = write_turn_log(
            conversation,
            log,
            performance,
            shop_ids=[shop.shop_id for shop in shops],
            menu_ids=[menu.menu_id for shop in shops for menu in shop.menus],
            interaction_of=chat_user.pk,
            along_with=enqueue_statement(**message_log),
            collect=collect,
        )
        return log_id

    collect = dining_turn_statement(conversation)
    try:
        try:
            return write(collect), True
        except Exception:
            if collect is None:
                raise
            # The training-data queue must not cost the turn its log; the daily preparation backfills it.
            logger.exception("dining chat turn of user %s: training-data collection failed", chat_user.pk)
            return write(None), True
    except Exception:  # noqa: BLE001 - the answer must still reach the user
        logger.exception("dining chat turn of user %s could not be logged", chat_user.pk)
        record_exchange(**message_log)  # never raises
        return None, False


def _coordinate(value: float) -> Decimal:
    return Decimal(str(round(value, 8)))


def _learn(chat_user: ChatUser, entities: dict, cached_profile: dict | None, *, counted: bool) -> None:
    try:
        learn_from_turn(
            chat_user, entities, category=entities.get("category"), cached_profile=cached_profile, counted=counted
        )
    except Exception:  # noqa: BLE001
        logger.exception("profile learning failed for user %s", chat_user.pk)


def _message_log(chat_user, sid, text, answer, nlu, result, rag_ms, processing_ms) -> dict:
    """The turn's analytics message log (seed 002 §3.1), as fields of `record_exchange`."""
    shops = result.shops if result else []
    return {
        "channel": "dining",
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
