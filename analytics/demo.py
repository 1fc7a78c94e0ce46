"""Demo analytics for `make run`: a few logged conversations on every channel and their statistics."""

from analytics.models import MessageLog
from analytics.services import statistics
from analytics.services.message_logs import record_exchange

DEMO_PREFIX = "demo-analytics-"

CONVERSATIONS = [
    ("knowledge", "handbook", [("연차는 며칠인가요?", "입사 1년 후 15일이 주어집니다.", 0.91, "")]),
    ("knowledge", "handbook", [("출장비 정산은 어떻게 하나요?", "관련 자료를 찾지 못했어요.", 0.31, "")]),
    ("dining", "dining", [("5천원으로 점심 뭐 먹지?", "근처 김밥천국의 참치김밥(4,500원)을 추천해요.", 0.82, "")]),
    ("partner", "medilinx", [("내 상태 어떠니?", "검진 결과를 바탕으로 보면 위험한 수치는 아니에요.", 0.77, ""),
                             ("운동은 얼마나 해야 해?", "", None, "LLM timeout")]),
]  # fmt: skip


def load(stdout) -> None:
    if MessageLog.objects.filter(session_id__startswith=DEMO_PREFIX).exists():
        return
    for number, (channel, collection, turns) in enumerate(CONVERSATIONS):
        for question, answer, score, error in turns:
            record_exchange(
                channel=channel,
                collection_name=collection,
                session_id=f"{DEMO_PREFIX}{number}",
                user_id=f"demo-user-{number}",
                user_message=question,
                assistant_message=answer,
                llm_model="local-extractive",
                llm_params={"temperature": 0.7, "max_tokens": 2000, "top_p": 0.9},
                reasoning_level="medium",
                retrieval_info={"query": question, "retrieved_count": 1 if score else 0, "reranking_used": False,
                                "top_scores": [score] if score else []},  # fmt: skip
                performance={"response_time_ms": 800 + 150 * number, "token_count": 40, "retrieval_time_ms": 60},
                error=error,
            )
    statistics.roll_up()
    stdout.write(f"  analytics: {len(CONVERSATIONS)} demo conversations logged, statistics for this hour and day")
