"""Partner chat sessions with a tuning log (seed 000, table tb_partner_rag_chat_tuning_log).

A partner's server warms a session up once, then streams messages:

* `warm_up()` creates the session row once per (partner, session_id) - INSERT ... ON CONFLICT DO
  NOTHING - and a later warm-up only fills `initial_data` while it is still empty, in one
  conditional UPDATE. `client_info` keeps only `client_ip` and `referer`; `initial_data` keeps a
  summary (has_health_data, health_summary_length, patient_info_keys), never the health data. The
  health text itself is needed to answer, so it is kept only in the cache for SESSION_CONTEXT_TTL.
* `stream_turn()` answers a message (retrieval over the partner's shared documents - rag_key =
  partner_id - those that answer it by `rag.services.relevance`, plus the session's health context, then the
  LLM's token stream; with neither, the no-answer reply of the knowledge chat, logged as
  `retrieval_info.no_answer`, and no LLM call; the same reply and log when the model finds no answer in
  them and abstains with the prompt's NO_ANSWER_MARK, `retrieval_info.model_abstained`). When the stream
  completes, ONE UPDATE appends the user and assistant entries to `conversation` (jsonb `||`) and
  increments `message_count`, so concurrent messages never lose an entry; the same statement
  queues the exchange's analytics log (`enqueue_statement`, a CTE of the UPDATE). A failed or
  abandoned answer is logged for analytics with its error, but not added to the tuning conversation
  (only finished answers are).

Database steps run in a thread and hand their connection back right away (`db_step`): a stream
can last many seconds and must not hold a connection or a worker thread meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.services.message_logs import enqueue_statement, record_exchange
from chat.models import PartnerChatTuningLog
from chat.services.knowledge_chat import NO_CONTEXT_ANSWER, StreamEvent
from config.db import execute_isolated
from ml_training.services.masking import mask_text
from rag.providers.prompts import NO_ANSWER_INSTRUCTION, NoAnswerWatch

logger = logging.getLogger(__name__)

SESSION_CONTEXT_TTL = 3600  # seconds the raw health text stays available for answering (cache only)
MAX_HEALTH_CONTEXT_CHARS = 4000
HISTORY_ENTRIES = 6  # earlier conversation entries sent to the LLM
SEARCH_LIMIT = 5
REFERER_MAX_LENGTH = 500
ABANDONED = "client disconnected before the answer finished"

SYSTEM_PROMPT = (
    "당신은 {partner} 파트너의 건강 상담 도우미입니다. 아래 <context>의 검진 결과와 자료만 근거로 "
    "친절하고 정확하게 한국어로 답하고, 진단이나 처방은 하지 마세요. " + NO_ANSWER_INSTRUCTION
)


@dataclass(frozen=True)
class WarmupResult:
    session: PartnerChatTuningLog
    created: bool


@dataclass
class PreparedTurn:
    """Everything a streamed answer needs, gathered before the first byte is sent."""

    partner_id: str
    session_id: str
    user_uuid: str
    message: str
    llm_messages: list[dict]
    params: dict
    sources: list[dict] = field(default_factory=list)
    retrieval_info: dict = field(default_factory=dict)
    retrieval_ms: int = 0
    asked_at: datetime = field(default_factory=timezone.now)
    channel: str = "partner"  # the analytics channel the turn is logged under
    final_text: str = ""  # an answer that needs no generation (nothing to ground it on)

    def abstain(self) -> str:
        """The model found no answer in the passages: the turn becomes a no-answer; returns its text."""
        self.retrieval_info.update(no_answer=True, model_abstained=True)
        self.sources = []
        return NO_CONTEXT_ANSWER


class SessionNotFound(Exception):
    pass


class AmbiguousSession(Exception):
    """Several partners use this session id (only staff, who may read any partner's, can hit this)."""


# --- warm-up ------------------------------------------------------------------------------------


def minimal_client_info(*, client_ip: str | None, referer: str | None) -> dict:
    """Only what seed 000 allows: the client's IP and the referer (no user agent, cookies, ...)."""
    info = {}
    if client_ip:
        info["client_ip"] = str(client_ip)
    if referer:
        info["referer"] = str(referer)[:REFERER_MAX_LENGTH]
    return info


def health_text(initial_data: dict | None) -> str:
    """The checkup data sent at warm-up (`health_data`, or its alias `health_summary`) as text."""
    initial_data = initial_data or {}
    health = initial_data.get("health_data") or initial_data.get("health_summary")
    if health in (None, "", {}, []):
        return ""
    return health if isinstance(health, str) else json.dumps(health, ensure_ascii=False)


def summarize_initial_data(initial_data: dict | None) -> dict:
    """The seed's summary of warm-up data: whether health data came, its length, patient info key names."""
    if not initial_data:
        return {}
    patient_info = initial_data.get("patient_info")
    text = health_text(initial_data)
    return {
        "has_health_data": bool(text),
        "health_summary_length": len(text),
        "patient_info_keys": sorted(str(key) for key in patient_info) if isinstance(patient_info, dict) else [],
    }


_WARMUP_INSERT = f"""
INSERT INTO {PartnerChatTuningLog._meta.db_table}
    (partner_id, hospital_id, user_uuid, session_id, client_info, initial_data, conversation, message_count,
     created_at, updated_at)
VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, '[]'::jsonb, 0, now(), now())
ON CONFLICT (partner_id, session_id) DO NOTHING
RETURNING id
"""

# Only the first non-empty initial data is kept ("최초 1회만 저장").
_WARMUP_FILL_INITIAL_DATA = f"""
UPDATE {PartnerChatTuningLog._meta.db_table}
SET initial_data = %s::jsonb, updated_at = now()
WHERE partner_id = %s AND session_id = %s AND initial_data = '{{}}'::jsonb
"""


def warm_up(
    *,
    partner_id: str,
    session_id: str,
    hospital_id: str = "",
    user_uuid: str = "",
    client_ip: str | None = None,
    referer: str | None = None,
    initial_data: dict | None = None,
) -> WarmupResult:
    """Create the session's tuning-log row once; later calls only fill an empty initial_data."""
    summary = summarize_initial_data(initial_data)
    client_info = minimal_client_info(client_ip=client_ip, referer=referer)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _WARMUP_INSERT,
            [partner_id, hospital_id, user_uuid, session_id, json.dumps(client_info), json.dumps(summary)],
        )
        created = cursor.fetchone() is not None
        if not created and summary:
            cursor.execute(_WARMUP_FILL_INITIAL_DATA, [json.dumps(summary), partner_id, session_id])
    _remember_health_text(partner_id, session_id, health_text(initial_data))
    session = PartnerChatTuningLog.objects.get(partner_id=partner_id, session_id=session_id)
    return WarmupResult(session=session, created=created)


