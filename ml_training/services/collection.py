"""Filling the training-data queue from the chats, each source row exactly once (seed 003 §9.10).

- A dining turn rides the turn-log statement (`dining_turn_statement`, a CTE of the one INSERT that
  writes the conversation): confidence > 0.7 queues an auto-labelled `nlu` sample; confidence < 0.5
  or intent UNKNOWN queues a high-priority review item instead; 0.5-0.7 queues nothing until
  negative feedback makes it worth a human (`flag_for_review`).
- A recommendation selection (`collect_selection`, in the selection's transaction) queues a
  `recommendation` sample and writes its `recommendation_feedback` row; an opened shop card
  (`collect_click`) writes a `clicked` row, once per recommendation and shop.
- Knowledge retrievals are counted per document from the log outbox's flush
  (`count_retrievals`, in the flush's transaction); feedback moves the same counters.

Every queue row is keyed (source_table, source_id, model_type) with INSERT ... ON CONFLICT, so a
retried request, a repeated selection or racing workers add nothing twice; every string that
enters raw_data goes through the masker.
"""

import json
from collections import Counter
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef
from django.db.models.functions import Cast, Greatest
from django.utils import timezone

from chat.models import Conversation, Intent, RecommendationLog, UserProfile
from ml_training.models import (
    Channel,
    DataQueueItem,
    ModelType,
    RagEmbeddingQueueItem,
    RecommendationFeedback,
    ReviewReason,
    UserAction,
)
from ml_training.services.masking import mask_data, mask_text
from ml_training.services.quality import decision_quality
from rag.models import Document

AUTO_LABEL_ABOVE = 0.7  # seed §9.10: only confident turns become (weakly) labelled samples
REVIEW_BELOW = 0.5
REVIEW_PRIORITY = {  # higher first on the review page; auto-labelled samples have 0
    ReviewReason.NEGATIVE_FEEDBACK: 95,
    ReviewReason.UNKNOWN_INTENT: 90,
    ReviewReason.USER_CORRECTION: 88,
    ReviewReason.REGENERATED: 85,
    ReviewReason.LOW_CONFIDENCE: 80,
}
DINING_SOURCE = Conversation._meta.db_table
SELECTION_SOURCE = RecommendationLog._meta.db_table
QUEUE = DataQueueItem._meta.db_table
RAG_QUEUE = RagEmbeddingQueueItem._meta.db_table
DOCUMENTS = Document._meta.db_table


def collection_enabled() -> bool:
    return settings.ML_TRAINING_COLLECT


def nlu_review_reason(intent: str, confidence: float) -> str | None:
    """The review reason of a turn ("" for an auto-label sample), or None when it is not queued."""
    if intent == Intent.UNKNOWN:
        return ReviewReason.UNKNOWN_INTENT
    if confidence < REVIEW_BELOW:
        return ReviewReason.LOW_CONFIDENCE
    if confidence > AUTO_LABEL_ABOVE:
        return ""
    return None


def dining_raw_data(conversation: Conversation) -> dict:
    """What an NLU sample keeps of a turn (masked): the message, the prediction and the answer."""
    return {
        "input_text": mask_text(conversation.input_text),
        "intent": conversation.extracted_intent,
        "confidence": float(conversation.intent_confidence or 0),
        "entities": mask_data(conversation.extracted_entities or {}),
        "previous_intent": conversation.previous_intent,
        "conversation_turn": conversation.conversation_turn,
        "response_text": mask_text(conversation.response_text),
        "recommended_shop_ids": list(conversation.recommended_shop_ids or []),
        "response_time_ms": conversation.processing_time_ms,
        "quality": float(conversation.response_quality_score) if conversation.response_quality_score else None,
    }


_DINING_INSERT = f"""
INSERT INTO {QUEUE} (model_type, raw_data, quality_score, status, error_message, retry_count, source_table,
                     source_id, channel, user_id, session_id, created_at, priority, review_reason, label_intent)
SELECT 'nlu', %s::jsonb, %s, 'pending', '', 0, '{DINING_SOURCE}', id::text, 'dining', %s, %s, %s, %s, %s, ''
FROM conversation
ON CONFLICT (source_table, source_id, model_type) DO NOTHING
"""


