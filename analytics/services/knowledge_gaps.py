"""The knowledge-gap loop (seed 002 Phase 6): find badly answered questions and cluster them into
FAQ candidates for staff (what staff make of them: `curated_answers`).

A question was answered badly when its answer had an error, found nothing (no_answer or the
knowledge chat's no-context answer), was regenerated, retrieved only poorly scored chunks, or the
user asked the same thing again in other words right after (a rephrase within the session).
A thumbs down on a knowledge answer (ml_training's answer feedback, not a regeneration's implicit
one) is a reason too.
Candidates are scored by badness x frequency; the daily job recomputes the last GAP_WINDOW_DAYS
and keeps each candidate's status and curated answer.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from analytics.models import ConversationHistory, FAQCandidate
from analytics.services import question_clusters
from analytics.services.question_text import normalise, similarity
from analytics.services.reports import LOW_SCORE, QUERY_LENGTH, QUESTION_OF_ANSWER
from analytics.services.statistics import LOGS_CTE
from chat.models import KnowledgeMessage, MessageRole
from ml_training.models import FeedbackVote

GAP_WINDOW_DAYS = 7
REPHRASE_WITHIN = timedelta(minutes=10)
REPHRASE_SIMILARITY = 0.45  # `similarity` of two questions that ask the same thing in other words
REASON_WEIGHTS = {"error": 1.0, "no_answer": 1.0, "no_context": 1.0, "negative_feedback": 0.8, "regenerated": 0.7,
                  "rephrased": 0.6, "low_score": 0.5}  # fmt: skip
EXAMPLES = 10
# The start of chat.services.knowledge_chat.NO_CONTEXT_ANSWER (a test keeps them in step).
NO_CONTEXT_ANSWER = "등록된 문서에는 이 질문에 답할 내용이 없습니다."

_EXCHANGES = f"""
WITH {LOGS_CTE}
SELECT l.channel, l.collection_name, l.session_id, l.created_at, left(q.content, {QUERY_LENGTH}), l.content,
       l.no_answer, l.failed AND NOT l.partial, l.regenerated, l.top_score
FROM logs l
{QUESTION_OF_ANSWER}
WHERE l.answer
ORDER BY l.channel, l.collection_name, l.session_id, l.created_at
"""


@dataclass
class Exchange:
    channel: str
    collection_name: str
    session_id: str
    asked_at: datetime
    question: str
    reasons: set[str] = field(default_factory=set)


def badly_answered(start: datetime, end: datetime) -> list[Exchange]:
    """The exchanges of [start, end) that were answered badly, each with its reasons."""
    with connection.cursor() as cursor:
        cursor.execute(_EXCHANGES, {"start": start, "end": end})
        rows = cursor.fetchall()
    exchanges = []
    for channel, collection, session, at, question, answer, no_answer, error, regenerated, top_score in rows:
        reasons = {
            name
            for name, present in (
                ("no_answer", no_answer), ("error", error), ("regenerated", regenerated),
                ("no_context", (answer or "").startswith(NO_CONTEXT_ANSWER)),
                ("low_score", top_score is not None and top_score < LOW_SCORE),
            )
            if present
        }  # fmt: skip
        exchanges.append(Exchange(channel, collection, session, at, question or "", reasons))
    thumbed_down = _thumbed_down_questions(start, end)
    for exchange in exchanges:
        if (exchange.session_id, exchange.question) in thumbed_down:
            exchange.reasons.add("negative_feedback")
    for earlier, later in zip(exchanges, exchanges[1:], strict=False):
        same_session = (earlier.channel, earlier.collection_name, earlier.session_id) == (
            later.channel, later.collection_name, later.session_id,
        )  # fmt: skip
        if (
            same_session
            and later.asked_at - earlier.asked_at <= REPHRASE_WITHIN
            and normalise(earlier.question) != normalise(later.question)
            and similarity(earlier.question, later.question) >= REPHRASE_SIMILARITY
        ):
            earlier.reasons.add("rephrased")
    return [exchange for exchange in exchanges if exchange.reasons and exchange.question.strip()]


def _thumbed_down_questions(start: datetime, end: datetime) -> set[tuple[str, str]]:
    """(conversation id, question) of the knowledge answers of [start, end) that got a thumbs down."""
    question = (
        KnowledgeMessage.objects.filter(
            conversation_id=OuterRef("conversation_id"), role=MessageRole.USER, created_at__lte=OuterRef("created_at")
        )
        .order_by("-created_at")
        .values("content")[:1]
    )
    answers = (
        KnowledgeMessage.objects.filter(
            created_at__gte=start, created_at__lt=end, feedback__vote=FeedbackVote.DOWN, feedback__is_implicit=False
        )
        .annotate(question=Subquery(question))
        .values_list("conversation_id", "question")
    )
    return {(str(conversation_id), text[:QUERY_LENGTH]) for conversation_id, text in answers if text}


def _retrieved_documents(exchanges: list[Exchange]) -> list[dict]:
    """What retrieval returned for these questions (from the conversation histories), most frequent first."""
    asked = {(e.channel, e.collection_name, e.session_id): e.question for e in exchanges}
    found: Counter = Counter()
    histories = ConversationHistory.objects.filter(conversation_id__in={key[2] for key in asked})
    for history in histories.only("channel", "collection_name", "conversation_id", "messages"):
        question = asked.get((history.channel, history.collection_name, history.conversation_id))
        previous = None
        for message in history.messages:
            if message.get("role") == "assistant" and previous == question:
                for doc in message.get("retrieved_docs") or []:
                    if isinstance(doc, dict):
                        found[str(doc.get("doc_id") or doc.get("document_id") or "")] += 1
            previous = message.get("content") if message.get("role") == "user" else previous
    return [{"doc_id": doc_id, "times": times} for doc_id, times in found.most_common(EXAMPLES) if doc_id]


def find_gaps(now: datetime | None = None) -> int:
    """Recompute the FAQ candidates of the last GAP_WINDOW_DAYS; returns the candidates written."""
    end = now or timezone.now()
    start = end - timedelta(days=GAP_WINDOW_DAYS)
    by_collection: dict[tuple[str, str], list[Exchange]] = defaultdict(list)
    for exchange in badly_answered(start, end):
        by_collection[(exchange.channel, exchange.collection_name)].append(exchange)
    written = 0
    with transaction.atomic():
        for (channel, collection), exchanges in by_collection.items():
            clusters: dict[int, list[Exchange]] = defaultdict(list)
            for exchange, label in zip(
                exchanges, question_clusters.cluster_questions([e.question for e in exchanges]), strict=True
            ):
                clusters[label].append(exchange)
            for members in clusters.values():
                _save_candidate(channel, collection, members)
                written += 1
    return written


def _save_candidate(channel: str, collection: str, members: list[Exchange]) -> FAQCandidate:
    asked = Counter(member.question for member in members)
    representative = asked.most_common(1)[0][0]
    badness = sum(max(REASON_WEIGHTS[r] for r in member.reasons) for member in members) / len(members)
    reasons = Counter(reason for member in members for reason in member.reasons)
    candidate, _ = FAQCandidate.objects.update_or_create(
        collection_name=collection,
        normalized=normalise(representative)[:500],
        defaults={
            "channel": channel,
            "representative": representative,
            "question_count": len(members),
            "badness": round(badness, 3),
            "score": round(badness * len(members), 3),
            "reasons": dict(reasons),
            "example_questions": [question for question, _ in asked.most_common(EXAMPLES)],
            "retrieved_documents": _retrieved_documents(members),
            "last_seen_at": max(member.asked_at for member in members),
        },
    )
    return candidate
