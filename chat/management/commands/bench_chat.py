"""Benchmark the dining chat turn on a throw-away database.

    python manage.py bench_chat [--turns 1000] [--http-turns 500] [--http-concurrency 4] [--collection-turns 300]
                                [--training-turns 0]

1. creates database `bench_chat_<pid>` on the configured server, migrates it and loads
   1,000 shops (two Seoul neighbourhoods, all 13 categories, varied hours) with 10,000 menus and
   1,000 users (Django account + token, profile, 70 % with a meal card, some coupons);
2. in-process: N turns through the whole Django/DRF stack with django.test.Client (no sockets);
3. over HTTP: a uvicorn process (ASGI, one worker, pooled DB connections) on a loopback port,
   driven by httpx with keep-alive, sequentially and then with C concurrent clients;
4. prints p50/p95/p99 of the request time and the turns/s, plus the server-side processing time
   each turn logged (conversations.processing_time_ms);
5. in-process again: the same turns with training-data collection (ML_TRAINING_COLLECT) on and off,
   interleaved, and the p50/p95 ratio;
6. with --training-turns N: in-process, N turns idle and N turns while a real NLU training job runs in
   a Celery worker subprocess (ml_training.benchmarks), in blocks ordered idle, training, training,
   idle, and the p50/p95 ratio; then drops the database (--keep-db keeps it).
"""

import datetime as dt
import logging
import math
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from tqdm import tqdm

from analytics.benchmarks import time_logging_on_off, write_logging_on_off
from chat.models import (
    AcquisitionSource,
    ChatUser,
    Conversation,
    Coupon,
    CouponType,
    FoodcardUser,
    Menu,
    Shop,
    ShopCategory,
    UsageType,
    UserCouponWallet,
    UserProfile,
)
from chat.services.business_hours import refresh_shop_status
from chat.services.nlu import warm_up
from chat.services.schemas import WEEKDAYS
from config.benchmarks import percentile, throwaway_database
from config.models import UserApiToken
from ml_training.benchmarks import TrainingInBackground
from ml_training.models import DataQueueItem
from ml_training.services.worker import PRIORITIES

CENTRES = {"건대입구": (37.54040, 127.06920), "강남": (37.49795, 127.02760)}
SPREAD_M = 1500
MENU_WORDS = {
    "한식": [
        "김치찌개",
        "된장찌개",
        "제육덮밥",
        "비빔밥",
        "불고기",
        "순두부찌개",
        "갈비탕",
        "김치볶음밥",
        "국밥",
        "냉면",
    ],
    "중식": ["짜장면", "짬뽕", "볶음밥", "탕수육", "마파두부", "잡채밥", "울면", "기스면", "유산슬", "깐풍기"],
    "일식": ["돈까스", "우동", "초밥", "라멘", "규동", "가츠동", "소바", "오야코동", "텐동", "카레"],
    "양식": [
        "파스타",
        "리조또",
        "스테이크",
        "오므라이스",
        "함박스테이크",
        "샐러드",
        "그라탕",
        "필라프",
        "샌드위치",
        "수프",
    ],
    "치킨": [
        "후라이드",
        "양념치킨",
        "간장치킨",
        "순살치킨",
        "파닭",
        "치킨너겟",
        "닭강정",
        "반반치킨",
        "치킨버거",
        "윙",
    ],
    "피자": [
        "페퍼로니",
        "불고기피자",
        "치즈피자",
        "포테이토",
        "콤비네이션",
        "고구마피자",
        "하와이안",
        "스파게티",
        "치즈스틱",
        "핫윙",
    ],
    "패스트푸드": [
        "불고기버거",
        "치즈버거",
        "새우버거",
        "감자튀김",
        "치킨버거",
        "너겟",
        "핫도그",
        "콜라세트",
        "더블버거",
        "랩",
    ],
    "분식": ["참치김밥", "떡볶이", "라면", "순대", "튀김", "쫄면", "김밥", "치즈라면", "오므라이스", "돈까스"],
    "카페/디저트": ["아메리카노", "라떼", "케이크", "와플", "빙수", "마카롱", "토스트", "베이글", "스무디", "쿠키"],
    "도시락/죽": [
        "치킨마요",
        "불고기도시락",
        "야채죽",
        "전복죽",
        "돈까스도시락",
        "제육도시락",
        "참치마요",
        "호박죽",
        "소고기죽",
        "김치도시락",
    ],
    "프랜차이즈": ["세트A", "세트B", "런치세트", "덮밥", "샐러드볼", "버거세트", "비빔면", "돈부리", "포케", "쌀국수"],
    "기타음식": ["쌀국수", "분짜", "팟타이", "케밥", "타코", "부리또", "커리", "나시고랭", "훠궈", "마라탕"],
    "편의점": ["삼각김밥", "도시락", "컵라면", "샌드위치", "핫바", "김밥", "샐러드", "우유", "바나나우유", "주먹밥"],
}
MESSAGES = [
    "5천원으로 점심 뭐 먹지?",
    "만원으로 치킨 먹고 싶어",
    "친구 3명이랑 3만원으로 저녁 먹을 곳 추천해줘",
    "근처에 지금 문 연 분식집 있어?",
    "8천원으로 한식 먹고 싶어",
    "배고파 돈이 별로 없어",
    "짜장면 곱빼기 7천원으로 먹을 수 있어?",
    "만 오천원으로 피자 먹을래",
    "6천원 정도로 도시락",
    "저녁으로 일식 뭐 있어? 1만2천원",
    "쿠폰 뭐 있어?",
    "급식카드 잔액 얼마야?",
]


