"""OpenAI-compatible chat completions over the project's chatbots (`/v1/`, issue 13).

Models, as OpenAI model ids:

* `rag:<rag_key>`: a knowledge base the caller can search (shared documents of the key, or the
  caller's own). Answered by the knowledge chat (`chat.services.knowledge_chat`): the same
  retrieval and isolation, the SQL|RAG router for staff, the same conversation rows and logging.
* `dining`: the dining assistant (`chat.services.dining_chat.handle_turn`); the text answer is the
  message content, the recommendations travel in the documented extra field `dining`.

A partner key reaches its own knowledge base, `rag:<partner_id>`, answered by the partner chat
(`chat.services.partner_chat`: its grounding, a tuning-log session per thread); the end-user
chatbots above need a person's account.

A request's last message is the question and the earlier user/assistant messages its history;
system (and developer) messages are added to the chat's own instructions. OpenAI clients are
stateless and send the whole history every time, so a request continues a stored conversation
(knowledge), session (dining) or tuning-log session (partner) when its history ends with that
conversation's latest exchange, verbatim; otherwise it starts a new one, with the sent history as
the prompt's context (the dining turn reads only its own session).

Every turn creates the same rows as the native APIs (a knowledge conversation and its messages, a
dining conversation row with its recommendation log, a partner session's appended entries), logged
under the analytics channel `openai`, so feedback on them works as for any turn. Their ids come
back: the completion id names the turn (`chatcmpl-rag-<question message id>`,
`chatcmpl-dining-<conversation row id>`) and the extra field gives the ids feedback takes
(`knowledge.message_id`: the answer's message; `dining.conversation_id`; `partner.session_id` with
`partner.message_count`, the turn's number in the session).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db.models import Min
from django.utils.translation import gettext as _
from rest_framework import status

from chat.models import Conversation, KnowledgeMessage, MessageRole, MessageStatus, PartnerChatTuningLog
from chat.services import knowledge_chat, partner_chat
from chat.services.dining_chat import handle_turn
from chat.services.profiles import chat_user_for
from config.api.exceptions import ApiError
from rag.providers.llm import estimate_usage
from rag.services.access import searchable_documents

CHANNEL = "openai"
RAG_PREFIX = "rag:"
DINING_MODEL = "dining"
OWNER = "chatbots"
INSTRUCTION_ROLES = ("system", "developer")
FINISH_REASON = "stop"
EXTRA_FIELDS = ("knowledge", "dining", "partner")


@dataclass(frozen=True)
class CompletionRequest:
    """A validated request (see `chat.api.openai_serializers`): messages are {"role", "content": str}."""

    model: str
    messages: list[dict]
    user: str = ""  # OpenAI's end-user id: a partner's user_uuid of a new session, otherwise ignored
    stream: bool = False
    include_usage: bool = False
    params: dict = field(default_factory=dict)  # temperature, top_p, max_tokens, reasoning_level given
    location: dict | None = None  # dining extension: where the user is
    context: dict | None = None  # dining extension: companion_count, time_of_day


@dataclass
class PreparedCompletion:
    """A completion ready to be answered: for `rag:` models the question is already stored."""

    request: CompletionRequest
    user: object
    question: str
    history: list[dict]
    created: int = field(default_factory=lambda: int(time.time()))
    knowledge_turn: knowledge_chat.Turn | None = None
    partner_turn: partner_chat.PreparedTurn | None = None

    @property
    def model(self) -> str:
        return self.request.model


# --- models -------------------------------------------------------------------------------------


def model_object(model_id: str, created) -> dict:
    return {"id": model_id, "object": "model", "created": int(created.timestamp()) if created else 0, "owned_by": OWNER}


def available_models(user, *, partner: bool) -> list[dict]:
    """The models the caller may use: a user's reachable knowledge bases and `dining`; a partner's own
    knowledge base (conversations and meal cards of the end-user chatbots belong to a person)."""
    if partner:
        return [model_object(f"{RAG_PREFIX}{user.partner_id}", user.partner.created_at)]
    keys = searchable_documents(user).values("rag_key").annotate(first=Min("created_at")).order_by("rag_key")
    models = [model_object(f"{RAG_PREFIX}{row['rag_key']}", row["first"]) for row in keys]
    return [*models, model_object(DINING_MODEL, None)]


def find_model(user, model_id: str, *, partner: bool) -> dict:
    """The model object of `model_id` if the caller may use it: 404 model_not_found otherwise (other
    partners' knowledge bases included), 403 for a partner key asking for `dining`."""
    if partner:
        own = available_models(user, partner=True)[0]
        if model_id == own["id"]:
            return own
        if model_id == DINING_MODEL:
            raise ApiError(
                "permission_denied",
                _("The dining assistant needs a user's token; a partner key answers through %(model)s.")
                % {"model": own["id"]},
                status.HTTP_403_FORBIDDEN,
                {"param": "model"},
            )
        raise model_not_found(model_id)
    if model_id == DINING_MODEL:
        return model_object(DINING_MODEL, None)
    if model_id.startswith(RAG_PREFIX) and len(model_id) > len(RAG_PREFIX):
        documents = searchable_documents(user).filter(rag_key=model_id[len(RAG_PREFIX) :])
        first = documents.aggregate(first=Min("created_at"))["first"]
        if first is not None:
            return model_object(model_id, first)
    raise model_not_found(model_id)


def model_not_found(model_id: str) -> ApiError:
    return ApiError(
        "model_not_found",
        _("The model `%(model)s` does not exist or you do not have access to it.") % {"model": model_id},
        status.HTTP_404_NOT_FOUND,
        {"param": "model"},
    )


# --- messages -----------------------------------------------------------------------------------


def split_messages(messages: list[dict]) -> tuple[str, list[dict], str]:
    """(question, history of user/assistant messages, the caller's instructions)."""
    instructions = "\n\n".join(m["content"] for m in messages if m["role"] in INSTRUCTION_ROLES and m["content"])
    dialogue = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] not in INSTRUCTION_ROLES]
    if not dialogue or dialogue[-1]["role"] != MessageRole.USER:
        raise invalid_messages(_("The last message must be the user's question."))
    if not dialogue[-1]["content"].strip():
        raise invalid_messages(_("The question (the last user message) is empty."))
    return dialogue[-1]["content"], dialogue[:-1], instructions


