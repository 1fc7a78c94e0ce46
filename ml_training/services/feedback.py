"""Users' feedback on answers (seed 003 §8.3, seed 002 quality): dining turns, knowledge answers,
partner session turns. `check_*` finds the turn the caller owns (404 otherwise); `give_feedback`
stores one row per voter and turn (giving it again updates it) and, in the same transaction,
feeds the learning data:

- a negative dining vote or a rating of 1-2 queues the turn for review (`flag_dining_turn`);
- a knowledge vote moves its sources' positive/negative counters in rag_embeddings_queue (a changed
  vote moves them back), "which source helped" counts a click, and a negative one queues a review;
- a regeneration is implicit negative feedback on the answer it replaces (`record_regeneration`).
"""

from collections import Counter
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from chat.models import Conversation, KnowledgeMessage, MessageRole, Partner, PartnerChatTuningLog
from config.api.exceptions import ApiError
from ml_training.models import AnswerFeedback, Channel, FeedbackVote, ModelType, ReviewReason
from ml_training.services.collection import (
    bump_documents,
    collection_enabled,
    flag_dining_turn,
    flag_for_review,
    source_document_ids,
)
from ml_training.services.masking import mask_data, mask_text

KNOWLEDGE_SOURCE = KnowledgeMessage._meta.db_table
PARTNER_SOURCE = PartnerChatTuningLog._meta.db_table
DINING_SOURCE = Conversation._meta.db_table


@dataclass(frozen=True)
class FeedbackInput:
    vote: str = ""
    rating: int | None = None
    comment: str = ""
    helpful_source: dict | None = None
    is_implicit: bool = False


@dataclass(frozen=True)
class FeedbackTarget:
    """The answer being rated, with what the learning data needs to know about it."""

    channel: str
    source_table: str
    source_id: str
    voter: str
    links: dict  # foreign keys of AnswerFeedback: user / partner and the turn's row
    sources: tuple = ()  # knowledge: the answer's retrieved sources
    review: dict | None = None  # queue row fields for a review item (None: dining, flagged by its own rule)
    conversation: Conversation | None = None


def check_dining_turn(*, user, conversation_id: int) -> FeedbackTarget:
    conversation = Conversation.objects.filter(pk=conversation_id, user__auth_user=user).first()
    if conversation is None:
        raise NotFound(_("No such turn of yours."))
    return dining_target(conversation, voter=f"user:{user.pk}", user=user)


def dining_target(conversation: Conversation, *, voter: str, user=None) -> FeedbackTarget:
    """A dining turn as a feedback target (`voter` e.g. "user:<auth id>", or "chat_user:<id>" for
    users reached through other platforms, who have no Django account)."""
    return FeedbackTarget(
        channel=Channel.DINING,
        source_table=DINING_SOURCE,
        source_id=str(conversation.pk),
        voter=voter,
        links={"user": user, "conversation": conversation},
        conversation=conversation,
    )


def check_knowledge_answer(*, user, message_id: int) -> FeedbackTarget:
    message = (
        KnowledgeMessage.objects.select_related("conversation")
        .filter(pk=message_id, role=MessageRole.ASSISTANT, conversation__user=user)
        .first()
    )
    if message is None:
        raise NotFound(_("No such answer of yours."))
    return _knowledge_target(user, message)


def _knowledge_target(user, message: KnowledgeMessage) -> FeedbackTarget:
    question = (
        KnowledgeMessage.objects.filter(
            conversation_id=message.conversation_id, role=MessageRole.USER, id__lt=message.pk
        )
        .order_by("-id")
        .values_list("content", flat=True)
        .first()
    )
    return FeedbackTarget(
        channel=Channel.KNOWLEDGE,
        source_table=KNOWLEDGE_SOURCE,
        source_id=str(message.pk),
        voter=f"user:{user.pk}",
        links={"user": user, "knowledge_message": message},
        sources=tuple(message.sources or ()),
        review={
            "model_type": ModelType.RAG,
            "channel": Channel.KNOWLEDGE,
            "session_id": str(message.conversation_id),
            "raw_data": {
                "input_text": mask_text(question or ""),
                "response_text": mask_text(message.content),
                "rag_key": message.conversation.rag_key,
                "sources": mask_data(list(message.sources or [])),
            },
        },
    )