def _context_key(partner_id: str, session_id: str) -> str:
    digest = hashlib.sha256(f"{partner_id}\x1f{session_id}".encode()).hexdigest()[:32]
    return f"partner_chat:health:{digest}"


def _remember_health_text(partner_id: str, session_id: str, text: str) -> None:
    if not text:
        return
    try:
        cache.add(_context_key(partner_id, session_id), text[:MAX_HEALTH_CONTEXT_CHARS], SESSION_CONTEXT_TTL)
    except Exception:  # a cache outage costs answer quality, never the warm-up
        logger.warning("partner chat: could not cache the session's health context", exc_info=True)


def _recall_health_text(partner_id: str, session_id: str) -> str:
    try:
        return cache.get(_context_key(partner_id, session_id)) or ""
    except Exception:
        logger.warning("partner chat: could not read the session's health context", exc_info=True)
        return ""


# --- sessions -----------------------------------------------------------------------------------


def get_session(*, partner_id: str, session_id: str) -> PartnerChatTuningLog:
    try:
        return PartnerChatTuningLog.objects.select_related("partner").get(partner_id=partner_id, session_id=session_id)
    except PartnerChatTuningLog.DoesNotExist:
        raise SessionNotFound(session_id) from None


def find_session(*, session_id: str, partner_id: str | None = None) -> PartnerChatTuningLog:
    """The session `session_id` of `partner_id`, or of whichever partner uses it when None (staff).

    Raises SessionNotFound, or AmbiguousSession when partner_id is None and several partners use the id.
    """
    sessions = PartnerChatTuningLog.objects.filter(session_id=session_id)
    if partner_id:
        sessions = sessions.filter(partner_id=partner_id)
    found = list(sessions[:2])
    if not found:
        raise SessionNotFound(session_id)
    if len(found) > 1:
        raise AmbiguousSession(session_id)
    return found[0]