def invalid_messages(message: str) -> ApiError:
    return ApiError("invalid", message, status.HTTP_400_BAD_REQUEST, {"param": "messages"})


def last_exchange(history: list[dict]) -> tuple[str, str] | None:
    """(question, answer) when the history ends with a user message answered by the assistant."""
    if len(history) >= 2 and [m["role"] for m in history[-2:]] == [MessageRole.USER, MessageRole.ASSISTANT]:
        return history[-2]["content"], history[-1]["content"]
    return None


def continued_conversation(user, rag_key: str, history: list[dict]):
    """The id of the user's knowledge conversation whose latest exchange ends `history`, or None."""
    exchange = last_exchange(history)
    if exchange is None:
        return None
    question, answer = exchange
    candidate = (
        KnowledgeMessage.objects.filter(
            conversation__user=user, conversation__rag_key=rag_key, role=MessageRole.ASSISTANT, content=answer
        )
        .exclude(status=MessageStatus.ERROR)
        .order_by("-id")
        .first()
    )
    if candidate is None:
        return None
    latest = list(candidate.conversation.messages.order_by("-id").values_list("role", "content")[:2])
    if latest == [(MessageRole.ASSISTANT, answer), (MessageRole.USER, question)]:
        return candidate.conversation_id
    return None


def continued_dining_session(chat_user, history: list[dict]) -> str | None:
    """The session of the user's dining turn that `history` ends with, or None."""
    exchange = last_exchange(history)
    if exchange is None:
        return None
    question, answer = exchange
    session = (
        Conversation.objects.filter(user=chat_user, input_text=question, response_text=answer)
        .order_by("-timestamp", "-id")
        .values_list("session_id", flat=True)
        .first()
    )
    return str(session) if session else None


def continued_partner_session(partner_id: str, history: list[dict]) -> str | None:
    """The partner's session whose conversation ends with the exchange `history` ends with, or None."""
    exchange = last_exchange(history)
    if exchange is None:
        return None
    question, answer = exchange
    # jsonb paths count negative array indexes from the end: the session's last two entries
    ending = {"conversation__-2__content": question, "conversation__-1__content": answer}
    sessions = PartnerChatTuningLog.objects.filter(partner_id=partner_id, **ending).order_by("-updated_at")
    return sessions.values_list("session_id", flat=True).first()


