"""Knowledge (RAG) chat: one turn = route (staff only) -> retrieve -> generate -> store and log.

A turn runs in steps so that the plain API, the SSE stream and regeneration share them:

1. `start_turn()` / `start_regeneration()` check the parameters and the conversation (only the
   owner's), store the user's question and collect the conversation history for the prompt.
2. `plan_answer()` decides how to answer: staff questions go through the SQL|RAG router and a
   successful SQL answer is final; otherwise the knowledge base is searched (isolation is enforced
   by `rag.services.search.search`) and the prompt is built from the passages that answer it
   (`rag.services.relevance`: relevance at or above `settings.RAG_RELEVANCE_FLOOR`); when none does,
   the answer says the documents do not cover the question and the log marks the turn
   `retrieval_info.no_answer`.
3. `answer_turn()` generates with `complete()`; `astream_turn()` streams with `astream()` and
   stores whatever was said when the client goes away (status "partial"). A page about the topic that
   does not hold the answer passes the floor; the model then abstains with the prompt's NO_ANSWER_MARK
   (`rag.providers.prompts`), and the turn gets the same no-answer reply and log
   (`retrieval_info.model_abstained` tells the two apart).
4. `finish_turn()` stores the assistant message with its sources and usage and logs the exchange
   (`record_exchange`) in the same transaction. A regeneration replaces the previous answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError

from analytics.services.curated_answers import match_curated_answer
from analytics.services.message_logs import record_exchange
from chat.models import KnowledgeConversation, KnowledgeMessage, MessageRole, MessageRoute, MessageStatus, RagType
from chat.services.router import SqlAnswer, answer_with_sql, decide_route
from config.api.exceptions import ApiError
from ml_training.services.feedback import record_regeneration
from ml_training.services.serving import attribution_for, rag_ranking_for
from rag.providers import get_llm
from rag.providers.prompts import NO_ANSWER_INSTRUCTION, NoAnswerWatch, abstains, format_context
from rag.services.relevance import ground
from rag.services.search import search

logger = logging.getLogger(__name__)

CHANNEL = "knowledge"
REASONING_LEVELS = ("low", "medium", "high")
TEMPERATURE_RANGE = (0.0, 2.0)
TOP_P_RANGE = (0.0, 1.0)
MAX_TOKENS_RANGE = (1, 4096)
RETRIEVAL_LIMIT = 5
HISTORY_MESSAGES = 10  # the last five exchanges go into the prompt
TITLE_LENGTH = 50
SQL_FALLBACK_NOTICE = "SQL로 답할 수 없어 문서 검색으로 답변합니다."
NO_CONTEXT_ANSWER = "등록된 문서에는 이 질문에 답할 내용이 없습니다. 질문을 바꾸거나 문서를 먼저 등록해 주세요."
SYSTEM_PROMPT = (
    "당신은 주어진 문서만 근거로 한국어로 답하는 지식 도우미입니다. "
    f"{NO_ANSWER_INSTRUCTION} 답의 근거가 된 문서 번호를 [1]처럼 표시하세요."
)


# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.3
    top_p: float = 1.0
    max_tokens: int = 1024
    reasoning_level: str = "medium"

    @classmethod
    def from_input(cls, raw: Mapping | None) -> GenerationParams:
        """Defaults for what is missing; a 400 naming every out-of-bounds value."""
        raw = {key: value for key, value in (raw or {}).items() if value is not None}
        errors: dict[str, str] = {}
        values: dict = {}
        for name, (low, high), kind in (
            ("temperature", TEMPERATURE_RANGE, float),
            ("top_p", TOP_P_RANGE, float),
            ("max_tokens", MAX_TOKENS_RANGE, int),
        ):
            if name not in raw:
                continue
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
                if kind is int:
                    errors[name] = _("Must be an integer between %(low)s and %(high)s.") % {"low": low, "high": high}
                else:
                    errors[name] = _("Must be a number between %(low)s and %(high)s.") % {"low": low, "high": high}
            elif not low <= value <= high:
                errors[name] = _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}
            else:
                values[name] = kind(value)
        if "reasoning_level" in raw:
            if raw["reasoning_level"] in REASONING_LEVELS:
                values["reasoning_level"] = raw["reasoning_level"]
            else:
                errors["reasoning_level"] = _("Must be one of %(choices)s.") % {"choices": ", ".join(REASONING_LEVELS)}
        if errors:
            raise ValidationError(errors)
        return cls(**values)

    def as_dict(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "reasoning_level": self.reasoning_level,
        }


# --- turn state ---------------------------------------------------------------------------------


@dataclass
class Turn:
    """One question being answered (or re-answered) in a conversation."""

    user: object
    conversation: KnowledgeConversation
    user_message: KnowledgeMessage
    params: GenerationParams
    history: list[dict]
    regenerated: bool = False
    log: bool = True
    channel: str = CHANNEL  # the analytics channel the turn is logged under
    instructions: str = ""  # the caller's own system instructions, added to ours
    started: float = field(default_factory=time.perf_counter)

    @property
    def question(self) -> str:
        return self.user_message.content

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


@dataclass
class Plan:
    """How a turn will be answered, decided before any token is generated."""

    route: str
    messages: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    relevance: list[float] = field(default_factory=list)  # rag.services.relevance, one per score
    retrieval_ms: int = 0
    prefix: str = ""  # said before the generated text (the SQL fallback notice)
    final_text: str = ""  # a complete answer that needs no generation (SQL result, nothing found)
    reranking_used: bool = False
    no_answer: bool = False  # no retrieved passage answers the question (below the floor, or the model says so)
    model_abstained: bool = False  # the passages passed the floor, but the model found no answer in them
    curated_faq_id: int | None = None  # answered with a curated FAQ answer (analytics knowledge-gap loop)
    model_versions: dict | None = None  # the rag version whose ranking parameters the search used

    @property
    def needs_generation(self) -> bool:
        return not self.final_text

    def abstain(self) -> str:
        """The model found no answer in the passages: the turn becomes a no-answer; returns its text."""
        self.no_answer = self.model_abstained = True
        self.sources = []
        return self.prefix + NO_CONTEXT_ANSWER


@dataclass(frozen=True)
class TurnResult:
    conversation_id: str
    message_id: int | None
    answer: str
    sources: list[dict]
    usage: dict
    route: str
    status: str


@dataclass(frozen=True)
class StreamEvent:
    """`token` {"text"}, then one `done` {conversation_id, message_id, sources, usage, route} or `error`."""

    name: str
    data: dict


# --- step 1: start ------------------------------------------------------------------------------


def start_turn(
    *,
    user,
    message: str,
    rag_key: str = "",
    rag_type: str = "",
    conversation_id=None,
    params: Mapping | None = None,
    log: bool = True,
    history: list[dict] | None = None,
    instructions: str = "",
    channel: str = CHANNEL,
) -> Turn:
    """Validate, get or create the user's conversation and store the question.

    `history` is the prompt history of a new conversation when the caller keeps it (a stateless
    client); a continued conversation always uses its stored one. `log=False` skips
    `record_exchange` (only the benchmark uses it, to measure the logging cost).
    """
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": _("This field may not be blank.")})
    generation = GenerationParams.from_input(params)
    with transaction.atomic():
        if conversation_id:
            conversation = _own_conversation(user, conversation_id, lock=True)
            mismatched = {
                name: _("This conversation uses %(field)s %(value)s.") % {"field": name, "value": repr(current)}
                for name, given, current in (
                    ("rag_key", rag_key, conversation.rag_key),
                    ("rag_type", rag_type, conversation.rag_type),
                )
                if given and given != current
            }
            if mismatched:
                raise ValidationError(mismatched)
            history = conversation_history(conversation)
            KnowledgeConversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
        else:
            if not rag_key:
                raise ValidationError({"rag_key": _("This field is required to start a conversation.")})
            if rag_type and rag_type not in RagType.values:
                choices = ", ".join(RagType.values)
                raise ValidationError({"rag_type": _("Must be one of %(choices)s.") % {"choices": choices}})
            conversation = KnowledgeConversation.objects.create(
                user=user, rag_key=rag_key, rag_type=rag_type or RagType.BOTH, title=message[:TITLE_LENGTH]
            )
            history = list(history or [])[-HISTORY_MESSAGES:]
        question = KnowledgeMessage.objects.create(conversation=conversation, role=MessageRole.USER, content=message)
    return Turn(
        user=user,
        conversation=conversation,
        user_message=question,
        params=generation,
        history=history,
        log=log,
        channel=channel,
        instructions=instructions,
    )


def start_regeneration(*, user, conversation_id, params: Mapping | None = None, log: bool = True) -> Turn:
    """Answer the conversation's last question again; `finish_turn` replaces the previous answer."""
    generation = GenerationParams.from_input(params)
    conversation = _own_conversation(user, conversation_id)
    question = conversation.messages.filter(role=MessageRole.USER).order_by("-created_at", "-id").first()
    if question is None:
        raise ApiError("nothing_to_regenerate", _("This conversation has no question to answer again."), 409)
    history = conversation_history(conversation, before=question)
    return Turn(
        user=user,
        conversation=conversation,
        user_message=question,
        params=generation,
        history=history,
        regenerated=True,
        log=log,
    )