def _hours(rng: random.Random) -> dict:
    kind = rng.random()
    hours = {}
    for day in WEEKDAYS:
        if kind < 0.05:
            hours[day] = {"open": "00:00", "close": "24:00"}
        elif kind < 0.55:
            hours[day] = {"open": "09:00", "close": "22:00"}
        else:
            hours[day] = {"open": "10:30", "close": "21:30", "break_start": "15:00", "break_end": "16:30"}
    if rng.random() < 0.3:
        hours[rng.choice(WEEKDAYS)] = {"closed": True}
    hours["holiday"] = {"closed": True} if rng.random() < 0.5 else hours["monday"]
    return hours


def _point(rng: random.Random, centre: tuple[float, float]) -> tuple[Decimal, Decimal]:
    north = rng.uniform(-SPREAD_M, SPREAD_M)
    east = rng.uniform(-SPREAD_M, SPREAD_M)
    lat = centre[0] + north / 111_320
    lng = centre[1] + east / (111_320 * math.cos(math.radians(centre[0])))
    return Decimal(f"{lat:.8f}"), Decimal(f"{lng:.8f}")


class Command(BaseCommand):
    help = "Benchmark dining chat turns (in-process and over HTTP) on a separate, throw-away database."

    def add_arguments(self, parser):
        parser.add_argument("--shops", type=int, default=1000)
        parser.add_argument("--menus-per-shop", type=int, default=10)
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--turns", type=int, default=1000, help="in-process turns")
        parser.add_argument("--http-turns", type=int, default=500, help="turns over HTTP (0 to skip)")
        parser.add_argument("--http-concurrency", type=int, default=4)
        parser.add_argument(
            "--collection-turns",
            type=int,
            default=300,
            help="turns per side of the training-data collection on/off comparison (0 to skip)",
        )
        parser.add_argument(
            "--training-turns",
            type=int,
            default=0,
            help="turns per side of the idle / during-a-training-job comparison (0 to skip)",
        )
        parser.add_argument(
            "--training-priority",
            choices=PRIORITIES,
            default="low",
            help="the training worker's CPU priority: low (niceness 19, one math thread: how `make run` runs it) "
            "or normal",
        )
        parser.add_argument("--seed", type=int, default=3)
        parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database")

    def handle(self, *args, **options):
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.rng = random.Random(options["seed"])
        with throwaway_database("bench_chat", keep=options["keep_db"], stdout=self.stdout) as name:
            tokens = self._load(options)
            warm_up()
            # Production settings where they matter for speed: DEBUG off (no query recording), no rate limit.
            with override_settings(API_RATE_LIMIT="1000000/min", ALLOWED_HOSTS=["*"], DEBUG=False):
                if options["turns"]:
                    self._in_process(tokens, options["turns"])
                if options["collection_turns"]:
                    self._collection_on_off(tokens, options["collection_turns"])
                if options["training_turns"]:
                    self._during_training(name, tokens, options["training_turns"], options["training_priority"])
            if options["http_turns"]:
                self._over_http(name, tokens, options["http_turns"], options["http_concurrency"])

    # --- data ------------------------------------------------------------------------------------
    def _load(self, options) -> list[str]:
        rng = self.rng
        started = time.perf_counter()
        categories = ShopCategory.values
        shops = []
        for index in range(options["shops"]):
            centre_name, centre = list(CENTRES.items())[index % len(CENTRES)]
            lat, lng = _point(rng, centre)
            shops.append(
                Shop(
                    shop_name=f"{centre_name} 가게 {index:04d}",
                    category=categories[index % len(categories)],
                    address_name=f"서울 {centre_name} {index}번지",
                    latitude=lat,
                    longitude=lng,
                    business_hours=_hours(rng),
                    is_food_card_shop=rng.choices("YNPU", weights=[6, 2, 1, 1])[0],
                    is_good_influence_shop=rng.random() < 0.2,
                    popularity_score=Decimal(f"{rng.random():.3f}"),
                    quality_score=Decimal(f"{rng.random():.3f}"),
                )
            )
        shops = Shop.objects.bulk_create(shops, batch_size=500)
        menus = []
        for shop in shops:
            words = MENU_WORDS[shop.category]
            for position in range(options["menus_per_shop"]):
                menus.append(
                    Menu(
                        shop=shop,
                        menu_name=f"{words[position % len(words)]}{'' if position < len(words) else position}",
                        price=rng.randrange(2500, 20001, 500),
                        category="메인메뉴",
                        is_popular=rng.random() < 0.2,
                        options={"size": [{"name": "곱빼기", "price": 1000}]} if rng.random() < 0.3 else None,
                    )
                )
        Menu.objects.bulk_create(menus, batch_size=2000)

        today = timezone.localdate()
        coupons = [
            Coupon(
                id=f"BENCH{index}",
                coupon_name=f"벤치 쿠폰 {index}",
                description="benchmark",
                coupon_type=CouponType.FIXED_AMOUNT,
                discount_amount=500 * (index + 1),
                usage_type=UsageType.ALL,
                valid_from=today,
                valid_until=today.replace(year=today.year + 1),
            )
            for index in range(4)
        ]
        Coupon.objects.bulk_create(coupons)
        User = get_user_model()
        accounts = User.objects.bulk_create(
            [User(username=f"bench{index:04d}", password="!") for index in range(options["users"])], batch_size=1000
        )
        credentials = [UserApiToken.new_credential(user=account) for account in accounts]
        UserApiToken.objects.bulk_create([token for token, _ in credentials], batch_size=1000)
        chat_users = ChatUser.objects.bulk_create(
            [
                ChatUser(external_user_id=f"django:{account.pk}", auth_user=account, platform="test")
                for account in accounts
            ],
            batch_size=1000,
        )
        UserProfile.objects.bulk_create(
            [
                UserProfile(
                    user=user,
                    preferred_categories=rng.sample(categories, 2),
                    average_budget=rng.randrange(5000, 12001, 1000),
                    data_completeness=Decimal("0.67"),
                    good_influence_preference=Decimal(f"{rng.random():.2f}"),
                )
                for user in chat_users
            ],
            batch_size=1000,
        )
        FoodcardUser.objects.bulk_create(
            [
                FoodcardUser(
                    user=user,
                    card_type="아동급식카드",
                    target_age_group="초등학생",
                    balance=rng.randrange(0, 40001, 500),
                )
                for user in chat_users
                if rng.random() < 0.7
            ],
            batch_size=1000,
        )
        expires = timezone.now() + dt.timedelta(days=30)
        UserCouponWallet.objects.bulk_create(
            [
                UserCouponWallet(
                    user=user,
                    coupon=rng.choice(coupons),
                    acquisition_source=AcquisitionSource.PROMOTION,
                    expires_at=expires,
                )
                for user in chat_users
                if rng.random() < 0.5
            ],
            batch_size=1000,
        )
        refresh_shop_status()
        with connections["default"].cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh bulk-loaded tables have no planner statistics yet
        self.stdout.write(
            f"loaded {len(shops):,} shops, {len(menus):,} menus, {len(chat_users):,} users "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return [plain for _, plain in credentials]

    def _turn_body(self) -> dict:
        rng = self.rng
        centre = rng.choice(list(CENTRES.values()))
        lat, lng = _point(rng, centre)
        return {
            "message": rng.choice(MESSAGES),
            "location": {"latitude": float(lat), "longitude": float(lng)},
        }

    # --- runs ------------------------------------------------------------------------------------
    def _report(self, label: str, latencies_ms: list[float], wall_s: float, since) -> None:
        server = list(Conversation.objects.filter(timestamp__gte=since).values_list("processing_time_ms", flat=True))
        self.stdout.write(
            f"{label}: {len(latencies_ms)} turns in {wall_s:.1f} s = {len(latencies_ms) / wall_s:.1f} turns/s | "
            f"request p50 {percentile(latencies_ms, 0.5):.1f} ms, p95 {percentile(latencies_ms, 0.95):.1f} ms, "
            f"p99 {percentile(latencies_ms, 0.99):.1f} ms, mean {statistics.fmean(latencies_ms):.1f} ms | "
            f"server processing (logged) p50 {percentile(server, 0.5):.0f} ms, p95 {percentile(server, 0.95):.0f} ms, "
            f"p99 {percentile(server, 0.99):.0f} ms"
        )

    def _in_process(self, tokens: list[str], turns: int) -> None:
        client = Client()
        latencies = []
        since = timezone.now()
        started = time.perf_counter()
        for _ in tqdm(range(turns), desc="in-process", unit="turn", file=sys.stderr):
            body = self._turn_body()
            token = self.rng.choice(tokens)
            begin = time.perf_counter()
            response = client.post(
                "/api/v1/chat", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
            )
            latencies.append((time.perf_counter() - begin) * 1000)
            if response.status_code != 200:
                raise CommandError(f"chat failed with {response.status_code}: {response.content[:300]!r}")
        self._report(
            "in-process (django.test.Client, full middleware/DRF stack)",
            latencies,
            time.perf_counter() - started,
            since,
        )

    def _collection_on_off(self, tokens: list[str], turns: int) -> None:
        """The same turns with ML_TRAINING_COLLECT on and off, interleaved (ABBA), in-process."""
        client = Client()
        requests = [(self._turn_body(), self.rng.choice(tokens)) for _ in range(turns + 1)]

        def run(collect: bool, i: int) -> None:
            body, token = requests[i]
            with override_settings(ML_TRAINING_COLLECT=collect):
                response = client.post(
                    "/api/v1/chat", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
                )
            if response.status_code != 200:
                raise CommandError(f"chat failed with {response.status_code}: {response.content[:300]!r}")

        queued = DataQueueItem.objects.count()
        write_logging_on_off(self.stdout, time_logging_on_off(run, turns), switch="collection")
        self.stdout.write(
            f"  training-data queue rows written by the collecting side: {DataQueueItem.objects.count() - queued}"
            f" for {turns + 1} turns (the others were of middling confidence)"
        )

    def _during_training(self, name: str, tokens: list[str], turns: int, priority: str) -> None:
        """The same kind of turns idle and while an NLU job trains in a Celery worker, blocks ABBA."""
        client = Client()
        half = max(1, turns // 2)
        requests = [(self._turn_body(), self.rng.choice(tokens)) for _ in range(4 * half)]
        timings: dict[bool, list[float]] = {False: [], True: []}
        overlapping = 0
        with TrainingInBackground(name, priority=priority) as training:
            training.start()  # the worker's first job loads Django, the data and Kiwi: not measured
            training.stop(cancel=False)
            for block, during in enumerate((False, True, True, False)):
                if during:
                    training.start()
                else:
                    training.stop()
                for body, token in requests[block * half : (block + 1) * half]:
                    if during:
                        training.start()  # the next job when the last one finished
                    started = time.perf_counter()
                    response = client.post(
                        "/api/v1/chat", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
                    )
                    timings[during].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"chat failed with {response.status_code}: {response.content[:300]!r}")
                    overlapping += during and training.is_training()
            completed, scheduled = training.completed(), training.scheduled
        write_logging_on_off(self.stdout, timings, switch="training", target=1.10, tail_target=1.10)
        self.stdout.write(
            f"  {overlapping} of {len(timings[True])} training-side turns ended with the job still training; "
            f"{scheduled} jobs scheduled, {completed} completed (the rest cancelled at the end of a block); "
            f"worker priority {priority}; load average {os.getloadavg()[0]:.1f}"
        )

    def _over_http(self, name: str, tokens: list[str], turns: int, concurrency: int) -> None:
        import httpx

        parts = urlsplit(settings.DATABASE_URL)
        database_url = urlunsplit(parts._replace(path=f"/{name}"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "API_RATE_LIMIT": "1000000/min",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            self._wait_for(base, server)
            with httpx.Client(base_url=base, timeout=30) as client:
                for token in tokens[:20]:  # warm-up: NLU models load in the server on first use
                    client.post("/api/v1/chat", json=self._turn_body(), headers={"Authorization": f"Token {token}"})
                latencies = []
                since = timezone.now()
                started = time.perf_counter()
                for _ in tqdm(range(turns), desc="http sequential", unit="turn", file=sys.stderr):
                    latencies.append(self._http_turn(client, tokens))
                self._report(f"http sequential (uvicorn, port {port})", latencies, time.perf_counter() - started, since)

            latencies = []
            since = timezone.now()
            started = time.perf_counter()
            clients = [httpx.Client(base_url=base, timeout=30) for _ in range(concurrency)]
            try:
                with (
                    ThreadPoolExecutor(max_workers=concurrency) as pool,
                    tqdm(total=turns, desc=f"http x{concurrency}", unit="turn", file=sys.stderr) as bar,
                ):
                    futures = [pool.submit(self._http_turn, clients[i % concurrency], tokens) for i in range(turns)]
                    for future in futures:
                        latencies.append(future.result())
                        bar.update()
            finally:
                for client in clients:
                    client.close()
            self._report(f"http {concurrency} concurrent clients", latencies, time.perf_counter() - started, since)
        finally:
            server.terminate()
            server.wait(timeout=15)

    def _http_turn(self, client, tokens: list[str]) -> float:
        body = self._turn_body()
        token = self.rng.choice(tokens)
        begin = time.perf_counter()
        response = client.post("/api/v1/chat", json=body, headers={"Authorization": f"Token {token}"})
        elapsed = (time.perf_counter() - begin) * 1000
        if response.status_code != 200:
            raise CommandError(f"chat failed with {response.status_code}: {response.text[:300]}")
        return elapsed

    def _wait_for(self, base: str, server: subprocess.Popen) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("uvicorn exited before serving")
            try:
                httpx.get(f"{base}/api/v1/health", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise CommandError("uvicorn did not start within 60 s")