# --- answering ----------------------------------------------------------------------------------


def prepare(*, user, partner: bool, request: CompletionRequest) -> PreparedCompletion:
    """Check the model and the messages; a `rag:` question is stored now (so a stream can start)."""
    find_model(user, request.model, partner=partner)
    question, history, instructions = split_messages(request.messages)
    prepared = PreparedCompletion(request=request, user=user, question=question, history=history)
    if partner:
        prepared.partner_turn = _start_partner_turn(user.partner_id, prepared, instructions)
    elif request.model.startswith(RAG_PREFIX):
        rag_key = request.model[len(RAG_PREFIX) :]
        prepared.knowledge_turn = knowledge_chat.start_turn(
            user=user,
            message=question,
            rag_key=rag_key,
            conversation_id=continued_conversation(user, rag_key, history),
            params=request.params,
            history=history,
            instructions=instructions,
            channel=CHANNEL,
        )
    return prepared


def _start_partner_turn(partner_id: str, prepared: PreparedCompletion, instructions: str):
    session_id = continued_partner_session(partner_id, prepared.history)
    if session_id is None:  # a new thread: a new session (warm-up without health data)
        session_id = f"openai-{uuid.uuid4().hex}"
        partner_chat.warm_up(partner_id=partner_id, session_id=session_id, user_uuid=prepared.request.user[:128])
    return partner_chat.prepare_turn(
        partner_id=partner_id,
        session_id=session_id,
        message=prepared.question,
        params=prepared.request.params,
        history=prepared.history,
        instructions=instructions,
        channel=CHANNEL,
    )


async def acomplete(prepared: PreparedCompletion) -> dict:
    """The whole `chat.completion` object (the partner chat only streams: its stream is read whole)."""
    if prepared.partner_turn is None:
        return await sync_to_async(complete)(prepared)
    parts, done = [], None
    async with aclosing(partner_chat.stream_turn(prepared.partner_turn)) as events:
        async for event in events:
            if event.name == "token":
                parts.append(event.data["text"])
            elif event.name == "done":
                done = event.data
    if done is None:
        raise ApiError("generation_failed", _("The answer could not be generated; please try again."), 503)
    return completion_body(
        prepared,
        completion_id=prepared_id(prepared),
        content="".join(parts),
        usage=done["usage"],
        extra=partner_extra(done),
    )


def complete(prepared: PreparedCompletion) -> dict:
    """The whole `chat.completion` object of a knowledge or dining turn."""
    if prepared.knowledge_turn is not None:
        result = knowledge_chat.answer_turn(prepared.knowledge_turn)
        return completion_body(
            prepared,
            completion_id=prepared_id(prepared),
            content=result.answer,
            usage=result.usage,
            extra={
                "knowledge": knowledge_extra(result.conversation_id, result.message_id, result.sources, result.route)
            },
        )
    return _dining_completion(prepared)


async def astream(prepared: PreparedCompletion) -> AsyncIterator[dict]:
    """`chat.completion.chunk` objects (and an {"error"} object if generation fails mid-stream).

    Closing this generator (the client went away) closes the knowledge stream at once: generation
    stops and the partial answer is stored and logged, as in the native stream.
    """
    if prepared.knowledge_turn is not None:
        events, extra_of = knowledge_chat.astream_turn(prepared.knowledge_turn), knowledge_done_extra
    elif prepared.partner_turn is not None:
        events, extra_of = partner_chat.stream_turn(prepared.partner_turn), partner_extra
    else:
        for chunk in completion_chunks(await sync_to_async(_dining_completion)(prepared), prepared):
            yield chunk
        return
    async with aclosing(_relay(prepared, events, extra_of)) as chunks:
        async for chunk in chunks:
            yield chunk


async def _relay(prepared: PreparedCompletion, events, extra_of: Callable[[dict], dict]) -> AsyncIterator[dict]:
    """A chat's `token`/`done`/`error` events as OpenAI chunks; `extra_of(done data)` is the extra field."""
    chunks = ChunkWriter(prepared, prepared_id(prepared))
    yield chunks.delta({"role": MessageRole.ASSISTANT, "content": ""})
    parts: list[str] = []
    async with aclosing(events) as source:
        async for event in source:
            if event.name == "token":
                parts.append(event.data["text"])
                yield chunks.delta({"content": event.data["text"]})
            elif event.name == "done":
                yield chunks.finish(extra_of(event.data))
                if prepared.request.include_usage:
                    yield chunks.usage(openai_usage(event.data["usage"], prepared, "".join(parts)))
            else:
                yield {"error": {"message": event.data["message"], "type": "server_error", "param": None,
                                 "code": event.data["code"]}}  # fmt: skip


