"""SQL|RAG router of the knowledge chat (seed 001 "챗봇 응답 경로").

* `decide_route(user=, message=)`: everyone but staff goes to RAG without an LLM call. For staff the
  LLM answers `{"route": "sql|rag", "reason": "..."}`; a failed call or a malformed reply means RAG.
* `answer_with_sql(user=, message=, decision=)`: the LLM writes one query over the allow-listed
  tables (their columns and choices are in the prompt), `sql_guard.validate_select` checks it and
  `sql_guard.execute_readonly` runs it read-only with a timeout and a row cap. The answer is Korean
  text with a small table. Any rejection, error or timeout gives `SqlAnswer(ok=False, ...)`, and the
  caller answers from the documents instead (saying so).

Offline default: with `LLM_BASE_URL` unset the local provider routes by keywords (rag.providers)
but cannot write SQL, so `answer_with_sql` uses `SQL_TEMPLATES` below - a few fixed queries for the
usual admin questions (shops per category, meal-card shops, coupons issued/used, ...) - and still
passes them through the same guard and read-only runner. A question no template matches is not
answered by SQL.

Every decision is logged to `RouteDecisionLog` (route, reason, SQL, outcome, duration): the row is
written by `decide_route` and completed by `answer_with_sql`.
"""

import datetime as dt
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F

from chat.models import RouteDecisionLog
from chat.services.sql_guard import (
    ALLOWED_COLUMNS,
    ALLOWED_TABLES,
    SqlExecutionError,
    SqlTimeoutError,
    UnsafeSqlError,
    execute_readonly,
    validate_select,
)
from rag.providers import get_llm

logger = logging.getLogger(__name__)

SQL_ROW_LIMIT = 200
SQL_TIMEOUT_MS = 2000
TABLE_PREVIEW_ROWS = 20
MAX_LOGGED_MESSAGE = 4000
Outcome = RouteDecisionLog.Outcome

ROUTING_PROMPT = (
    "You route questions of an administrator of a Korean meal-card dining chatbot platform.\n"
    'Answer with JSON only: {{"route": "sql" or "rag", "reason": "<one short Korean sentence>"}}.\n'
    'Choose "sql" only for counts, sums, averages, rankings or lists that a read-only SELECT over these '
    "tables can answer: {tables}. Choose \"rag\" for everything else (how-to, policies, documents, opinions)."
)
SQL_PROMPT = (
    "You write ONE PostgreSQL SELECT statement (WITH ... SELECT allowed) answering an administrator's "
    "question. Use only these tables and columns:\n{schema}\n"
    "Rules: read-only; no data changes; no schema prefixes; no system catalogs; name the columns you need "
    "(no SELECT *; other columns are not readable); plain aggregate, string, "
    "date and math functions only; give result columns short Korean aliases in double quotes; "
    "at most {row_limit} rows.\n"
    'Reply with JSON only: {{"sql": "<the statement>"}}. If the tables cannot answer, reply {{"sql": ""}}.'
)

# Offline fallback (local provider): (question pattern, SQL). First match wins, so specific first.
SQL_TEMPLATES: list[tuple[str, str]] = [
    (
        r"쿠폰",
        'SELECT coupon_name AS "쿠폰", total_issued AS "발급", total_used AS "사용", '
        'ROUND(100.0 * total_used / NULLIF(total_issued, 0), 1) AS "사용률(%)" '
        "FROM coupons ORDER BY total_issued DESC, coupon_name",
    ),
    (
        r"급식\s*카드",
        'SELECT is_food_card_shop AS "급식카드", COUNT(*) AS "가게 수" FROM shops '
        "GROUP BY is_food_card_shop ORDER BY 2 DESC",
    ),
    (r"착한\s*가게", 'SELECT COUNT(*) AS "착한가게 수" FROM shops WHERE is_good_influence_shop'),
    (
        r"(메뉴|가격).*(평균|얼마)|(평균|얼마).*(메뉴|가격)",
        'SELECT s.category AS "카테고리", ROUND(AVG(m.price)) AS "평균 가격", COUNT(*) AS "메뉴 수" '
        "FROM menus m JOIN shops s ON s.id = m.shop_id WHERE m.is_available GROUP BY s.category ORDER BY 2 DESC",
    ),
    (
        r"영업|문\s*(연|닫)",
        'SELECT current_status AS "영업 상태", COUNT(*) AS "가게 수" FROM shops '
        "GROUP BY current_status ORDER BY 2 DESC",
    ),
    (
        r"(카테고리|업종|종류)\s*별",
        'SELECT category AS "카테고리", COUNT(*) AS "가게 수" FROM shops GROUP BY category ORDER BY 2 DESC, 1',
    ),
    (
        r"(질문|대화|채팅|문의|메시지)",
        'SELECT channel AS "채널", SUM(total_queries) AS "질문 수", SUM(error_count) AS "오류 수" '
        "FROM chat_statistics WHERE period = 'day' AND date >= CURRENT_DATE - 7 GROUP BY channel ORDER BY 2 DESC",
    ),
    (r"(가게|가맹점|매장|식당|음식점)", 'SELECT COUNT(*) AS "전체 가게 수" FROM shops'),
]