def dining_turn_statement(conversation: Conversation) -> tuple[str, list] | None:
    """The INSERT queueing this (unsaved) turn, for `write_turn_log(collect=...)`: it reads the new
    conversation's id from the statement's `conversation` CTE. None when the turn is not collected."""
    if not collection_enabled():
        return None
    confidence = float(conversation.intent_confidence or 0)
    reason = nlu_review_reason(conversation.extracted_intent, confidence)
    if reason is None:
        return None
    params = [
        json.dumps(dining_raw_data(conversation), ensure_ascii=False),
        conversation.intent_confidence,
        conversation.user_id,
        str(conversation.session_id),
        conversation.timestamp,
        REVIEW_PRIORITY.get(reason, 0),
        reason,
    ]
    return _DINING_INSERT, params


def backfill_dining_turns(since) -> int:
    """Queue the turns since `since` that should have been collected but were not (their
    collection failed and the turn was logged without it); returns how many were added."""
    if not collection_enabled():
        return 0
    queued = DataQueueItem.objects.filter(  # the unique (source_table, source_id, model_type) index
        source_table=DINING_SOURCE, model_type=ModelType.NLU, source_id=Cast(OuterRef("pk"), CharField())
    )
    missing = Conversation.objects.filter(timestamp__gte=since).exclude(Exists(queued))
    items = []
    for conversation in missing.iterator(chunk_size=500):
        reason = nlu_review_reason(conversation.extracted_intent, float(conversation.intent_confidence or 0))
        if reason is None:
            continue
        items.append(
            DataQueueItem(
                model_type=ModelType.NLU,
                raw_data=dining_raw_data(conversation),
                quality_score=conversation.intent_confidence,
                source_table=DINING_SOURCE,
                source_id=str(conversation.pk),
                channel=Channel.DINING,
                user_id=conversation.user_id,
                session_id=str(conversation.session_id),
                created_at=conversation.timestamp,
                priority=REVIEW_PRIORITY.get(reason, 0),
                review_reason=reason,
            )
        )
    return len(DataQueueItem.objects.bulk_create(items, ignore_conflicts=True))


# A next message that says the previous answer misunderstood: "아니 그게 아니라", "말고", "틀렸어"...
CORRECTION_START = r"^\s*(아니|아뇨|그게 아니|그거 말고|그건 말고|말고|틀렸|잘못 알아|다시 말하면|내 말은)"


def flag_user_corrections(since) -> int:
    """Queue for review each dining turn whose next turn in the session (since `since`) corrects it."""
    corrections = Conversation.objects.filter(
        timestamp__gte=since, conversation_turn__gt=1, input_text__regex=CORRECTION_START
    ).values_list("session_id", "conversation_turn")
    flagged = 0
    for session_id, turn in corrections.iterator(chunk_size=500):
        previous = (
            Conversation.objects.filter(session_id=session_id, conversation_turn=turn - 1).order_by("-id").first()
        )
        if previous is not None:
            flag_dining_turn(previous, ReviewReason.USER_CORRECTION)
            flagged += 1
    return flagged


def flag_for_review(*, source_table: str, source_id: str, model_type: str, reason: str, defaults: dict) -> None:
    """Queue (or raise) a review item for a source row; an item already reviewed stays closed."""
    DataQueueItem.objects.bulk_create(
        [
            DataQueueItem(
                source_table=source_table,
                source_id=source_id,
                model_type=model_type,
                review_reason=reason,
                priority=REVIEW_PRIORITY[reason],
                **defaults,
            )
        ],
        ignore_conflicts=True,
    )
    DataQueueItem.objects.filter(
        source_table=source_table, source_id=source_id, model_type=model_type, reviewed_at__isnull=True
    ).update(review_reason=reason, priority=Greatest(F("priority"), REVIEW_PRIORITY[reason]))


def flag_dining_turn(conversation: Conversation, reason: str) -> None:
    flag_for_review(
        source_table=DINING_SOURCE,
        source_id=str(conversation.pk),
        model_type=ModelType.NLU,
        reason=reason,
        defaults={
            "raw_data": dining_raw_data(conversation),
            "quality_score": conversation.intent_confidence,
            "channel": Channel.DINING,
            "user_id": conversation.user_id,
            "session_id": str(conversation.session_id),
        },
    )


# --- recommendations ----------------------------------------------------------------------------