_APPEND = f"""
UPDATE {PartnerChatTuningLog._meta.db_table}
SET conversation = conversation || %s::jsonb, message_count = message_count + 1, updated_at = now()
WHERE partner_id = %s AND session_id = %s
RETURNING message_count
"""


def seoul_timestamp(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def append_exchange(
    *, partner_id: str, session_id: str, user_message: str, assistant_message: str, asked_at: datetime,
    answered_at: datetime, along_with: tuple[str, list] | None = None,
) -> int | None:  # fmt: skip
    """Append the user and assistant entries in one atomic UPDATE; the new message_count (None: no session).

    `along_with` (sql, params) is sent as a CTE of the same UPDATE (`execute_isolated`): the turn's
    analytics log shares the append's round trip and fate.
    """
    entries = [
        {"role": "user", "content": user_message, "ts": seoul_timestamp(asked_at)},
        {"role": "assistant", "content": assistant_message, "ts": seoul_timestamp(answered_at)},
    ]
    params = [json.dumps(entries, ensure_ascii=False), partner_id, session_id]
    row = execute_isolated(_APPEND, params, fetch=True, along_with=along_with)
    return row[0] if row else None


# --- a message turn -----------------------------------------------------------------------------


def prepare_turn(
    *, partner_id: str, session_id: str, message: str, params: dict | None = None, history: list[dict] | None = None,
    instructions: str = "", channel: str = "partner",
) -> PreparedTurn:  # fmt: skip
    """Load the session, retrieve grounding passages and build the LLM messages (raises SessionNotFound).

    `history` is the prompt history while the session has none stored (a stateless client keeps it);
    `instructions` are the caller's own, added to the system prompt.
    """
    from rag.providers import format_context

    session = get_session(partner_id=partner_id, session_id=session_id)
    turn = PreparedTurn(
        partner_id=partner_id,
        session_id=session_id,
        user_uuid=session.user_uuid,
        message=message,
        llm_messages=[],
        params=dict(params or {}),
        channel=channel,
    )
    passages = []
    health = _recall_health_text(partner_id, session_id)
    if health:
        passages.append({"id": "health", "title": "검진 결과", "content": health, "about_asker": True})
    passages += _retrieve(turn)
    # The warm-up data grounds an answer whatever the documents score; without it or a document
    # above the floor, the documents do not cover the question.
    turn.retrieval_info["no_answer"] = not passages
    turn.retrieval_info["model_abstained"] = False
    turn.retrieval_info["relevance_floor"] = settings.RAG_RELEVANCE_FLOOR
    if not passages:
        turn.final_text = NO_CONTEXT_ANSWER
    system = SYSTEM_PROMPT.format(partner=session.partner.name or partner_id)
    if instructions:
        system += "\n\n" + instructions
    if passages:
        system += "\n\n" + format_context(passages)
    stored = [{"role": e["role"], "content": e["content"]} for e in session.conversation]
    history = (stored or list(history or []))[-HISTORY_ENTRIES:]
    turn.llm_messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": message}]
    return turn


def _retrieve(turn: PreparedTurn) -> list[dict]:
    """Shared documents of the rag_keys the partner owns (its partner_id plus staff grants), which no other
    partner can write; a search failure only costs grounding. Each rag_key is ranked with the parameters the
    served rag version has for it; the end user's sticky A/B bucket is their user_uuid (else the session)."""
    from ml_training.services.serving import rag_rankings_for
    from rag.services.access import partner_rag_keys
    from rag.services.relevance import ground
    from rag.services.search import search

    started = time.monotonic()
    asker = f"partner:{turn.partner_id}:{turn.user_uuid or turn.session_id}"
    rankings, rag_version = rag_rankings_for(asker)
    turn.retrieval_info["model_versions"] = {"rag": rag_version}
    try:
        hits = sorted(
            (hit for rag_key in partner_rag_keys(turn.partner_id)
             for hit in search(user=None, rag_key=rag_key, rag_type="chatbot_shared", query=turn.message,
                               limit=SEARCH_LIMIT, ranking=rankings.for_rag_key(rag_key))),
            key=lambda hit: -hit.score,
        )[:SEARCH_LIMIT]  # fmt: skip
        grounding = ground(turn.message, hits)
    except Exception as exc:
        logger.warning("partner chat: retrieval failed for %s: %s", turn.partner_id, exc)
        grounding = ground(turn.message, [])
        turn.retrieval_info["error"] = str(exc)[:300]
    turn.retrieval_ms = round((time.monotonic() - started) * 1000)
    turn.sources = [
        {"document_id": h.document_id, "doc_id": h.doc_id, "chunk_id": h.chunk_id, "filename": h.filename,
         "score": round(h.score, 4)}
        for h in grounding.hits
    ]  # fmt: skip
    scores, relevance = grounding.logged()
    turn.retrieval_info.update(
        {
            "query": turn.message,
            "retrieved_count": len(grounding.hits),
            "reranking_used": False,
            "top_scores": scores,
            "relevance": relevance,
        }
    )
    return [{"id": str(h.chunk_id), "title": h.filename or h.doc_id, "content": h.content} for h in grounding.hits]


def finish_turn(
    turn: PreparedTurn, *, answer: str, model: str, usage: dict, response_ms: int, error: str = ""
) -> int | None:
    """Store a turn: finished answers go to the tuning conversation; every turn goes to analytics.

    A finished answer's append and its analytics log travel in ONE statement (the log's INSERT as a
    CTE of the append): a partner turn is a few milliseconds, and a round trip of its own would make
    logging a noticeable share of it. If that statement fails, it is rolled back whole and the
    analytics record is queued on its own (record_exchange never raises and falls back to its
    durable outbox file), so the turn is never lost from the logs.
    """
    answered_at = timezone.now()
    answer = answer.replace("\x00", "\ufffd")  # PostgreSQL text/jsonb cannot hold NUL
    log = {
        "channel": turn.channel,
        "collection_name": turn.partner_id,
        "session_id": turn.session_id,
        "user_id": turn.user_uuid or None,
        "user_message": turn.message,
        "assistant_message": answer,
        "llm_model": model,
        "llm_params": {k: v for k, v in turn.params.items() if k != "reasoning_level"},
        "reasoning_level": turn.params.get("reasoning_level", ""),
        "retrieval_info": turn.retrieval_info,
        "performance": {
            "response_time_ms": response_ms,
            "token_count": usage.get("completion_tokens", 0),
            "retrieval_time_ms": turn.retrieval_ms,
        },
        "error": error,
        "retrieved_docs": turn.sources,
    }
    if error:
        record_exchange(**log)
        return None
    try:
        return append_exchange(
            partner_id=turn.partner_id,
            session_id=turn.session_id,
            user_message=turn.message,
            assistant_message=answer,
            asked_at=turn.asked_at,
            answered_at=answered_at,
            along_with=enqueue_statement(**log),
        )
    except Exception:
        logger.exception(
            "partner chat: tuning-log append failed for %s/%s; entries=%s",
            turn.partner_id, turn.session_id, json.dumps([turn.message, answer], ensure_ascii=False),
        )  # fmt: skip
        record_exchange(**log)
        return None


def db_step(func):
    """Run a short database step from async code in a thread, then hand its connection back.

    The connection is closed (returned to the pool when pooling is on) right after the step, so a
    stream that lasts many seconds holds no database connection meanwhile.
    """

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run)