@dataclass(frozen=True)
class RouteDecision:
    route: str  # "sql" | "rag"
    reason: str
    log_id: int | None = None
    duration_ms: int = 0


@dataclass(frozen=True)
class SqlAnswer:
    ok: bool
    text: str
    sql: str = ""
    rows: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    error: str = ""
    outcome: str = ""
    truncated: bool = False


def is_router_staff(user) -> bool:
    return bool(getattr(user, "is_staff", False) and getattr(user, "is_active", True))


def decide_route(*, user, message: str) -> RouteDecision:
    """Staff: ask the LLM for sql|rag. Everyone else: RAG, without calling the LLM. Always logged."""
    started = time.monotonic()
    if not is_router_staff(user):
        reason = "관리자가 아닌 사용자의 질문은 RAG로 답합니다."
        return _log_decision(user, message, "rag", reason, Outcome.ROUTED_TO_RAG, started)
    try:
        reply = get_llm().complete_json(_routing_messages(message), temperature=0, max_tokens=200)
    except Exception as exc:  # provider down, timeout, no JSON: the chat goes on with RAG
        logger.warning("SQL|RAG routing failed, using RAG: %s", exc)
        return _log_decision(
            user, message, "rag", "라우팅 LLM 호출에 실패해 RAG로 답합니다.", Outcome.FALLBACK, started, error=str(exc)
        )
    route = reply.get("route") if isinstance(reply, dict) else None
    reason = reply.get("reason") if isinstance(reply, dict) else None
    if route not in ("sql", "rag") or not isinstance(reason, str):
        return _log_decision(
            user,
            message,
            "rag",
            "라우팅 응답 형식이 올바르지 않아 RAG로 답합니다.",
            Outcome.FALLBACK,
            started,
            error=f"malformed routing reply: {str(reply)[:300]}",
        )
    outcome = Outcome.PENDING if route == "sql" else Outcome.ROUTED_TO_RAG
    return _log_decision(user, message, route, reason.strip()[:500], outcome, started)


def answer_with_sql(
    *, user, message: str, decision: RouteDecision, row_limit: int = SQL_ROW_LIMIT, timeout_ms: int = SQL_TIMEOUT_MS
) -> SqlAnswer:
    """Answer `message` with one guarded read-only query, or say why not (`ok=False`: use RAG)."""
    started = time.monotonic()
    written_sql = ""
    if decision.route != "sql":
        answer = _failure(Outcome.ROUTED_TO_RAG, "", "the routing decision is not sql")
    elif not is_router_staff(user):
        answer = _failure(Outcome.REJECTED, "", "the SQL route is for staff only")
    else:
        answer, written_sql = _answer(message, row_limit=row_limit, timeout_ms=timeout_ms)
    _log_answer(user, message, decision, answer, started, written_sql=written_sql)
    return answer


def _answer(message: str, *, row_limit: int, timeout_ms: int) -> tuple[SqlAnswer, str]:
    """The answer and the SQL as the LLM wrote it (logged verbatim, also when it was rejected)."""
    try:
        raw_sql = _write_sql(message, row_limit)
    except Exception as exc:  # provider failure or no usable reply
        return _failure(Outcome.ERROR, "", f"no SQL: {exc}"), ""
    try:
        safe_sql = validate_select(raw_sql)
    except UnsafeSqlError as exc:
        return _failure(Outcome.REJECTED, raw_sql, exc.reason), raw_sql
    try:
        result = execute_readonly(safe_sql, row_limit=row_limit, timeout_ms=timeout_ms)
    except SqlTimeoutError as exc:
        return _failure(Outcome.TIMEOUT, safe_sql, str(exc)), raw_sql
    except SqlExecutionError as exc:
        return _failure(Outcome.ERROR, safe_sql, str(exc)), raw_sql
    rows = [[_json_safe(value) for value in row] for row in result.rows]
    answer = SqlAnswer(
        ok=True,
        text=format_answer(result.columns, rows, truncated=result.truncated, sql=safe_sql),
        sql=safe_sql,
        rows=rows,
        columns=result.columns,
        outcome=Outcome.ANSWERED,
        truncated=result.truncated,
    )
    return answer, raw_sql


def _failure(outcome: str, sql: str, error: str) -> SqlAnswer:
    text = {
        Outcome.REJECTED: "안전하지 않거나 허용되지 않은 조회라서 SQL로 답하지 않고 문서 검색(RAG)으로 답합니다.",
        Outcome.TIMEOUT: "조회 시간이 제한을 넘어 SQL로 답하지 못하고 문서 검색(RAG)으로 답합니다.",
    }.get(outcome, "SQL 조회에 실패해 문서 검색(RAG)으로 답합니다.")
    return SqlAnswer(ok=False, text=text, sql=sql, error=error[:1000], outcome=outcome)


