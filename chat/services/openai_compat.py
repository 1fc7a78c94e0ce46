"""OpenAI-compatible chat completions over the project's chatbots (`/v1/`, issue 13).

Models, as OpenAI model ids:

* `rag:<rag_key>`: a knowledge base the caller can search (shared documents of the key, or the
  caller's own). Answered by the knowledge chat (`chat.services.knowledge_chat`): the same
  retrieval and isolation, the SQL|RAG router for staff, the same conversation rows and logging.
* `dining`: the dining assistant (`chat.services.dining_chat.handle_turn`); the text answer is the
  message content, the recommendations travel in the documented extra field `dining`.

A request's last message is the question and the earlier user/assistant messages its history;
system (and developer) messages are added to the knowledge chat's own instructions. OpenAI clients
are stateless and send the whole history every time, so a request continues a stored conversation
(knowledge) or session (dining) when its history ends with that conversation's latest exchange,
verbatim; otherwise it starts a new one, with the sent history as the prompt's context.

Every turn creates the same rows as the native APIs (a knowledge conversation and its messages, a
dining conversation row with its recommendation log), logged under the analytics channel `openai`,
so feedback on them works as for any turn. Their ids come back: the completion id names the turn
(`chatcmpl-rag-<question message id>`, `chatcmpl-dining-<conversation row id>`) and the extra field
gives the ids feedback takes (`knowledge.message_id`: the answer's message; `dining.conversation_id`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db.models import Min
from rest_framework import status

from chat.models import Conversation, KnowledgeMessage, MessageRole, MessageStatus
from chat.services import knowledge_chat
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


@dataclass(frozen=True)
class CompletionRequest:
    """A validated request (see `chat.api.openai_serializers`): messages are {"role", "content": str}."""

    model: str
    messages: list[dict]
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

    @property
    def model(self) -> str:
        return self.request.model


# --- models -------------------------------------------------------------------------------------


def model_object(model_id: str, created) -> dict:
    return {"id": model_id, "object": "model", "created": int(created.timestamp()) if created else 0, "owned_by": OWNER}


def available_models(user, *, partner: bool) -> list[dict]:
    """The models the caller may use: its reachable knowledge bases, then `dining`.

    The chatbots answer for end-user accounts (conversations and meal cards belong to a person), so a
    partner key reaches none of them; partner servers keep using /api/v1/partners/chat.
    """
    if partner:
        return []
    keys = searchable_documents(user).values("rag_key").annotate(first=Min("created_at")).order_by("rag_key")
    models = [model_object(f"{RAG_PREFIX}{row['rag_key']}", row["first"]) for row in keys]
    return [*models, model_object(DINING_MODEL, None)]


def find_model(user, model_id: str, *, partner: bool) -> dict:
    """The model object of `model_id` if the caller may use it; 404 model_not_found (403 for a partner key)."""
    if model_id == DINING_MODEL:
        found = model_object(DINING_MODEL, None)
    elif model_id.startswith(RAG_PREFIX) and len(model_id) > len(RAG_PREFIX):
        first = (
            searchable_documents(user).filter(rag_key=model_id[len(RAG_PREFIX) :]).aggregate(first=Min("created_at"))
        )
        found = model_object(model_id, first["first"]) if first["first"] else None
    else:
        found = None
    if found is None:
        raise ApiError(
            "model_not_found",
            f"The model `{model_id}` does not exist or you do not have access to it.",
            status.HTTP_404_NOT_FOUND,
            {"param": "model"},
        )
    if partner:
        raise ApiError(
            "permission_denied",
            "The chatbots answer for end-user accounts; partner servers use /api/v1/partners/chat.",
            status.HTTP_403_FORBIDDEN,
            {"param": "model"},
        )
    return found


# --- messages -----------------------------------------------------------------------------------


def split_messages(messages: list[dict]) -> tuple[str, list[dict], str]:
    """(question, history of user/assistant messages, the caller's instructions)."""
    instructions = "\n\n".join(m["content"] for m in messages if m["role"] in INSTRUCTION_ROLES and m["content"])
    dialogue = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] not in INSTRUCTION_ROLES]
    if not dialogue or dialogue[-1]["role"] != MessageRole.USER:
        raise ApiError(
            "invalid",
            "The last message must be the user's question.",
            status.HTTP_400_BAD_REQUEST,
            {"param": "messages"},
        )
    return dialogue[-1]["content"], dialogue[:-1], instructions


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


# --- answering ----------------------------------------------------------------------------------


def prepare(*, user, partner: bool, request: CompletionRequest) -> PreparedCompletion:
    """Check the model and the messages; a `rag:` question is stored now (so a stream can start)."""
    find_model(user, request.model, partner=partner)
    question, history, instructions = split_messages(request.messages)
    prepared = PreparedCompletion(request=request, user=user, question=question, history=history)
    if request.model.startswith(RAG_PREFIX):
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


def complete(prepared: PreparedCompletion) -> dict:
    """The whole `chat.completion` object."""
    if prepared.knowledge_turn is not None:
        result = knowledge_chat.answer_turn(prepared.knowledge_turn)
        return completion_body(
            prepared,
            completion_id=knowledge_completion_id(prepared.knowledge_turn),
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
    if prepared.knowledge_turn is None:
        for chunk in completion_chunks(await sync_to_async(_dining_completion)(prepared), prepared):
            yield chunk
        return
    turn = prepared.knowledge_turn
    chunks = ChunkWriter(prepared, knowledge_completion_id(turn))
    yield chunks.delta({"role": MessageRole.ASSISTANT, "content": ""})
    parts: list[str] = []
    async with aclosing(knowledge_chat.astream_turn(turn)) as events:
        async for event in events:
            if event.name == "token":
                parts.append(event.data["text"])
                yield chunks.delta({"content": event.data["text"]})
            elif event.name == "done":
                extra = {"knowledge": knowledge_extra(**{k: event.data[k] for k in KNOWLEDGE_DONE_FIELDS})}
                yield chunks.finish(extra)
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

KNOWLEDGE_DONE_FIELDS = ("conversation_id", "message_id", "sources", "route")


def knowledge_completion_id(turn: knowledge_chat.Turn) -> str:
    return f"chatcmpl-rag-{turn.user_message.pk}"


def knowledge_extra(conversation_id, message_id, sources, route) -> dict:
    return {"conversation_id": str(conversation_id), "message_id": message_id, "sources": sources, "route": route}


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
    extra = {key: value for key, value in completion.items() if key in ("knowledge", "dining")}
    stream = [
        chunks.delta({"role": MessageRole.ASSISTANT, "content": completion["choices"][0]["message"]["content"]}),
        chunks.finish(extra),
    ]
    if prepared.request.include_usage:
        stream.append(chunks.usage(completion["usage"]))
    return stream
