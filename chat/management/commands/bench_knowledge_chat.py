"""Benchmark the knowledge chat: logging overhead and SSE time-to-first-token.

1. Chat latency with message logging on vs off, side by side in the same run: plain turns through
   `knowledge_chat.chat()` (route, retrieve, generate, store), alternating on/off (ABBA order) so
   that drift hits both alike, with DEBUG off as in production. Prints p50/p95 of each and the
   on/off ratio (target <= 1.05), then times the worker's flush of the queued logs on its own.
2. SSE time-to-first-token over a live ASGI server (uvicorn, 127.0.0.1) with a real HTTP client:
   p50/p95 of the first `token` event and of the whole stream.

It uses the configured providers (the local responder and embedder unless *_BASE_URL are set; with
--llm-stub a loopback OpenAI-compatible server that answers at once) and a small shared corpus in its
own rag_key; everything it creates is deleted at the end (--keep to keep).
"""

import contextlib

import httpx
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.test import override_settings

from analytics.benchmarks import (
    time_first_token,
    time_logging_on_off,
    write_first_token,
    write_flush_cost,
    write_logging_on_off,
)
from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import KnowledgeConversation
from chat.services import knowledge_chat
from config.live_server import LiveAsgiServer
from config.models import UserApiToken
from rag.models import Document
from rag.providers.loopback import OpenAIStubServer
from rag.services.ingest import upsert_document

RAG_KEY = "bench_knowledge_chat"
USERNAME = "bench-knowledge-chat"
TOPICS = [
    ("환불", "상품을 받은 날부터 7일 이내에 환불을 신청할 수 있고, 환불 금액은 3영업일 안에 돌려드립니다."),
    ("배송", "평일 오후 2시 이전 주문은 당일 출고되며 제주와 도서 산간 지역은 배송비 3천원이 추가됩니다."),
    ("회원 등급", "연간 구매 금액이 50만원 이상이면 골드 등급이 되어 구매 금액의 5%를 적립합니다."),
    ("교환", "사이즈 교환은 한 번 무료이며 두 번째부터는 왕복 배송비 6천원을 고객이 부담합니다."),
    ("포인트", "적립 포인트는 1년 동안 유효하고 1천 포인트부터 현금처럼 결제에 사용할 수 있습니다."),
    ("쿠폰", "신규 가입 쿠폰은 가입 후 30일 안에 3만원 이상 주문할 때 한 번 쓸 수 있습니다."),
    ("고객센터", "고객센터는 평일 오전 9시부터 오후 6시까지 운영하며 점심시간은 12시부터 1시까지입니다."),
    ("선물 포장", "선물 포장은 상품당 2천원이며 메시지 카드는 무료로 함께 넣어 드립니다."),
    ("해외 배송", "해외 배송은 미국, 일본, 중국으로 가능하며 관세는 받는 분이 부담합니다."),
    ("개인정보", "회원 탈퇴 후 개인정보는 즉시 파기하되 거래 기록은 법에 따라 5년 동안 보관합니다."),
]
QUESTIONS = [f"{topic} 규정이 어떻게 되나요?" for topic, _ in TOPICS] + [
    f"{topic}에 대해 알려 주세요." for topic, _ in TOPICS
]
TURNS_PER_CONVERSATION = 5
STUB_REPLY = "문서에 따르면 신청은 7일 이내에 할 수 있고 비용은 고객이 부담하지 않습니다."


class Command(BaseCommand):
    help = "Knowledge chat latency with logging on vs off, and SSE time-to-first-token over a live ASGI server."

    def add_arguments(self, parser):
        parser.add_argument("--turns", type=int, default=400, help="turns per variant (logging on / off)")
        parser.add_argument("--stream-turns", type=int, default=50, help="SSE requests for time-to-first-token")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark's user, corpus and logs")
        parser.add_argument(
            "--llm-stub",
            action="store_true",
            help="answer through the loopback OpenAI-compatible stub (an HTTP LLM that replies at once) "
            "instead of the configured LLM",
        )

    def handle(self, *args, turns, stream_turns, keep, llm_stub, **options):
        with contextlib.ExitStack() as stack:
            if llm_stub:
                stub = stack.enter_context(OpenAIStubServer(chat_reply=STUB_REPLY))
                stack.enter_context(
                    override_settings(LLM_BASE_URL=stub.base_url, LLM_MODEL="stub-llm", LLM_API_KEY="bench")
                )
            user = self.setup()
            try:
                self.bench_logging(user, turns)
                self.bench_first_token(user, stream_turns)
            finally:
                if not keep:
                    self.cleanup(user)

    # --- setup ----------------------------------------------------------------------------------

    def setup(self):
        user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_active": True})
        user.set_unusable_password()
        user.save(update_fields=["password"])
        for topic, text in TOPICS:
            upsert_document(
                owner=None,
                rag_key=RAG_KEY,
                rag_type="chatbot_shared",
                filename=f"{topic}.txt",
                content=f"{topic} 안내: {text}",
                doc_id=f"bench:{topic}",
                run_now=True,
            )
        self.stdout.write(f"corpus: {len(TOPICS)} shared documents in rag_key {RAG_KEY!r}; llm: {self.llm_model()}")
        return user

    @staticmethod
    def llm_model() -> str:
        from rag.providers import get_llm

        return get_llm().model

    def cleanup(self, user) -> None:
        flush_log_outbox()  # the streamed turns' logs too, so that none lands after the clean-up
        sessions = [str(pk) for pk in KnowledgeConversation.objects.filter(user=user).values_list("pk", flat=True)]
        MessageLog.objects.filter(channel="knowledge", collection_name=RAG_KEY).delete()
        ConversationHistory.objects.filter(channel="knowledge", conversation_id__in=sessions).delete()
        Document.objects.filter(rag_key=RAG_KEY).delete()
        user.delete()  # conversations, messages and the token go with the user

    # --- 1. logging on vs off -------------------------------------------------------------------

    def bench_logging(self, user, turns: int) -> None:
        conversations: dict[bool, str | None] = {True: None, False: None}

        def run_turn(log: bool, turn: int) -> None:
            if turn % TURNS_PER_CONVERSATION == 0:
                conversations[log] = None
            result = knowledge_chat.chat(
                user=user,
                message=QUESTIONS[turn % len(QUESTIONS)],
                rag_key=RAG_KEY,
                conversation_id=conversations[log],
                log=log,
            )
            conversations[log] = result.conversation_id

        self.stdout.write("")
        write_logging_on_off(self.stdout, time_logging_on_off(run_turn, turns, warmup=TURNS_PER_CONVERSATION))
        write_flush_cost(self.stdout)

    # --- 2. SSE time-to-first-token ---------------------------------------------------------------

    def bench_first_token(self, user, requests: int) -> None:
        _, token = UserApiToken.issue(user=user, label="bench_knowledge_chat")
        headers = {"Authorization": f"Token {token}", "Accept": "text/event-stream"}
        bodies = [{"message": QUESTIONS[number % len(QUESTIONS)], "rag_key": RAG_KEY} for number in range(requests + 2)]
        with (
            override_settings(API_RATE_LIMIT="1000000/min"),  # one client sending many requests on purpose
            LiveAsgiServer() as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            first_token_ms, total_ms = time_first_token(client, "/api/v1/rag/chat/stream", bodies, headers=headers)
        self.stdout.write("")
        write_first_token(self.stdout, first_token_ms, total_ms)