def shown_shops(log: RecommendationLog) -> list[dict]:
    """Every shop of the recommendation as it was shown: rank, hand-tuned score, reason codes, features."""
    return [
        {
            "shop_id": item.get("shop_id"),
            "rank": item.get("ranking"),
            "score": item.get("score"),
            "reason_codes": item.get("reason_codes", []),
            "features": item.get("features", {}),
        }
        for item in log.recommendations
    ]


def recommendation_context(log: RecommendationLog) -> dict:
    """The request the recommendation answered (masked entities, local hour and weekday, location)."""
    local_time = log.timestamp.astimezone(timezone.get_current_timezone())
    return {
        "intent": log.request_intent,
        "entities": mask_data(log.request_entities or {}),
        "hour": local_time.hour,
        "weekday": local_time.strftime("%A").lower(),
        "location": {"lat": _float(log.user_latitude), "lng": _float(log.user_longitude)},
        "recommendation_method": log.recommendation_method,
        "total_candidates": log.total_candidates,
    }


def feedback_fields(log: RecommendationLog, *, shown: list[dict], context: dict, now, **action) -> dict:
    """The fields of a recommendation_feedback row of the log's user; `action` says what they did."""
    return {
        "recommendation_log": log,
        "user_id": log.user_id,
        "session_id": log.session_id,
        "recommended_shops": shown,
        "action_timestamp": now,
        "context_features": context,
        "user_features": user_features(log.user_id),
        "explicit_rating": log.feedback_rating,
        "created_at": now,
        **action,
    }


