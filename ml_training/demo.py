"""Demo learning data for `make run`: dining turns of the demo users through the real chat, so the
review queue (Admin › ML training › Review items) has low-confidence, UNKNOWN and negatively rated
turns to label, next to auto-labelled confident ones. Idempotent (fixed session ids)."""

import uuid

from chat.models import ChatUser, Conversation
from chat.services.dining_chat import handle_turn
from ml_training.models import DataQueueItem
from ml_training.services.feedback import FeedbackInput, dining_target, give_feedback

KONDAE = {"latitude": 37.5404, "longitude": 127.0692}
NAMESPACE = uuid.UUID("6f1f3c52-7a0e-4d0e-9f58-3c4b9d1e0a01")
# (demo user, the turns of one session, feedback on its last turn: (vote, rating, comment) or None)
SESSIONS = [
    ("demo:001", ["5천원으로 점심 뭐 먹지?", "음"], None),
    ("demo:002", ["내일 비온대"], None),
    ("demo:003", ["떡볶이 먹을까 말까"], ("down", 2, "떡볶이집을 알려줘야지")),
    ("demo:004", ["8천원으로 친구랑 저녁", "그냥 좀"], None),
    ("demo:005", ["쿠폰 있어?"], ("down", 1, "쿠폰이 안 보여요")),
    ("demo:006", ["배고파"], None),
    ("demo:007", ["만 오천원으로 치킨 먹고 싶어"], ("up", 5, "")),
    ("demo:008", ["오늘 뭐하지"], None),
]


def load(stdout) -> None:
    session_ids = [uuid.uuid5(NAMESPACE, f"session-{number}") for number in range(len(SESSIONS))]
    if Conversation.objects.filter(session_id__in=session_ids).exists():
        return
    users = {user.external_user_id: user for user in ChatUser.objects.filter(external_user_id__startswith="demo:")}
    for session_id, (external_id, messages, feedback) in zip(session_ids, SESSIONS, strict=True):
        user = users.get(external_id)
        if user is None:
            continue
        for message in messages:
            handle_turn(chat_user=user, message=message, session_id=str(session_id), location=KONDAE, context=None)
        if feedback is not None:
            vote, rating, comment = feedback
            last = Conversation.objects.filter(session_id=session_id).order_by("-conversation_turn").first()
            given = FeedbackInput(vote=vote, rating=rating, comment=comment)
            give_feedback(dining_target(last, voter=f"chat_user:{user.pk}"), given)
    stdout.write(f"  ml_training: {DataQueueItem.objects.open().count()} turns waiting in the review queue")