def _own_conversation(user, conversation_id, *, lock: bool = False) -> KnowledgeConversation:
    """The user's own conversation; anyone else's is indistinguishable from a missing one (404)."""
    queryset = KnowledgeConversation.objects.filter(user=user)
    if lock:
        queryset = queryset.select_for_update()
    conversation = queryset.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("Conversation not found."))
    return conversation


def conversation_history(conversation: KnowledgeConversation, *, before: KnowledgeMessage | None = None) -> list[dict]:
    """The last messages worth showing the model (failed answers left out), oldest first."""
    messages = conversation.messages.exclude(status=MessageStatus.ERROR)
    if before is not None:
        messages = messages.filter(id__lt=before.id)
    recent = messages.order_by("-created_at", "-id").values("role", "content")[:HISTORY_MESSAGES]
    return [{"role": row["role"], "content": row["content"]} for row in reversed(recent)]


# --- step 2: plan -------------------------------------------------------------------------------


def plan_answer(turn: Turn) -> Plan:
    """Route staff questions (a good SQL answer is final), else retrieve and build the prompt."""
    prefix = ""
    ranking, rag_version = rag_ranking_for(turn.user.pk, turn.conversation.rag_key)
    model_versions = {"rag": rag_version}
    if getattr(turn.user, "is_staff", False):
        sql_answer = _try_sql(turn)
        if sql_answer is not None and (sql_answer.ok or sql_answer.final):  # final: says why SQL cannot
            return Plan(route=MessageRoute.SQL, final_text=sql_answer.text, model_versions=model_versions)
        if sql_answer is not None:  # the router says why (rejected, timed out, failed)
            prefix = f"{(sql_answer.text or SQL_FALLBACK_NOTICE).strip()}\n\n"
    curated = match_curated_answer(turn.conversation.rag_key, turn.question)
    if curated is not None:
        return Plan(route=MessageRoute.RAG, final_text=prefix + curated.answer, sources=curated.sources,
                    scores=[curated.similarity], curated_faq_id=curated.candidate_id,
                    model_versions=model_versions)  # fmt: skip
    started = time.perf_counter()
    hits = search(
        user=turn.user,
        rag_key=turn.conversation.rag_key,
        rag_type=turn.conversation.rag_type,
        query=turn.question,
        limit=RETRIEVAL_LIMIT,
        ranking=ranking,
    )
    grounding = ground(turn.question, hits)
    retrieval_ms = int((time.perf_counter() - started) * 1000)
    scores, relevance = grounding.logged()
    plan = Plan(
        route=MessageRoute.RAG,
        sources=[source_of(hit) for hit in grounding.hits],
        scores=scores,
        relevance=relevance,
        retrieval_ms=retrieval_ms,
        prefix=prefix,
        reranking_used=any(bool((hit.metadata or {}).get("reranked")) for hit in grounding.hits),
        no_answer=grounding.no_answer,
        model_versions=model_versions,
    )
    if grounding.no_answer:
        plan.final_text = prefix + NO_CONTEXT_ANSWER
    else:
        plan.messages = build_messages(turn.question, grounding.hits, turn.history, instructions=turn.instructions)
    return plan