def collect_selection(log: RecommendationLog, *, shop_id: int, menu_id: int | None, time_to_decision_ms: int, now):
    """Queue the selection and write its recommendation_feedback row; call inside the transaction
    whose conditional UPDATE recorded the selection (so it runs once per recommendation)."""
    if not collection_enabled():
        return
    quality = decision_quality(time_to_decision_ms)
    shown, context = shown_shops(log), recommendation_context(log)
    DataQueueItem.objects.bulk_create(
        [
            DataQueueItem(
                model_type=ModelType.RECOMMENDATION,
                raw_data={
                    "recommendations": shown,
                    "user_selection": {"shop_id": shop_id, "menu_id": menu_id, "selected_at": now.isoformat()},
                    "time_to_decision": time_to_decision_ms,
                    "context": context,
                },
                quality_score=quality,
                source_table=SELECTION_SOURCE,
                source_id=str(log.pk),
                channel=Channel.DINING,
                user_id=log.user_id,
                session_id=str(log.session_id),
                created_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    if log.user_id is None:
        return
    selection = feedback_fields(
        log,
        shown=shown,
        context=context,
        now=now,
        user_action=UserAction.SELECTED,
        selected_shop_id=shop_id,
        time_to_action_ms=time_to_decision_ms,
        interaction_details={"selected_menu_id": menu_id},
        implicit_satisfaction=quality,
        learning_value=quality,
    )
    RecommendationFeedback.objects.bulk_create([RecommendationFeedback(**selection)], ignore_conflicts=True)


def collect_click(
    log: RecommendationLog, *, shop_id: int, time_to_action_ms: int, now
) -> tuple[RecommendationFeedback | None, bool]:
    """Write the `clicked` recommendation_feedback row of an opened shop card, once per (recommendation,
    shop): a repeated or racing click returns the stored row (the ml_recfb_one_click_per_shop index).
    Returns (the row, whether it is new); (None, False) when collection is off or the log has no user.
    A click queues no sample: the recommendation's queue row is its selection."""
    if not collection_enabled() or log.user_id is None:
        return None, False
    click = feedback_fields(
        log,
        shown=shown_shops(log),
        context=recommendation_context(log),
        now=now,
        user_action=UserAction.CLICKED,
        time_to_action_ms=time_to_action_ms,
        interaction_details={"shop_id": shop_id},
        # A click is interest, not a decision: no satisfaction; a quick one is as telling as a quick choice.
        learning_value=decision_quality(time_to_action_ms),
    )
    return RecommendationFeedback.objects.get_or_create(
        recommendation_log=log, user_action=UserAction.CLICKED, interaction_details__shop_id=shop_id, defaults=click
    )


def record_rating(log: RecommendationLog, rating: int) -> None:
    RecommendationFeedback.objects.filter(recommendation_log=log).update(explicit_rating=rating)


def user_features(user_id: int) -> dict:
    """The user's profile as the recommender saw it (before this selection updates favourites)."""
    profile = UserProfile.objects.filter(user_id=user_id).first()
    if profile is None:
        return {"has_profile": False}
    return {
        "has_profile": True,
        "preferred_categories": list(profile.preferred_categories),
        "avg_budget": profile.average_budget,
        "favorite_shop_count": len(profile.favorite_shops),
        "interaction_count": profile.interaction_count,
        "data_completeness": float(profile.data_completeness),
        "good_influence_preference": float(profile.good_influence_preference),
        "total_orders": len(profile.recent_orders or []),
    }


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


# --- retrieval documents ------------------------------------------------------------------------

_BUMP_DOCUMENTS = f"""
WITH counts AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb)
        AS c(document_id bigint, searches int, clicks int, positive int, negative int)
)
INSERT INTO {RAG_QUEUE} AS q (
    document_id, document_type, title, content, content_hash, metadata, embedding_model, search_count, click_count,
    positive_feedback, negative_feedback, needs_reembedding, reembedding_reason, status, created_at, updated_at
)
SELECT d.id::text, 'document', left(d.filename, 500), CASE WHEN d.owner_id IS NULL THEN d.content ELSE '' END,
       d.content_hash, jsonb_build_object('rag_key', d.rag_key, 'rag_type', d.rag_type, 'doc_id', d.doc_id),
       d.embedding_model, greatest(0, c.searches), greatest(0, c.clicks), greatest(0, c.positive),
       greatest(0, c.negative), false, '', 'active', now(), now()
FROM counts c JOIN {DOCUMENTS} d ON d.id = c.document_id
ORDER BY d.id
-- The proposed row must pass the CHECKs (>= 0), so an existing row adds the signed deltas from `counts`.
ON CONFLICT (document_type, document_id) DO UPDATE SET
    search_count = greatest(0, q.search_count
        + (SELECT c.searches FROM counts c WHERE c.document_id::text = q.document_id)),
    click_count = greatest(0, q.click_count
        + (SELECT c.clicks FROM counts c WHERE c.document_id::text = q.document_id)),
    positive_feedback = greatest(0, q.positive_feedback
        + (SELECT c.positive FROM counts c WHERE c.document_id::text = q.document_id)),
    negative_feedback = greatest(0, q.negative_feedback
        + (SELECT c.negative FROM counts c WHERE c.document_id::text = q.document_id)),
    needs_reembedding = q.needs_reembedding OR q.content_hash <> EXCLUDED.content_hash
                        OR q.embedding_model <> EXCLUDED.embedding_model,
    reembedding_reason = CASE
        WHEN q.content_hash <> EXCLUDED.content_hash THEN 'content changed'
        WHEN q.embedding_model <> EXCLUDED.embedding_model THEN 'embedding model changed'
        ELSE q.reembedding_reason END,
    content_hash = EXCLUDED.content_hash,
    embedding_model = EXCLUDED.embedding_model,
    content = EXCLUDED.content
"""


def bump_documents(deltas: dict[int, Counter]) -> None:
    """Add search/click/positive/negative counts per rag document id in one statement (documents in
    id order, so concurrent writers lock rows in the same order). Unknown ids are skipped."""
    rows = [
        {
            "document_id": document_id,
            "searches": delta["searches"],
            "clicks": delta["clicks"],
            "positive": delta["positive"],
            "negative": delta["negative"],
        }
        for document_id, delta in sorted(deltas.items())
        if any(delta.values())
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_BUMP_DOCUMENTS, [json.dumps(rows)])


def source_document_ids(sources) -> list[int]:
    ids = []
    for source in sources or []:
        value = source.get("document_id") if isinstance(source, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value not in ids:
            ids.append(value)
    return ids


def count_retrievals(records: list[dict]) -> None:
    """One search per document per knowledge/partner answer in `records` (log outbox records being
    flushed, in the flush's transaction: counted exactly when the logs are written)."""
    if not collection_enabled():
        return
    deltas: dict[int, Counter] = {}
    for record in records:
        if record.get("channel") not in (Channel.KNOWLEDGE, Channel.PARTNER):
            continue
        for document_id in source_document_ids(record.get("retrieved_docs")):
            deltas.setdefault(document_id, Counter())["searches"] += 1
    bump_documents(deltas)


def count_logged_retrievals(sender, records: list[dict], **kwargs) -> None:
    """Receiver of analytics' `logs_written`: count the retrievals of the records just logged."""
    count_retrievals(records)
