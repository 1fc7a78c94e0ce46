"""Generated chat traffic for the demo (`make run`) and the rollup benchmark: message logs and their
conversation histories written by one INSERT ... SELECT over generate_series, so millions of rows
take seconds, not a Python loop.

The traffic looks like a week of real use: most questions in the afternoon (a daily swing, which is
what makes averaged hourly percentiles wrong), log-normal response times, a few popular questions,
about 2 % errors, 1 % partial answers, 4 % regenerations, 8 % answers with nothing retrieved.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from analytics.models import ConversationHistory, MessageLog

QUESTIONS = [
    "연차는 며칠인가요?", "출장비 정산은 어떻게 하나요?", "재택근무 신청 방법", "5천원으로 점심 뭐 먹지?",
    "근처 김밥집 알려줘", "급식카드 잔액 확인", "혈압이 높으면 어떻게 해야 하나요?", "운동은 얼마나 해야 해?",
    "VPN 접속이 안 돼요", "회의실 예약은 어디서 하나요?", "경조사 휴가 규정", "복지포인트 사용처",
    "야근 식대 기준", "건강검진 결과 보는 법", "비밀번호 초기화", "택시비 지원 되나요?",
]  # fmt: skip
COLLECTIONS = [("knowledge", "handbook"), ("dining", "dining"), ("partner", "medilinx"), ("knowledge", "it-help")]
EXCHANGES_PER_SESSION = 5
USERS_PER_SESSION = 0.4  # sessions share users: 10 sessions come from 4 users


@dataclass(frozen=True)
class Traffic:
    start: datetime
    days: int
    exchanges: int
    prefix: str = "gen-"
    seed: float = 0.42


_GENERATE = f"""
WITH params AS (
    SELECT %(start)s::timestamptz AS start, %(days)s::int AS days, %(exchanges)s::bigint AS total
), exchange AS MATERIALIZED (
    SELECT g AS n, (g * p.days) / p.total AS day,
           -- Box-Muller normals: an afternoon peak (14:00 +- 4 h) and log-normal response times
           sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_time,
           sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_latency,
           random() AS r_outcome, random() AS r_score, power(random(), 2) AS r_question,
           (g / {EXCHANGES_PER_SESSION}) AS session_no, p.start
    FROM params p, generate_series(0, p.total - 1) AS g
), shaped AS (
    SELECT *,
           start + day * interval '1 day'
               + ((((14 * 3600 + 4 * 3600 * z_time)::numeric %% 86400) + 86400) %% 86400) * interval '1 second'
               AS answered_at,
           greatest(30, exp(ln(900) + 0.7 * z_latency)) AS ms,
           (session_no %% {len(COLLECTIONS)}) + 1 AS collection_no
    FROM exchange
), logged AS (
    SELECT s.*, c.channel, c.collection_name,
           %(prefix)s || session_no AS session_id,
           (ARRAY[{", ".join(f"'{q}'" for q in QUESTIONS)}])[1 + floor(r_question * {len(QUESTIONS)})::int] AS question,
           r_outcome < 0.02 AS failed, r_outcome >= 0.02 AND r_outcome < 0.03 AS partial,
           r_outcome >= 0.03 AND r_outcome < 0.07 AS regenerated, r_outcome >= 0.07 AND r_outcome < 0.15 AS nothing
    FROM shaped s JOIN (VALUES {", ".join(f"({i}, '{ch}', '{name}')" for i, (ch, name) in enumerate(COLLECTIONS, 1))})
        AS c(no, channel, collection_name) ON c.no = s.collection_no
), logs AS (
    INSERT INTO {MessageLog._meta.db_table} (
        log_id, session_id, channel, collection_name, message_type, content, reasoning_level, llm_model,
        llm_params, retrieval_info, performance, error, regenerated, created_at
    )
    SELECT gen_random_uuid(), l.session_id, l.channel, l.collection_name, m.message_type, m.content, 'medium',
           'local-extractive', m.llm_params, m.retrieval_info, m.performance, m.error, m.regenerated, m.created_at
    FROM logged l CROSS JOIN LATERAL (VALUES
        ('user', l.question, '{{}}'::jsonb, '{{}}'::jsonb, '{{}}'::jsonb, '', false,
         l.answered_at - l.ms * interval '1 millisecond'),
        ('assistant', CASE WHEN l.nothing THEN '관련 자료를 찾지 못했어요.' ELSE '답변입니다.' END,
         CASE WHEN l.partial THEN '{{"status": "partial"}}'::jsonb ELSE '{{}}'::jsonb END,
         CASE WHEN l.nothing THEN jsonb_build_object('retrieved_count', 0, 'top_scores', '[]'::jsonb)
              ELSE jsonb_build_object('retrieved_count', 3, 'top_scores',
                                      jsonb_build_array(round((0.35 + 0.6 * l.r_score)::numeric, 3))) END,
         jsonb_build_object('response_time_ms', round(l.ms::numeric, 1), 'token_count', 40 + (l.n %% 200)),
         CASE WHEN l.failed THEN 'LLM timeout' WHEN l.partial THEN 'client disconnected; the answer is partial'
              ELSE '' END,
         l.regenerated, l.answered_at)
    ) AS m(message_type, content, llm_params, retrieval_info, performance, error, regenerated, created_at)
)
INSERT INTO {ConversationHistory._meta.db_table} (
    conversation_id, channel, collection_name, user_hash, messages, total_turns, is_sampled, retention_priority,
    summary, has_error, regenerated, created_at, updated_at
)
SELECT session_id, channel, collection_name, %(prefix)s || 'user-' || floor(session_no * {USERS_PER_SESSION}),
       '[]'::jsonb, count(*), true, 'low', min(question), bool_or(failed), bool_or(regenerated),
       min(answered_at), max(answered_at)
FROM logged
GROUP BY session_id, session_no, channel, collection_name
"""


def generate(traffic: Traffic) -> int:
    """Insert the traffic (2 message logs per exchange, one history per session); returns the logs written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [traffic.seed])
        cursor.execute(
            _GENERATE,
            {"start": traffic.start, "days": traffic.days, "exchanges": traffic.exchanges, "prefix": traffic.prefix},
        )
    return 2 * traffic.exchanges