def _try_sql(turn: Turn) -> SqlAnswer | None:
    """The router's SQL answer (ok or not), or None when the question goes to RAG.

    The router must never break a chat: its calls run in savepoints, a failed routing call means RAG,
    and a failure after routing to SQL is answered like any refused query (RAG, saying so).
    """
    try:
        with transaction.atomic():
            decision = decide_route(user=turn.user, message=turn.question)
    except Exception:
        logger.exception("knowledge chat: routing failed for conversation %s", turn.conversation.pk)
        return None
    if decision.route != MessageRoute.SQL:
        return None
    try:
        with transaction.atomic():
            return answer_with_sql(user=turn.user, message=turn.question, decision=decision)
    except Exception as exc:
        logger.exception("knowledge chat: the SQL route failed for conversation %s", turn.conversation.pk)
        return SqlAnswer(ok=False, text=SQL_FALLBACK_NOTICE, error=_describe(exc))


def source_of(hit) -> dict:
    return {
        "document_id": hit.document_id,
        "doc_id": hit.doc_id,
        "chunk_id": hit.chunk_id,
        "score": round(float(hit.score), 4),
        "filename": hit.filename,
    }


def build_messages(question: str, hits, history: list[dict], *, instructions: str = "") -> list[dict]:
    """System instructions (ours, then the caller's) with the passages in the providers' `<context>`
    block, the recent conversation, then the question as the last user message (what the local
    responder reads)."""
    context = format_context(
        {"id": str(number), "title": hit.filename, "content": hit.content} for number, hit in enumerate(hits, start=1)
    )
    system = "\n\n".join(part for part in (SYSTEM_PROMPT, instructions.strip(), context) if part)
    return [{"role": "system", "content": system}, *history, {"role": "user", "content": question}]


