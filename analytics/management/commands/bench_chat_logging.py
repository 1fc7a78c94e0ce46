"""Benchmark: chat-turn latency with message logging on vs off, and SSE time to first token.

    python manage.py bench_chat_logging [--turns 60] [--streams 20]

Uses a partner chat turn with the configured providers (the local responder and embedder when no
*_BASE_URL is set): retrieve + generate + store. "off" stores only the tuning-log append; "on" also
calls `record_exchange` in the same transaction, exactly like `partner_chat.finish_turn`. Runs are
interleaved so that both sides see the same machine load. The SSE part streams partner messages
through a real uvicorn server and measures the time until the first `token` event arrives.
Everything it creates lives under the partner `bench-logging` and is deleted at the end.
"""

import logging
import statistics
import time

import httpx
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import record_exchange
from chat.models import Partner, PartnerApiKey, PartnerChatTuningLog
from chat.services import partner_chat
from config.benchmarks import percentile

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

    def run_turn(self, session_id: str, question: str, *, logging: bool) -> float:
        from rag.providers import get_llm

        started = time.perf_counter()
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
        return (time.perf_counter() - started) * 1000

    def bench_logging(self, turns: int) -> None:
        def session(side: str, i: int) -> str:  # conversations of TURNS_PER_CONVERSATION turns, like real ones
            session_id = f"bench-{side}-{i // TURNS_PER_CONVERSATION}"
            if i % TURNS_PER_CONVERSATION == 0:
                partner_chat.warm_up(partner_id=PARTNER_ID, session_id=session_id)
            return session_id

        for i in range(5):  # warm caches, tokenizer and connections
            self.run_turn(session("warm-on", i), QUESTIONS[i % len(QUESTIONS)], logging=True)
            self.run_turn(session("warm-off", i), QUESTIONS[i % len(QUESTIONS)], logging=False)
        timings: dict[str, list[float]] = {"on": [], "off": []}
        for i in range(turns):
            question = QUESTIONS[i % len(QUESTIONS)]
            order = ("on", "off") if i % 2 else ("off", "on")
            for side in order:
                timings[side].append(self.run_turn(session(side, i), question, logging=side == "on"))

        started = time.perf_counter()
        for i in range(turns):
            record_exchange(
                channel="partner", collection_name=PARTNER_ID, session_id="bench-direct", user_id=i,
                user_message="질문", assistant_message="답변", performance={"response_time_ms": 1},
            )  # fmt: skip
        record_ms = (time.perf_counter() - started) * 1000 / turns

        on, off = statistics.median(timings["on"]), statistics.median(timings["off"])
        self.stdout.write(f"chat turn latency over {turns} turns each (retrieve + generate + store):")
        for side in ("off", "on"):
            values = timings[side]
            median, mean, p95 = statistics.median(values), statistics.mean(values), percentile(values, 0.95)
            self.stdout.write(f"  logging {side:>3}: median {median:7.2f} ms  mean {mean:7.2f} ms  p95 {p95:7.2f} ms")
        self.stdout.write(f"  ratio on/off (medians): {on / off:.3f}   (target <= 1.05); overhead {on - off:+.2f} ms")
        self.stdout.write(f"  record_exchange alone: {record_ms:.2f} ms per exchange, own transaction incl. commit")

    # --- SSE time to first token --------------------------------------------------------------

    def bench_first_token(self, partner: Partner, streams: int) -> None:
        from chat.tests.live_server import LiveAsgiServer

        _, key = PartnerApiKey.issue(partner, label="benchmark")
        partner_chat.warm_up(partner_id=PARTNER_ID, session_id="bench-sse")
        first_token, total = [], []
        with LiveAsgiServer() as server, httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(streams + 2):
                body = {"session_id": "bench-sse", "message": QUESTIONS[i % len(QUESTIONS)]}
                started = time.perf_counter()
                first = None
                with client.stream("POST", "/api/v1/partners/chat/message", json=body,
                                   headers={"Authorization": f"Api-Key {key}"}) as response:  # fmt: skip
                    for line in response.iter_lines():
                        if first is None and line == "event: token":
                            first = time.perf_counter()
                if i >= 2 and first is not None:  # the first two warm up the server
                    first_token.append((first - started) * 1000)
                    total.append((time.perf_counter() - started) * 1000)
        if not first_token:
            self.stdout.write("SSE: no token event received")
            return
        self.stdout.write(f"SSE partner message over uvicorn, {len(first_token)} streams (sequential):")
        self.stdout.write(
            f"  time to first token: median {statistics.median(first_token):.1f} ms"
            f"  p95 {percentile(first_token, 0.95):.1f} ms"
        )
        self.stdout.write(f"  full answer:         median {statistics.median(total):.1f} ms")

    def clean_up(self) -> None:
        MessageLog.objects.filter(collection_name=PARTNER_ID).delete()
        ConversationHistory.objects.filter(collection_name=PARTNER_ID).delete()
        PartnerChatTuningLog.objects.filter(partner_id=PARTNER_ID).delete()
        Partner.objects.filter(partner_id=PARTNER_ID).delete()
