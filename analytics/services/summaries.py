"""Conversation summaries (seed 002 Phase 6): the LLM's when one is configured, else extractive.

Extractive: what was asked (the first question and how many more), then the answer sentences that
share the most words with the questions, in the order they were said. Deterministic and offline.
"""

import logging
import re
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from analytics.models import ConversationHistory
from analytics.services.question_text import normalise
from rag.providers import ProviderError, get_llm

logger = logging.getLogger(__name__)

SUMMARY_SENTENCES = 2
QUESTION_CHARS = 80
SUMMARY_CHARS = 500
LLM_TRANSCRIPT_CHARS = 6000
SUMMARIZE_WINDOW = timedelta(days=2)  # the daily job looks at conversations active since the day before
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")
LLM_INSTRUCTIONS = "다음 대화를 한국어 세 문장 이내로 요약하세요. 사용자가 무엇을 물었고 어떤 답을 받았는지만 쓰세요."


def extractive_summary(messages: list[dict]) -> str:
    questions = [m["content"].strip() for m in messages if m.get("role") == "user" and (m.get("content") or "").strip()]
    if not questions:
        return ""
    asked = questions[0][:QUESTION_CHARS] + (f" 외 {len(questions) - 1}개 질문" if len(questions) > 1 else "")
    topic = Counter(word for question in questions for word in normalise(question).split())
    sentences = [
        sentence.strip()
        for m in messages
        if m.get("role") == "assistant"
        for sentence in _SENTENCE_END.split(m.get("content") or "")
        if sentence.strip()
    ]
    scored = sorted(range(len(sentences)), key=lambda i: -sum(topic[w] for w in set(normalise(sentences[i]).split())))
    picked = sorted(i for i in scored[:SUMMARY_SENTENCES] if any(topic[w] for w in normalise(sentences[i]).split()))
    answer = " ".join(sentences[i] for i in picked)
    return (f"질문: {asked}" + (f" / 답: {answer}" if answer else ""))[:SUMMARY_CHARS]


def llm_summary(messages: list[dict]) -> str:
    transcript = "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in messages)[-LLM_TRANSCRIPT_CHARS:]
    prompt = [{"role": "system", "content": LLM_INSTRUCTIONS}, {"role": "user", "content": transcript}]
    return get_llm().complete(prompt, max_tokens=300).text.strip()[:SUMMARY_CHARS]


def summarize(messages: list[dict]) -> str:
    """The conversation's summary; an LLM failure falls back to the extractive one."""
    if settings.LLM_BASE_URL:
        try:
            return llm_summary(messages) or extractive_summary(messages)
        except ProviderError as exc:
            logger.warning("LLM summary failed, using the extractive one: %s", exc)
    return extractive_summary(messages)


def summarize_recent(now=None) -> int:
    """Fill in the summary of every conversation active in the window that has none; returns how many."""
    since = (now or timezone.now()) - SUMMARIZE_WINDOW
    written = 0
    for history in ConversationHistory.objects.filter(summary="", updated_at__gte=since).only("pk", "messages"):
        summary = summarize(history.messages or [])
        if summary:
            ConversationHistory.objects.filter(pk=history.pk, summary="").update(summary=summary)
            written += 1
    return written