def _finish_turn_safely(turn: PreparedTurn, **result) -> int | None:
    """finish_turn for the streaming path: the answer has already been sent, so a storage failure is
    logged (the analytics record itself is never lost: record_exchange falls back to its outbox)."""
    try:
        return finish_turn(turn, **result)
    except Exception:
        logger.exception("partner chat: could not store the turn of %s/%s", turn.partner_id, turn.session_id)
        return None


_afinish_turn = db_step(_finish_turn_safely)


async def stream_turn(turn: PreparedTurn) -> AsyncIterator[StreamEvent]:
    """Yield `token` {"text"} events, then one `done` {...} or `error` {"code", "message"}.

    If the consumer stops early (the client disconnected), the LLM stream is closed - which stops
    generation - and the partial answer is logged for analytics as abandoned.
    """
    from rag.providers import get_llm

    started = time.monotonic()
    if turn.final_text:  # nothing grounds an answer: no LLM call; stored before it is sent
        result = {"answer": turn.final_text, "model": "", "usage": {}}
        message_count = await _afinish_turn(turn, **result, response_ms=round((time.monotonic() - started) * 1000))
        yield StreamEvent("token", {"text": turn.final_text})
        yield StreamEvent("done", _done(turn, message_count, result))
        return
    llm = get_llm()
    stream = None
    outcome = ABANDONED
    watch = NoAnswerWatch()
    try:
        stream = llm.astream(turn.llm_messages, **turn.params)
        async with aclosing(stream), aclosing(watch.passed(stream)) as pieces:
            async for piece in pieces:
                yield StreamEvent("token", {"text": piece})
        outcome = ""
    except Exception as exc:  # provider errors, timeouts, broken streams
        logger.warning("partner chat: answer failed for %s/%s: %s", turn.partner_id, turn.session_id, exc)
        outcome = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        if outcome == ABANDONED:  # closed by the consumer or cancelled: log what was said, then stop
            await _afinish_turn(turn, **_result_of(stream, llm, started), error=ABANDONED)
    if outcome:
        await _afinish_turn(turn, **_result_of(stream, llm, started), error=outcome)
        yield StreamEvent(
            "error", {"code": "llm_error", "message": _("The answer could not be generated; please try again.")}
        )
        return
    result = _result_of(stream, llm, started)
    if watch.abstained:
        result["answer"] = turn.abstain()
        yield StreamEvent("token", {"text": result["answer"]})
    message_count = await _afinish_turn(turn, **result)
    yield StreamEvent("done", _done(turn, message_count, result))