def _dining_completion(prepared: PreparedCompletion) -> dict:
    chat_user = chat_user_for(prepared.user)
    request = prepared.request
    body = handle_turn(
        chat_user=chat_user,
        message=prepared.question,
        session_id=continued_dining_session(chat_user, prepared.history),
        location=request.location,
        context=request.context,
        channel=CHANNEL,
    )
    info = body["session_info"]
    turn_id = info["conversation_id"] or f"{info['session_id']}-{info['conversation_turn']}"
    return completion_body(
        prepared,
        completion_id=f"chatcmpl-dining-{turn_id}",
        content=body["response"],
        usage={},
        extra={
            "dining": {
                "conversation_id": info["conversation_id"],
                "session_id": info["session_id"],
                "recommendations": body["recommendations"],
                "session_info": info,
                "search": body["search"],
                "coupons_issued": body["coupons_issued"],
            }
        },
    )


# --- the wire format ----------------------------------------------------------------------------


def prepared_id(prepared: PreparedCompletion) -> str:
    """The id of a knowledge or partner completion, known before its first chunk."""
    if prepared.knowledge_turn is not None:
        return f"chatcmpl-rag-{prepared.knowledge_turn.user_message.pk}"
    return f"chatcmpl-partner-{prepared.partner_turn.session_id}-{prepared.created}"


def knowledge_extra(conversation_id, message_id, sources, route) -> dict:
    return {"conversation_id": str(conversation_id), "message_id": message_id, "sources": sources, "route": route}


def knowledge_done_extra(done: dict) -> dict:
    return {"knowledge": knowledge_extra(done["conversation_id"], done["message_id"], done["sources"], done["route"])}


def partner_extra(done: dict) -> dict:
    return {"partner": {key: done[key] for key in ("session_id", "message_count", "sources")}}


def openai_usage(usage: dict, prepared: PreparedCompletion, answer: str) -> dict:
    """OpenAI's three counts: the model's own, or an estimate when no model spoke (SQL, dining)."""
    if not usage:
        usage = estimate_usage([*prepared.history, {"role": "user", "content": prepared.question}], answer)
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def completion_body(prepared: PreparedCompletion, *, completion_id: str, content: str, usage: dict, extra: dict):
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": prepared.created,
        "model": prepared.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": MessageRole.ASSISTANT, "content": content},
                "finish_reason": FINISH_REASON,
                "logprobs": None,
            }
        ],
        "usage": openai_usage(usage, prepared, content),
        **extra,
    }


@dataclass(frozen=True)
class ChunkWriter:
    """Builds the `chat.completion.chunk` objects of one streamed completion."""

    prepared: PreparedCompletion
    completion_id: str

    def _chunk(self, choices: list[dict], **extra) -> dict:
        chunk = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.prepared.created,
            "model": self.prepared.model,
            "choices": choices,
            **extra,
        }
        if self.prepared.request.include_usage:
            chunk.setdefault("usage", None)  # every chunk but the last carries "usage": null
        return chunk

    def delta(self, delta: dict) -> dict:
        return self._chunk([{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])

    def finish(self, extra: dict) -> dict:
        return self._chunk([{"index": 0, "delta": {}, "finish_reason": FINISH_REASON, "logprobs": None}], **extra)

    def usage(self, usage: dict) -> dict:
        return self._chunk([], usage=usage)


def completion_chunks(completion: dict, prepared: PreparedCompletion) -> list[dict]:
    """A finished completion as the chunks of a stream (for answers made whole, like dining's)."""
    chunks = ChunkWriter(prepared, completion["id"])
    extra = {key: value for key, value in completion.items() if key in EXTRA_FIELDS}
    stream = [
        chunks.delta({"role": MessageRole.ASSISTANT, "content": completion["choices"][0]["message"]["content"]}),
        chunks.finish(extra),
    ]
    if prepared.request.include_usage:
        stream.append(chunks.usage(completion["usage"]))
    return stream