def _write_sql(message: str, row_limit: int) -> str:
    if not settings.LLM_BASE_URL:
        return template_sql(message)
    reply = get_llm().complete_json(_sql_messages(message, row_limit), temperature=0, max_tokens=800)
    sql = reply.get("sql") if isinstance(reply, dict) else None
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("the LLM wrote no SQL for this question")
    return sql


def template_sql(message: str) -> str:
    """The offline fallback's query for a common admin question; ValueError when none fits."""
    for pattern, sql in SQL_TEMPLATES:
        if re.search(pattern, message):
            return sql
    raise ValueError("no SQL template matches this question (local LLM provider)")


def _routing_messages(message: str) -> list[dict]:
    tables = ", ".join(sorted(ALLOWED_TABLES))
    return [
        {"role": "system", "content": ROUTING_PROMPT.format(tables=tables)},
        {"role": "user", "content": message},
    ]


def _sql_messages(message: str, row_limit: int) -> list[dict]:
    return [
        {"role": "system", "content": SQL_PROMPT.format(schema=schema_description(), row_limit=row_limit)},
        {"role": "user", "content": message},
    ]


def schema_description() -> str:
    """One line per allow-listed table with its columns, types and choices, from the Django models."""
    models_by_table = {model._meta.db_table: model for model in apps.get_models()}
    lines = []
    for table in sorted(ALLOWED_TABLES):
        model = models_by_table.get(table)
        if model is None:
            continue
        columns = []
        for model_field in model._meta.concrete_fields:
            if model_field.column not in ALLOWED_COLUMNS[table]:
                continue  # hidden from the SQL route (sql_guard.ALLOWED_COLUMNS): not offered to the LLM either
            description = f"{model_field.column} {model_field.get_internal_type()}"
            if model_field.choices:
                description += " in (" + ", ".join(str(value) for value, _ in model_field.choices) + ")"
            columns.append(description)
        lines.append(f"- {table}({'; '.join(columns)})")
    return "\n".join(lines)


def format_answer(columns: list[str], rows: list[list], *, truncated: bool, sql: str) -> str:
    """Korean answer: a single value in a sentence, otherwise a small Markdown table."""
    if not rows:
        body = "조회 결과가 없습니다."
    elif len(rows) == 1 and len(columns) == 1:
        body = f"조회 결과: {columns[0]} = {_cell(rows[0][0])}"
    else:
        shown = rows[:TABLE_PREVIEW_ROWS]
        lines = [
            "| " + " | ".join(_cell(c) for c in columns) + " |",
            "|" + "---|" * len(columns),
            *("| " + " | ".join(_cell(v) for v in row) + " |" for row in shown),
        ]
        body = f"조회 결과 {len(rows)}행{' 이상' if truncated else ''}입니다.\n\n" + "\n".join(lines)
        if len(rows) > len(shown):
            body += f"\n\n(상위 {len(shown)}행만 표시)"
    return f"{body}\n\n실행한 SQL:\n```sql\n{sql}\n```"


def _cell(value) -> str:
    if value is None:
        return "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _json_safe(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


# --- logging --------------------------------------------------------------------------------------


def _log_user(user):
    return user if isinstance(user, get_user_model()) and user.pk else None


def _loggable(text: str) -> str:
    """PostgreSQL text cannot hold NUL bytes; a hostile query may (it is logged, shown escaped)."""
    return text.replace("\x00", "\\x00")


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _log_decision(user, message, route, reason, outcome, started, *, error="") -> RouteDecision:
    duration_ms = _elapsed_ms(started)
    log = RouteDecisionLog.objects.create(
        user=_log_user(user),
        message=_loggable(message[:MAX_LOGGED_MESSAGE]),
        route=route,
        reason=_loggable(reason),
        outcome=outcome,
        error=_loggable(error[:1000]),
        duration_ms=duration_ms,
    )
    return RouteDecision(route=route, reason=reason, log_id=log.pk, duration_ms=duration_ms)


def _log_answer(user, message, decision: RouteDecision, answer: SqlAnswer, started: float, *, written_sql: str) -> None:
    fields = {"sql": _loggable(written_sql), "outcome": answer.outcome, "error": _loggable(answer.error)}
    updated = 0
    if decision.log_id is not None:
        updated = RouteDecisionLog.objects.filter(pk=decision.log_id).update(
            **fields, duration_ms=F("duration_ms") + _elapsed_ms(started)
        )
    if not updated:  # a decision made without decide_route (or its row is gone): log it now
        RouteDecisionLog.objects.create(
            user=_log_user(user),
            message=_loggable(message[:MAX_LOGGED_MESSAGE]),
            route=decision.route if decision.route in ("sql", "rag") else "rag",
            reason=_loggable(decision.reason[:500]),
            duration_ms=decision.duration_ms + _elapsed_ms(started),
            **fields,
        )