def check_partner_turn(*, partner: Partner, session_id: str, turn: int) -> FeedbackTarget:
    """`turn` is the 1-based exchange number: conversation entries 2·turn-2 (user) and 2·turn-1."""
    session = PartnerChatTuningLog.objects.filter(partner=partner, session_id=session_id).first()
    entries = session.conversation if session is not None else []
    if session is None or not 1 <= turn <= len(entries) // 2:
        raise NotFound(_("No such turn in your sessions."))
    question, answer = entries[2 * turn - 2], entries[2 * turn - 1]
    return FeedbackTarget(
        channel=Channel.PARTNER,
        source_table=PARTNER_SOURCE,
        source_id=f"{session.pk}:{turn}",
        voter=f"partner:{partner.pk}",
        links={"partner": partner, "partner_session": session},
        review={
            "model_type": ModelType.RAG,
            "channel": Channel.PARTNER,
            "session_id": session.session_id,
            "raw_data": {
                "input_text": mask_text(str(question.get("content", ""))),
                "response_text": mask_text(str(answer.get("content", ""))),
                "rag_key": partner.pk,
            },
        },
    )


def _validate(target: FeedbackTarget, given: FeedbackInput) -> None:
    if not (given.vote or given.rating is not None or given.comment or given.helpful_source):
        raise ApiError("invalid", _("Give a vote, a rating, a comment or the source that helped."))
    if given.helpful_source is not None:
        if target.channel != Channel.KNOWLEDGE:
            raise ApiError("invalid", _("helpful_source applies to knowledge answers only."))
        if given.helpful_source.get("document_id") not in source_document_ids(target.sources):
            raise ApiError("invalid", _("helpful_source.document_id is not one of this answer's sources."))


def give_feedback(target: FeedbackTarget, given: FeedbackInput) -> tuple[AnswerFeedback, bool]:
    """Store (or update) the voter's feedback on the turn; returns (row, created)."""
    _validate(target, given)
    try:
        with transaction.atomic():
            return _upsert(target, given)
    except IntegrityError:  # two first submissions raced on the unique key: the loser updates the winner's row
        with transaction.atomic():
            return _upsert(target, given)


def _upsert(target: FeedbackTarget, given: FeedbackInput) -> tuple[AnswerFeedback, bool]:
    key = {"source_table": target.source_table, "source_id": target.source_id, "voter": target.voter}
    row = AnswerFeedback.objects.select_for_update().filter(**key).first()
    before = _counts(row, target)
    created = row is None
    if created:
        row = AnswerFeedback(channel=target.channel, created_at=timezone.now(), **key, **target.links)
    row.vote = given.vote
    row.rating = given.rating
    row.comment = mask_text(given.comment)
    row.helpful_source = given.helpful_source
    row.is_implicit = given.is_implicit
    row.updated_at = timezone.now()
    row.save()
    if collection_enabled():
        _learn(target, row, before)
    return row, created


def _counts(row: AnswerFeedback | None, target: FeedbackTarget) -> dict[int, Counter]:
    """What this row contributes to its sources' counters (to move them when the vote changes)."""
    counts: dict[int, Counter] = {}
    if row is None:
        return counts
    for document_id in source_document_ids(target.sources):
        counts[document_id] = Counter(
            positive=int(row.vote == FeedbackVote.UP), negative=int(row.vote == FeedbackVote.DOWN)
        )
    helped = (row.helpful_source or {}).get("document_id")
    if helped in counts:
        counts[helped]["clicks"] += 1
    return counts


def _learn(target: FeedbackTarget, row: AnswerFeedback, before: dict[int, Counter]) -> None:
    after = _counts(row, target)
    deltas = {}
    for document_id in after.keys() | before.keys():
        delta = Counter(after.get(document_id, Counter()))
        delta.subtract(before.get(document_id, Counter()))
        deltas[document_id] = delta
    bump_documents(deltas)
    if not row.is_negative:
        return
    if target.conversation is not None:
        flag_dining_turn(target.conversation, ReviewReason.NEGATIVE_FEEDBACK)
    elif target.review is not None:
        reason = ReviewReason.REGENERATED if row.is_implicit else ReviewReason.NEGATIVE_FEEDBACK
        review = target.review
        flag_for_review(
            source_table=target.source_table,
            source_id=target.source_id,
            model_type=review["model_type"],
            reason=reason,
            defaults={key: value for key, value in review.items() if key != "model_type"},
        )


def record_regeneration(*, user, replaced) -> None:
    """Implicit negative feedback on each answer a regeneration replaces; call in the regeneration's
    transaction, before the answers are deleted (the feedback rows keep the vote, SET NULL)."""
    explicit = set(
        AnswerFeedback.objects.filter(
            knowledge_message__in=replaced, voter=f"user:{user.pk}", is_implicit=False
        ).values_list("knowledge_message_id", flat=True)
    )
    for message in replaced:
        if message.pk in explicit:  # the user's own vote on it stands
            continue
        give_feedback(_knowledge_target(user, message), FeedbackInput(vote=FeedbackVote.DOWN, is_implicit=True))
