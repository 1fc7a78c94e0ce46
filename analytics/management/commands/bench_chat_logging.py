"""Benchmark: chat-turn latency with message logging on vs off, and SSE time to first token.

    python manage.py bench_chat_logging [--turns 1000] [--streams 20]

Uses a partner chat turn with the configured providers (the local responder and embedder when no
*_BASE_URL is set): retrieve + generate + store. "off" stores only the tuning-log append; "on" is
`partner_chat.finish_turn`, whose append also queues the analytics log (one statement). Runs are
interleaved (ABBA) so that both sides see the same machine load; then the worker's flush of the
queued logs is timed on its own, since it runs off the chat path. The measuring and printing are
`analytics.benchmarks`, shared with `bench_knowledge_chat`. The SSE part streams partner messages
through a real uvicorn server and measures the time until the first `token` event arrives.
Everything it creates lives under the partner `bench-logging` and is deleted at the end.
"""

import logging

import httpx
from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.benchmarks import (
    time_first_token,
    time_logging_on_off,
    write_first_token,
    write_flush_cost,
    write_logging_on_off,
)
from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import Partner, PartnerApiKey, PartnerChatTuningLog
from chat.services import partner_chat

PARTNER_ID = "bench-logging"
TURNS_PER_CONVERSATION = 5
QUESTIONS = ["검진 결과 요약해 줘", "콜레스테롤 수치가 높은가요?", "운동은 얼마나 해야 하나요?", "혈압 관리 방법은?"]


class Command(BaseCommand):
    help = "Print chat latency with logging on vs off (target ratio <= 1.05) and SSE time to first token."

    def add_arguments(self, parser):
        parser.add_argument("--turns", type=int, default=1000, help="turns per side (on / off)")
        parser.add_argument("--streams", type=int, default=20, help="streamed messages for time to first token")

    def handle(self, *args, **options):
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the numbers
        partner, _ = Partner.objects.get_or_create(partner_id=PARTNER_ID, defaults={"name": "Benchmark"})
        try:
            self.bench_logging(options["turns"])
            self.bench_first_token(partner, options["streams"])
        finally:
            self.clean_up()

    # --- logging on vs off --------------------------------------------------------------------

    def run_turn(self, logging: bool, i: int) -> None:
        """Turn `i` of its side's conversations (TURNS_PER_CONVERSATION turns each, like real ones)."""
        from rag.providers import get_llm

        session_id = f"bench-{'on' if logging else 'off'}-{i // TURNS_PER_CONVERSATION}"
        if i % TURNS_PER_CONVERSATION == 0:
            partner_chat.warm_up(partner_id=PARTNER_ID, session_id=session_id)
        question = QUESTIONS[i % len(QUESTIONS)]
        turn = partner_chat.prepare_turn(partner_id=PARTNER_ID, session_id=session_id, message=question)
        completion = get_llm().complete(turn.llm_messages)
        if logging:
            partner_chat.finish_turn(
                turn, answer=completion.text, model=completion.model, usage=completion.usage, response_ms=0
            )
        else:
            partner_chat.append_exchange(
                partner_id=PARTNER_ID, session_id=session_id, user_message=question,
                assistant_message=completion.text, asked_at=turn.asked_at, answered_at=timezone.now(),
            )  # fmt: skip

    def bench_logging(self, turns: int) -> None:
        # warm caches, tokenizer and connections (the warm-up turns open the first conversation of each side)
        write_logging_on_off(self.stdout, time_logging_on_off(self.run_turn, turns, warmup=TURNS_PER_CONVERSATION))
        write_flush_cost(self.stdout)

    # --- SSE time to first token --------------------------------------------------------------

    def bench_first_token(self, partner: Partner, streams: int) -> None:
        from config.live_server import LiveAsgiServer

        _, key = PartnerApiKey.issue(partner, label="benchmark")
        partner_chat.warm_up(partner_id=PARTNER_ID, session_id="bench-sse")
        bodies = [{"session_id": "bench-sse", "message": QUESTIONS[i % len(QUESTIONS)]} for i in range(streams + 2)]
        with LiveAsgiServer() as server, httpx.Client(base_url=server.url, timeout=30) as client:
            first_token_ms, total_ms = time_first_token(
                client, "/api/v1/partners/chat/message", bodies, headers={"Authorization": f"Api-Key {key}"}
            )
        write_first_token(self.stdout, first_token_ms, total_ms)

    def clean_up(self) -> None:
        flush_log_outbox()  # the streamed turns' logs too, so that none lands after the clean-up
        MessageLog.objects.filter(collection_name=PARTNER_ID).delete()
        ConversationHistory.objects.filter(collection_name=PARTNER_ID).delete()
        PartnerChatTuningLog.objects.filter(partner_id=PARTNER_ID).delete()
        Partner.objects.filter(partner_id=PARTNER_ID).delete()
