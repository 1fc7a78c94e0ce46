"""Benchmark: chat-turn latency with message logging on vs off, and SSE time to first token.

    python manage.py bench_chat_logging [--turns 60] [--streams 20]

Uses a partner chat turn with the configured providers (the local responder and embedder when no
*_BASE_URL is set): retrieve + generate + store. "off" stores only the tuning-log append; "on" also
calls `record_exchange` in the same transaction, exactly like `partner_chat.finish_turn`. Runs are
interleaved (ABBA) so that both sides see the same machine load; the measuring and printing are
`analytics.benchmarks`, shared with the other channels' benchmarks. The SSE part streams partner messages
through a real uvicorn server and measures the time until the first `token` event arrives.
Everything it creates lives under the partner `bench-logging` and is deleted at the end.
"""

import logging
import time

import httpx
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analytics.benchmarks import time_first_token, time_logging_on_off, write_first_token, write_logging_on_off
from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import record_exchange
from chat.models import Partner, PartnerApiKey, PartnerChatTuningLog
from chat.services import partner_chat

PARTNER_ID = "bench-logging"
TURNS_PER_CONVERSATION = 5
QUESTIONS = ["검진 결과 요약해 줘", "콜레스테롤 수치가 높은가요?", "운동은 얼마나 해야 하나요?", "혈압 관리 방법은?"]


class Command(BaseCommand):
    help = "Print chat latency with logging on vs off (target ratio <= 1.05) and SSE time to first token."

    def add_arguments(self, parser):
        parser.add_argument("--turns", type=int, default=60, help="turns per side (on / off)")
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
            with transaction.atomic():
                partner_chat.append_exchange(
                    partner_id=PARTNER_ID, session_id=session_id, user_message=question,
                    assistant_message=completion.text, asked_at=turn.asked_at, answered_at=timezone.now(),
                )  # fmt: skip

    def bench_logging(self, turns: int) -> None:
        # warm caches, tokenizer and connections (the warm-up turns open the first conversation of each side)
        write_logging_on_off(self.stdout, time_logging_on_off(self.run_turn, turns, warmup=5))

        started = time.perf_counter()
        for i in range(turns):
            record_exchange(
                channel="partner", collection_name=PARTNER_ID, session_id="bench-direct", user_id=i,
                user_message="질문", assistant_message="답변", performance={"response_time_ms": 1},
            )  # fmt: skip
        record_ms = (time.perf_counter() - started) * 1000 / turns
        self.stdout.write(f"  record_exchange alone: {record_ms:.2f} ms per exchange, own transaction incl. commit")

    # --- SSE time to first token --------------------------------------------------------------

    def bench_first_token(self, partner: Partner, streams: int) -> None:
        from chat.tests.live_server import LiveAsgiServer

        _, key = PartnerApiKey.issue(partner, label="benchmark")
        partner_chat.warm_up(partner_id=PARTNER_ID, session_id="bench-sse")
        bodies = [{"session_id": "bench-sse", "message": QUESTIONS[i % len(QUESTIONS)]} for i in range(streams + 2)]
        with LiveAsgiServer() as server, httpx.Client(base_url=server.url, timeout=30) as client:
            first_token_ms, total_ms = time_first_token(
                client, "/api/v1/partners/chat/message", bodies, headers={"Authorization": f"Api-Key {key}"}
            )
        write_first_token(self.stdout, first_token_ms, total_ms)

    def clean_up(self) -> None:
        MessageLog.objects.filter(collection_name=PARTNER_ID).delete()
        ConversationHistory.objects.filter(collection_name=PARTNER_ID).delete()
        PartnerChatTuningLog.objects.filter(partner_id=PARTNER_ID).delete()
        Partner.objects.filter(partner_id=PARTNER_ID).delete()
