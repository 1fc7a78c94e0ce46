"""The prompt convention shared by callers, HTTP LLMs and the local responder.

Retrieved passages travel inside the messages (a real LLM must see them too), in ONE block, usually
in the system message::

    <context>
    <source id="1" title="회의록.pdf">
    ...chunk text...
    </source>
    <source id="2" title="board_post:12">
    ...
    </source>
    </context>

A passage about the person asking (e.g. a partner session's warm-up health data) is marked
`<source id="health" title="검진 결과" about="asker">`: questions about oneself ("내 상태 어떠니?") are
answered from it. Build the block with `format_context(passages)`; the question is the last `user`
message. For JSON tasks (graph extraction) the text to analyse may be wrapped in
`<document>...</document>` inside the last user message; otherwise the whole last user message is the
text. The local responder reads exactly this; any OpenAI-compatible model reads it as plain instructions.

A model that finds no answer in the passages says so with NO_ANSWER_MARK alone (NO_ANSWER_INSTRUCTION,
part of the chats' system prompts, asks for it), so that the caller can tell "the documents do not answer"
from an answer and reply and log it as its no-answer: `abstains(text)` for a whole answer,
`NoAnswerWatch` for a stream (it holds back a beginning that may still become the mark).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from html import escape, unescape

_CONTEXT_RE = re.compile(r"<context>(.*?)</context>", re.DOTALL)
_SOURCE_RE = re.compile(
    r'<source id="([^"]*)"(?: title="([^"]*)")?(?: about="([^"]*)")?>\n?(.*?)\n?</source>', re.DOTALL
)
_DOCUMENT_RE = re.compile(r"<document>(.*?)</document>", re.DOTALL)
_QUESTION_RE = re.compile(r"<question>(.*?)</question>", re.DOTALL)

NO_ANSWER_MARK = "[NO_ANSWER]"
NO_ANSWER_INSTRUCTION = (
    f"주어진 자료로 답할 수 없는 질문이면 추측하지 말고 다른 말 없이 {NO_ANSWER_MARK} 만 출력하세요."
)


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    content: str
    about: str = ""  # "asker": the passage describes the person asking


def _neutralise(text: str) -> str:
    # A passage must not be able to close the block it sits in.
    return re.sub(r"</?(context|source|document)\b", lambda m: m.group(0).replace("<", "‹"), text)


def format_context(passages: Iterable[str | dict]) -> str:
    """The `<context>` block for `passages`: strings, or dicts with `content` and optional `title`
    (or `filename`), `id` (defaults to the 1-based position) and `about_asker` (True: the passage
    describes the person asking)."""
    blocks = []
    for position, passage in enumerate(passages, start=1):
        if isinstance(passage, dict):
            content = str(passage.get("content", ""))
            title = str(passage.get("title") or passage.get("filename") or "")
            source_id = str(passage.get("id") or position)
            about_attr = ' about="asker"' if passage.get("about_asker") else ""
        else:
            content, title, source_id, about_attr = str(passage), "", str(position), ""
        title_attr = f' title="{escape(title, quote=True)}"' if title else ""
        blocks.append(
            f'<source id="{escape(source_id, quote=True)}"{title_attr}{about_attr}>\n{_neutralise(content)}\n</source>'
        )
    return "<context>\n" + "\n".join(blocks) + "\n</context>"


def _content_text(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # multimodal parts: keep the text ones
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def extract_passages(messages: list[dict]) -> list[Passage]:
    """Passages from every `<context>` block in the messages, in order."""
    passages: list[Passage] = []
    for message in messages:
        for block in _CONTEXT_RE.findall(_content_text(message)):
            sources = _SOURCE_RE.findall(block)
            if sources:
                passages.extend(Passage(unescape(i), unescape(t or ""), c.strip(), a) for i, t, a, c in sources)
            elif block.strip():
                passages.append(Passage(str(len(passages) + 1), "", block.strip()))
    return passages


def last_user_text(messages: list[dict]) -> str:
    """The last user message (its `<question>` part when it has one)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _content_text(message)
            match = _QUESTION_RE.search(text)
            return (match.group(1) if match else _CONTEXT_RE.sub("", text)).strip()
    return ""


def document_text(messages: list[dict]) -> str:
    """The text a JSON task should analyse: the `<document>` block, else the last user message."""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _content_text(message)
            match = _DOCUMENT_RE.search(text)
            return (match.group(1) if match else text).strip()
    return ""


def all_text(messages: list[dict]) -> str:
    return "\n".join(_content_text(m) for m in messages)


def asks_for_the_mark(messages: list[dict]) -> bool:
    """Whether a system message carries NO_ANSWER_INSTRUCTION (the model should abstain with the mark)."""
    return any(
        m.get("role") == "system" and NO_ANSWER_MARK in _SOURCE_RE.sub("", _content_text(m)) for m in messages
    )  # a passage quoting the mark is not the instruction


def abstains(text: str) -> bool:
    """Whether a model's answer is its no-answer (it starts with NO_ANSWER_MARK)."""
    return text.lstrip().startswith(NO_ANSWER_MARK)


class NoAnswerWatch:
    """Watches a streamed answer for NO_ANSWER_MARK at its start.

    `feed(delta)` returns the text to pass on now: nothing while the beginning may still become the mark
    ("[NO_" could), then the held-back text and every later delta; nothing at all once the mark is seen
    (`abstained`). `flush()` returns what is still held back when the stream ends first. `passed(deltas)` does
    both over a whole stream, as the chats use it.
    """

    def __init__(self):
        self.abstained = False
        self._decided = False
        self._held = ""

    def feed(self, delta: str) -> str:
        if self._decided:
            return "" if self.abstained else delta
        self._held += delta
        if abstains(self._held):
            self.abstained = self._decided = True
        elif not NO_ANSWER_MARK.startswith(self._held.lstrip()):
            self._decided = True
            return self.flush()
        return ""

    def flush(self) -> str:
        held, self._held = self._held, ""
        return "" if self.abstained else held

    async def passed(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        """The pieces of a streamed answer to send on; it stops reading `deltas` once the model abstains (the
        caller then closes the provider's stream, which stops generating the rest)."""
        async for delta in deltas:
            if piece := self.feed(delta):
                yield piece
            if self.abstained:
                return
        if piece := self.flush():
            yield piece
