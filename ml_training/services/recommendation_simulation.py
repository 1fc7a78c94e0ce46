"""The recommendation learning loop (`manage.py simulate_learning_loop --model recommendation`): simulated
users with a hidden preference ask the dining chat for lunch and pick a shop from what it shows; the
selections go through the real selection service into recommendation_feedback; a training job learns
the re-ranker, the gate accepts it, the chat serves it; a deliberately worse job (popularity only, which
these users do not care about) is refused.

The users care about distance and quality much more than the hand-tuned weights do
(`HIDDEN_PREFERENCE`), and not about popularity; each picks by a softmax over that utility, so the
choices are noisy like real ones. Requests are a minute apart (so the time split has an order).
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.utils import timezone

from chat.models import ChatUser, Menu, RecommendationLog, Shop
from chat.services.dining_chat import handle_turn
from chat.services.geo import Point
from chat.services.schemas import WEEKDAYS
from chat.services.selections import record_selection
from ml_training.models import ModelType, TrainingJob
from ml_training.services import jobs, serving

CENTRE = Point(37.54040, 127.06920)  # 건대입구역
HIDDEN_PREFERENCE = {"distance": 5.0, "quality": 4.0}
SHOP_PREFIX = "시뮬레이션 식당"
CATEGORIES = ("한식", "중식", "일식", "분식", "양식", "도시락/죽")
ALWAYS_OPEN = {day: {"open": "00:00", "close": "24:00"} for day in (*WEEKDAYS, "holiday")}
TRAIN_CONFIG = {"ab_percentage_if_inconclusive": 0}
WORSE_CONFIG = {"features": ["popularity"], "ab_percentage_if_inconclusive": 0}


@dataclass
class RecommendationLoopReport:
    played: int = 0
    selected_rank_before: list[int] = field(default_factory=list)  # rank of each pick, hand-tuned serving
    selected_rank_after: list[int] = field(default_factory=list)  # the same users, the new version serving
    job: TrainingJob | None = None
    served_version: str = ""
    worse_job: TrainingJob | None = None

    @staticmethod
    def top_share(ranks: list[int], k: int) -> float:
        return round(sum(rank <= k for rank in ranks) / len(ranks), 4) if ranks else 0.0


def around_centre(max_m: float, rng: random.Random) -> tuple[float, float]:
    """A uniformly random point within `max_m` metres of the centre (latitude, longitude)."""
    distance, bearing = max_m * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    metres_per_degree_east = 111_320 * math.cos(math.radians(CENTRE.latitude))
    return CENTRE.latitude + north / 111_320, CENTRE.longitude + east / metres_per_degree_east


def neighbourhood(shops: int, rng: random.Random) -> list[Shop]:
    """`shops` open meal shops within 900 m of the centre with independent popularity and quality,
    two or three menus of 3,000-9,000 won each (made once; a re-run reuses them)."""
    existing = list(Shop.objects.filter(shop_name__startswith=SHOP_PREFIX).order_by("pk"))
    for index in range(len(existing), shops):
        latitude, longitude = around_centre(900, rng)
        shop = Shop.objects.create(
            shop_name=f"{SHOP_PREFIX} {index:03d}",
            category=CATEGORIES[index % len(CATEGORIES)],
            address_name=f"서울 광진구 화양동 {index + 1}",
            latitude=Decimal(f"{latitude:.8f}"),
            longitude=Decimal(f"{longitude:.8f}"),
            business_hours=ALWAYS_OPEN,
            is_food_card_shop="Y",
            popularity_score=Decimal(f"{rng.random():.3f}"),
            quality_score=Decimal(f"{rng.random():.3f}"),
        )
        Menu.objects.bulk_create(
            [
                Menu(shop=shop, menu_name=f"메뉴 {index}-{n}", price=price, category="메인메뉴")
                for n, price in enumerate(rng.randrange(3000, 9001, 500) for _ in range(rng.choice((2, 3))))
            ]
        )
        existing.append(shop)
    return existing


def hidden_utility(item: dict) -> float:
    features = item.get("features") or {}
    return sum(weight * features.get(name, 0.0) for name, weight in HIDDEN_PREFERENCE.items())


def pick(shown: list[dict], rng: random.Random) -> dict:
    """The shop a simulated user chooses: softmax over the hidden utility."""
    utilities = np.array([hidden_utility(item) for item in shown])
    weights = np.exp(utilities - utilities.max())
    return rng.choices(shown, weights=weights.tolist())[0]


def play(requests: int, *, users: list[ChatUser], rng: random.Random, start: dt.datetime) -> list[int]:
    """`requests` lunch questions from near the centre, a minute apart, each answered and acted on: the
    user selects a shop through the selection service. Returns the shown rank of each pick."""
    ranks = []
    for i in range(requests):
        at = start + dt.timedelta(minutes=i)
        latitude, longitude = around_centre(300, rng)
        location = {"latitude": latitude, "longitude": longitude}
        message = f"{rng.randrange(5, 13)}천원으로 점심 뭐 먹지?"
        body = handle_turn(chat_user=users[i % len(users)], message=message, session_id=None, location=location,
                           context=None, now=at)  # fmt: skip
        log_id = body["session_info"]["recommendation_id"]
        if log_id is None or len(body["recommendations"]) < 2:
            continue
        log = RecommendationLog.objects.get(pk=log_id)
        chosen = pick(log.recommendations, rng)
        record_selection(log, shop_id=chosen["shop_id"], time_to_decision_ms=rng.randrange(2000, 20000),
                         now=at + dt.timedelta(seconds=30))  # fmt: skip
        ranks.append(chosen["ranking"])
    return ranks


def run_loop(
    *, requests: int, users: int = 20, shops: int = 40, seed: int = 7, run_job=jobs.run_job, log=print
) -> RecommendationLoopReport:
    """The loop at `requests` played recommendations (and a fifth as many more once the new version
    serves). `run_job(job_id)` runs a scheduled job to its end (here by default; a test waits for the
    Celery worker instead)."""
    rng = random.Random(seed)
    report = RecommendationLoopReport()
    serving.forget()
    neighbourhood(shops, rng)
    diners = [ChatUser.objects.get_or_create(external_user_id=f"simulated-diner-{i}")[0] for i in range(users)]
    after_requests = max(20, requests // 5)
    start = timezone.now() - dt.timedelta(minutes=requests + after_requests + 10)
    log(f"serving at the start: {serving.reranker_for(diners[0].pk)[1]['version']}")
    report.selected_rank_before = play(requests, users=diners, rng=rng, start=start)
    report.played = len(report.selected_rank_before)
    log(f"played {report.played} recommendations with a selection, from {users} users")

    report.job = run_job(jobs.schedule_job(ModelType.RECOMMENDATION, config=TRAIN_CONFIG, created_by="simulation").pk)
    log(f"job {report.job.pk}: {report.job.status}; gate {report.job.promotion}")

    serving.forget()  # what a process sees at its next version check
    report.served_version = serving.reranker_for(diners[0].pk)[1]["version"]
    report.selected_rank_after = play(after_requests, users=diners, rng=rng,
                                      start=start + dt.timedelta(minutes=requests))  # fmt: skip
    log(f"played {len(report.selected_rank_after)} more with version {report.served_version} serving")

    report.worse_job = run_job(
        jobs.schedule_job(ModelType.RECOMMENDATION, config=WORSE_CONFIG, created_by="simulation").pk
    )
    log(f"deliberately worse job {report.worse_job.pk}: gate {report.worse_job.promotion}")
    return report

