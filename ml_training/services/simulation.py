"""The learning loop, end to end (`manage.py simulate_learning_loop`): users chat in a way the curated
NLU gets wrong, staff correct the queued turns through the review service, the daily preparation runs,
a training job trains and passes the promotion gate, the new version serves, and a deliberately worse
job is refused by the gate.

The simulated users speak teenage chat slang ("오늘 떡볶이 각?", "김밥집 지금 함?", "치킨 싸게 먹는
법"); only the messages the model serving at the start gets wrong are played.
"""

import statistics
import time
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from chat.models import ChatUser, Conversation
from chat.services.dining_chat import handle_turn
from chat.services.nlu import understand
from ml_training.models import DataQueueItem, FeedbackVote, ModelType, TrainingJob
from ml_training.services import feedback, gate, jobs, nlu_trainer, review, serving
from ml_training.services.nlu_data import build_splits
from ml_training.services.preparation import prepare_daily_training_data

FOODS = (
    "떡볶이", "김밥", "라면", "치킨", "피자", "돈까스", "햄버거", "짜장면", "국밥", "초밥", "순대", "쫄면",
    "우동", "냉면", "파스타", "마라탕", "부대찌개", "김치찌개", "제육볶음", "덮밥", "샌드위치", "토스트", "핫도그",
    "만두",
)  # fmt: skip
TEMPLATES = {
    "FOOD_REQUEST": ("오늘 {f} 각?", "{f} 어떰", "혼밥 메뉴 {f} 말고 뭐 있음", "저메추 {f} 빼고",
                     "점메추 ㄱ {f} 좋음"),
    "TIME_INQUIRY": ("{f}집 지금 함?", "{f}집 아직 영업함?", "{f}집 지금 가도 됨?", "{f}집 오늘 쉼?",
                     "{f}집 밤에도 함?"),
    "COUPON_INQUIRY": ("{f} 싸게 먹는 법", "{f}집 서비스 주는 데"),
}
PREFIXES = ("", "야 ", "혹시 ")
WORSE_CONFIG = {"candidates": ["linear"], "epochs": 10, "l2": 1.0, "ab_percentage_if_inconclusive": 0}
TRAIN_CONFIG = {"ab_percentage_if_inconclusive": 0}


@dataclass
class LoopReport:
    played: int = 0
    corrected: int = 0
    before: dict = field(default_factory=dict)  # frozen split: accuracy, macro_f1 of the model serving at the start
    after: dict = field(default_factory=dict)
    job: TrainingJob | None = None
    served_version: str = ""
    worse_job: TrainingJob | None = None
    inference_p50_ms: dict = field(default_factory=dict)  # understand() p50, before / after


def slang_messages(limit: int, classifier) -> list[tuple[str, str]]:
    """Up to `limit` (text, true intent) pairs that `classifier` gets wrong, in a fixed order."""
    picked = []
    for food in FOODS:
        for prefix in PREFIXES:
            for intent, templates in TEMPLATES.items():
                for template in templates:
                    text = prefix + template.format(f=food)
                    if understand(text, classifier=classifier).intent != intent:
                        picked.append((text, intent))
                        if len(picked) >= limit:
                            return picked
    return picked


def play_users(messages: list[tuple[str, str]], *, users: int) -> None:
    """Each message is a turn of one of `users`; a user whose turn was misread gives it a thumbs down, as
    people do, so a confident mistake reaches the review queue too (not only low-confidence turns)."""
    chat_users = [
        ChatUser.objects.get_or_create(external_user_id=f"simulated-learner-{i}")[0] for i in range(users)
    ]
    for i, (text, intent) in enumerate(messages):
        user = chat_users[i % users]
        body = handle_turn(chat_user=user, message=text, session_id=None, location=None, context=None)
        if body["session_info"]["intent"] != intent:
            conversation = Conversation.objects.get(pk=body["session_info"]["conversation_id"])
            target = feedback.dining_target(conversation, voter=f"chat_user:{user.pk}")
            feedback.give_feedback(target, feedback.FeedbackInput(vote=FeedbackVote.DOWN))


def correct_queue(truth: dict[str, str], staff) -> int:
    """Staff label every queued turn of `truth` (message -> intent) through the review service."""
    corrected = 0
    queued = DataQueueItem.objects.filter(model_type=ModelType.NLU, reviewed_at__isnull=True)
    for item in queued:
        intent = truth.get(item.raw_data.get("input_text", ""))
        if intent is not None:
            review.label_item(item.pk, intent=intent, entities=None, reviewer=staff)
            corrected += 1
    return corrected


def frozen_scores(classifier) -> dict:
    scores = nlu_trainer.evaluate(classifier, build_splits().frozen)
    return {key: scores[key] for key in ("examples", "accuracy", "macro_f1", "ece")}


def understand_p50_ms(classifier, texts: list[str], rounds: int = 3) -> float:
    for text in texts:  # warm the entity cache and Kiwi like a running process
        understand(text, classifier=classifier)
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            understand(text, classifier=classifier)
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


def run_loop(*, size: int, users: int = 20, run_job=jobs.run_job, log=print) -> LoopReport:
    """The loop at `size` played messages. `run_job(job_id)` runs a scheduled job to its end (in this
    process by default; the test waits for the Celery worker instead)."""
    report = LoopReport()
    serving.forget()
    start_model, start_attribution = serving.nlu_classifier_for(None)
    log(f"serving at the start: {start_attribution['version']}")
    messages = slang_messages(size, start_model)
    play_users(messages, users=users)
    report.played = len(messages)
    log(f"played {report.played} messages the serving model gets wrong, from {users} users")

    staff, _ = get_user_model().objects.get_or_create(username="simulation-staff", defaults={"is_staff": True})
    report.corrected = correct_queue(dict(messages), staff)
    log(f"staff corrected {report.corrected} queued turns (review service)")
    prepared = prepare_daily_training_data()
    log("preparation: " + ", ".join(f"{s.model_type} {s.prepared} made ready" for s in prepared))

    report.before = frozen_scores(start_model)
    report.job = run_job(jobs.schedule_job(ModelType.NLU, config=TRAIN_CONFIG, created_by="simulation").pk)
    log(f"job {report.job.pk}: {report.job.status}; gate {report.job.promotion}")

    serving.forget()  # what a process sees at its next version check
    new_model, attribution = serving.nlu_classifier_for(None)
    report.served_version = attribution["version"]
    report.after = frozen_scores(new_model)
    texts = [row.text for row in build_splits().frozen]
    report.inference_p50_ms = {
        "before": understand_p50_ms(start_model, texts),
        "after": understand_p50_ms(new_model, texts),
    }

    report.worse_job = run_job(jobs.schedule_job(ModelType.NLU, config=WORSE_CONFIG, created_by="simulation").pk)
    log(f"deliberately worse job {report.worse_job.pk}: gate {report.worse_job.promotion}")
    return report


def refused(job: TrainingJob | None) -> bool:
    return bool(job and job.promotion and job.promotion["decision"] == gate.REFUSED)