# --- step 3: generate ---------------------------------------------------------------------------


def answer_turn(turn: Turn) -> TurnResult:
    """Plan and generate the whole answer at once (the plain JSON API)."""
    plan = None
    try:
        plan = plan_answer(turn)
        if plan.needs_generation:
            llm = get_llm()
            completion = llm.complete(plan.messages, **turn.params.as_dict())
            text = plan.abstain() if abstains(completion.text) else plan.prefix + completion.text
            model, usage = completion.model, dict(completion.usage or {})
        else:
            text, model, usage = plan.final_text, "", {}
    except Exception as exc:
        logger.exception("knowledge chat: answering conversation %s failed", turn.conversation.pk)
        message = finish_turn(turn, plan, text="", status=MessageStatus.ERROR, error=_describe(exc))
        raise ApiError(
            "generation_failed",
            _("The answer could not be generated; please try again."),
            503,
            {"conversation_id": str(turn.conversation.pk), "message_id": message.pk if message else None},
        ) from exc
    message = finish_turn(turn, plan, text=text, status=MessageStatus.COMPLETE, model=model, usage=usage)
    return _result(turn, plan, message, text, usage)


async def astream_turn(turn: Turn) -> AsyncIterator[StreamEvent]:
    """Stream the answer as `token` events and end with `done` (or `error`).

    When the client disconnects, the server cancels the task (CancelledError) or closes this
    generator (GeneratorExit) mid-stream: generation stops (the provider stream is closed) and what
    was said so far is stored and logged with status "partial".
    """
    plan = None
    stream = None
    parts: list[str] = []
    try:
        plan = await sync_to_async(plan_answer)(turn)
        if not plan.needs_generation:
            parts.append(plan.final_text)
            yield StreamEvent("token", {"text": plan.final_text})
        else:
            if plan.prefix:
                parts.append(plan.prefix)
                yield StreamEvent("token", {"text": plan.prefix})
            stream = get_llm().astream(plan.messages, **turn.params.as_dict())
            watch = NoAnswerWatch()
            # Closing the stream closes the provider's HTTP response: it stops generating.
            async with aclosing(stream), aclosing(watch.passed(stream)) as pieces:
                async for piece in pieces:
                    parts.append(piece)
                    yield StreamEvent("token", {"text": piece})
            if watch.abstained:
                parts[:] = [plan.abstain()]
                yield StreamEvent("token", {"text": NO_CONTEXT_ANSWER})
    except (asyncio.CancelledError, GeneratorExit):
        await sync_to_async(finish_turn)(
            turn,
            plan,
            text="".join(parts),
            status=MessageStatus.PARTIAL,
            model=stream.model if stream else "",
            usage=stream.usage if stream else {},
        )
        raise
    except Exception as exc:
        logger.exception("knowledge chat: streaming conversation %s failed", turn.conversation.pk)
        message = await sync_to_async(finish_turn)(
            turn, plan, text="".join(parts), status=MessageStatus.ERROR, error=_describe(exc)
        )
        yield StreamEvent(
            "error",
            {
                "code": "generation_failed",
                "message": _("The answer could not be generated; please try again."),
                "conversation_id": str(turn.conversation.pk),
                "message_id": message.pk if message else None,
            },
        )
        return
    text = "".join(parts)
    usage = stream.usage if stream else {}
    message = await sync_to_async(finish_turn)(
        turn, plan, text=text, status=MessageStatus.COMPLETE, model=stream.model if stream else "", usage=usage
    )
    result = _result(turn, plan, message, text, usage)
    yield StreamEvent(
        "done",
        {
            "conversation_id": result.conversation_id,
            "message_id": result.message_id,
            "sources": result.sources,
            "usage": result.usage,
            "route": result.route,
        },
    )