def _done(turn: PreparedTurn, message_count: int | None, result: dict) -> dict:
    return {
        "session_id": turn.session_id,
        "message_count": message_count,
        "answer": result["answer"],
        "sources": turn.sources,
        "usage": result["usage"],
        "model": result["model"],
    }


def _result_of(stream, llm, started: float) -> dict:
    return {
        "answer": stream.text if stream is not None else "",
        "model": getattr(stream, "model", "") or llm.model,
        "usage": dict(stream.usage) if stream is not None else {},
        "response_ms": round((time.monotonic() - started) * 1000),
    }


# --- tuning export ------------------------------------------------------------------------------


def tuning_record(session: PartnerChatTuningLog) -> dict:
    """One session as a fine-tuning example: the chat `messages` plus non-personal context.

    user_uuid and client_info are left out; initial_data is already only a summary; names, phone
    numbers, addresses and card numbers in the messages are masked (`ml_training.services.masking`).
    """
    return {
        "partner_id": session.partner_id,
        "hospital_id": session.hospital_id,
        "session_id": session.session_id,
        "initial_data": session.initial_data,
        "messages": [{"role": e.get("role"), "content": mask_text(e.get("content"))} for e in session.conversation],
        "message_count": session.message_count,
        "created_at": seoul_timestamp(session.created_at),
    }


def export_tuning_jsonl(sessions) -> Iterator[str]:
    """JSON lines, one session each, streamed from the database in chunks."""
    for session in sessions.order_by("created_at", "pk").iterator(chunk_size=500):
        yield json.dumps(tuning_record(session), ensure_ascii=False) + "\n"