# --- step 4: finish -----------------------------------------------------------------------------


def finish_turn(
    turn: Turn,
    plan: Plan | None,
    *,
    text: str,
    status: str,
    model: str = "",
    usage: dict | None = None,
    error: str = "",
) -> KnowledgeMessage | None:
    """Store the answer and log the exchange in one transaction.

    A regeneration deletes the previous answer(s) to the question and counts itself (and each as
    implicit negative feedback, `ml_training.services.feedback.record_regeneration`); a failed
    regeneration keeps the previous answer (only the log records the failure) and returns None.
    """
    usage = usage or {}
    latency_ms = turn.elapsed_ms()
    route = plan.route if plan is not None else MessageRoute.RAG
    sources = plan.sources if plan is not None else []
    message = None
    with transaction.atomic():
        conversation = KnowledgeConversation.objects.select_for_update().get(pk=turn.conversation.pk)
        replaces = turn.regenerated and status != MessageStatus.ERROR
        if not turn.regenerated or replaces:
            if replaces:
                replaced = conversation.messages.filter(role=MessageRole.ASSISTANT, id__gt=turn.user_message.id)
                record_regeneration(user=turn.user, replaced=list(replaced))
                replaced.delete()
                conversation.regeneration_count = F("regeneration_count") + 1
            message = KnowledgeMessage.objects.create(
                conversation=conversation,
                role=MessageRole.ASSISTANT,
                content=text,
                sources=sources,
                llm_model=model,
                llm_params=turn.params.as_dict(),
                usage=usage,
                status=status,
                error=error,
                route=route,
                latency_ms=latency_ms,
                model_versions=plan.model_versions if plan is not None else attribution_for(["rag"], turn.user.pk),
            )
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["regeneration_count", "updated_at"])
        if turn.log:
            _log_exchange(turn, plan, text=text, status=status, model=model, usage=usage, error=error)
    return message


def _log_exchange(turn: Turn, plan: Plan | None, *, text, status, model, usage, error) -> None:
    scores = plan.scores if plan is not None else []
    if status == MessageStatus.PARTIAL and not error:
        error = "client disconnected; the answer is partial"
    record_exchange(
        channel=turn.channel,
        collection_name=turn.conversation.rag_key,
        session_id=str(turn.conversation.pk),
        user_id=turn.user.pk,
        user_message=turn.question,
        assistant_message=text,
        llm_model=model,
        llm_params={**turn.params.as_dict(), "status": status},
        reasoning_level=turn.params.reasoning_level,
        retrieval_info={
            "query": turn.question,
            "retrieved_count": len(plan.sources) if plan is not None else 0,
            "reranking_used": plan.reranking_used if plan is not None else False,
            "top_scores": scores,
            "relevance": plan.relevance if plan is not None else [],
            "route": plan.route if plan is not None else "",
            "no_answer": plan.no_answer if plan is not None else False,
            "model_abstained": plan.model_abstained if plan is not None else False,
            "relevance_floor": settings.RAG_RELEVANCE_FLOOR,
            "curated_faq_id": plan.curated_faq_id if plan is not None else None,
        },
        performance={
            "response_time_ms": turn.elapsed_ms(),
            "token_count": usage.get("completion_tokens", 0),
            "retrieval_time_ms": plan.retrieval_ms if plan is not None else 0,
        },
        error=error,
        regenerated=turn.regenerated,
        retrieved_docs=plan.sources if plan is not None else [],
    )


def _result(turn: Turn, plan: Plan, message: KnowledgeMessage | None, text: str, usage: dict) -> TurnResult:
    return TurnResult(
        conversation_id=str(turn.conversation.pk),
        message_id=message.pk if message else None,
        answer=text,
        sources=plan.sources,
        usage=usage,
        route=plan.route,
        status=message.status if message else MessageStatus.ERROR,
    )


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# --- conveniences for callers that don't stream -------------------------------------------------


def chat(*, user, message: str, rag_key: str = "", rag_type: str = "", conversation_id=None, params=None, log=True):
    """One plain (non-streaming) turn."""
    turn = start_turn(
        user=user,
        message=message,
        rag_key=rag_key,
        rag_type=rag_type,
        conversation_id=conversation_id,
        params=params,
        log=log,
    )
    return answer_turn(turn)


def regenerate(*, user, conversation_id, params=None, log: bool = True) -> TurnResult:
    """Answer the last question again, replacing the previous answer (plain)."""
    return answer_turn(start_regeneration(user=user, conversation_id=conversation_id, params=params, log=log))
