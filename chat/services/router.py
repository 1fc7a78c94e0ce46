"""SQL|RAG router of the knowledge chat (seed 001 "챗봇 응답 경로").

* `decide_route(user=, message=)`: everyone but staff goes to RAG without an LLM call. For staff the
  LLM answers `{"route": "sql|rag", "reason": "..."}`; a failed call or a malformed reply means RAG.
* `answer_with_sql(user=, message=, decision=)`: the LLM writes one query over the allow-listed
  tables (their columns and choices are in the prompt), `sql_guard.validate_select` checks it and
  `sql_guard.execute_readonly` runs it read-only with a timeout and a row cap. The answer is Korean
  text with a small table. Any rejection, error or timeout gives `SqlAnswer(ok=False, ...)`, and the
  caller answers from the documents instead (saying so).

Offline default: with `LLM_BASE_URL` unset nothing can write SQL, so `OFFLINE_TEMPLATES` below
answer the usual admin questions (shops per category, meal-card shops, coupons issued/used, menu
prices, questions asked...). A question a template answers is routed to SQL without asking the
local provider; the template honours the filters the question names (shop category, meal-card
flag, good-influence shops, a date range) and its SQL passes the same guard and read-only runner.
Question counts are counted from the message logs themselves (fresh, not a stale rollup). A
question the local provider routes to SQL but no template covers is answered with that fact
(`SqlAnswer.final`), not with unrelated documents.

Every decision is logged to `RouteDecisionLog` (route, reason, SQL, outcome, duration): the row is
written by `decide_route` and completed by `answer_with_sql`.
"""

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.utils import timezone

from analytics.models import MessageLog
from analytics.services.statistics import day_start
from chat.models import RouteDecisionLog, ShopCategory
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



@dataclass(frozen=True)
class QuestionFilters:
    """What a staff question narrows its answer to, read from its words (offline templates)."""

    category: str | None = None  # one of the 13 shop categories
    food_card: bool = False  # "급식카드 가능한": shops accepting the card (Y or P)
    good_influence: bool = False  # "착한가게"
    period: tuple[dt.date, dt.date, str] | None = None  # [first day, day after the last), as said

    def shop_conditions(self, alias: str = "") -> list[str]:
        """SQL conditions on shops; values come from fixed lists, never from the message text."""
        column = f"{alias}." if alias else ""
        conditions = []
        if self.category:
            conditions.append(f"{column}category = '{self.category}'")
        if self.food_card:
            conditions.append(f"{column}is_food_card_shop IN ('Y', 'P')")
        if self.good_influence:
            conditions.append(f"{column}is_good_influence_shop")
        return conditions

    def describe(self) -> str:
        parts = (self.category, "급식카드 가능" if self.food_card else "", "착한가게" if self.good_influence else "")
        return ", ".join(part for part in parts if part)


CATEGORY_ALIASES = {
    "카페": ShopCategory.CAFE_DESSERT,
    "디저트": ShopCategory.CAFE_DESSERT,
    "도시락": ShopCategory.LUNCHBOX_PORRIDGE,
}
_FOOD_CARD_OK = re.compile(r"급식\s*카드\s*(가능|되는|사용|쓸\s*수|가맹|결제)|급식\s*카드\s*(가게|매장|식당)")
_GOOD_INFLUENCE = re.compile(r"착한\s*가게")


def question_filters(message: str, today: dt.date) -> QuestionFilters:
    category = next((value for value in ShopCategory.values if value in message), None)
    if category is None:
        category = next((value for word, value in CATEGORY_ALIASES.items() if word in message), None)
    return QuestionFilters(
        category=category,
        food_card=bool(_FOOD_CARD_OK.search(message)),
        good_influence=bool(_GOOD_INFLUENCE.search(message)),
        period=question_period(message, today),
    )


def question_period(message: str, today: dt.date) -> tuple[dt.date, dt.date, str] | None:
    """The days a question asks about: 오늘, 어제, 그저께, 최근/지난 N일, 이번/지난 주, 이번/지난 달, YYYY-MM-DD."""
    day = dt.timedelta(days=1)
    if match := re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", message):
        try:
            date = dt.date(*map(int, match.groups()))
        except ValueError:
            return None
        return date, date + day, date.isoformat()
    if match := re.search(r"(최근|지난)\s*(\d{1,3})\s*일", message):
        days = max(1, int(match.group(2)))
        return today - (days - 1) * day, today + day, f"최근 {days}일"
    monday = today - today.weekday() * day
    month_start = today.replace(day=1)
    for pattern, start, end, label in (
        (r"그저께|그제", today - 2 * day, today - day, "그저께"),
        (r"어제", today - day, today, "어제"),
        (r"오늘", today, today + day, "오늘"),
        (r"(지난|저번)\s*주", monday - 7 * day, monday, "지난주"),
        (r"이번\s*주", monday, today + day, "이번 주"),
        (r"(지난|저번)\s*달", (month_start - day).replace(day=1), month_start, "지난달"),
        (r"이번\s*달", month_start, today + day, "이번 달"),
    ):
        if re.search(pattern, message):
            return start, end, label
    return None


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _shops_per_category(f: QuestionFilters) -> str:
    return (
        'SELECT category AS "카테고리", COUNT(*) AS "가게 수" FROM shops'
        f"{_where(f.shop_conditions())} GROUP BY category ORDER BY 2 DESC, 1"
    )


def _shops_per_food_card_flag(f: QuestionFilters) -> str:
    conditions = [c for c in f.shop_conditions() if "is_food_card_shop" not in c]
    return (
        'SELECT is_food_card_shop AS "급식카드", COUNT(*) AS "가게 수" FROM shops'
        f"{_where(conditions)} GROUP BY is_food_card_shop ORDER BY 2 DESC"
    )


def _average_menu_price(f: QuestionFilters) -> str:
    return (
        'SELECT s.category AS "카테고리", ROUND(AVG(m.price)) AS "평균 가격", COUNT(*) AS "메뉴 수" '
        f"FROM menus m JOIN shops s ON s.id = m.shop_id{_where(['m.is_available', *f.shop_conditions('s')])} "
        "GROUP BY s.category ORDER BY 2 DESC"
    )


def _shops_per_status(f: QuestionFilters) -> str:
    return (
        'SELECT current_status AS "영업 상태", COUNT(*) AS "가게 수" FROM shops'
        f"{_where(f.shop_conditions())} GROUP BY current_status ORDER BY 2 DESC"
    )


def _coupon_use(f: QuestionFilters) -> str:
    return (
        'SELECT coupon_name AS "쿠폰", total_issued AS "발급", total_used AS "사용", '
        'ROUND(100.0 * total_used / NULLIF(total_issued, 0), 1) AS "사용률(%)" '
        "FROM coupons ORDER BY total_issued DESC, coupon_name"
    )


def _shop_count(f: QuestionFilters) -> str:
    label = f"{f.describe()} 가게 수" if f.describe() else "전체 가게 수"
    return f'SELECT COUNT(*) AS "{label}" FROM shops{_where(f.shop_conditions())}'


@dataclass(frozen=True)
class OfflineTemplate:
    name: str
    pattern: str
    sql: Callable[[QuestionFilters], str] | None = None  # run through the guard, read-only
    note: str = ""  # said with the answer (e.g. what a filter cannot narrow)


QUESTION_COUNTS = "질문 수 (메시지 로그)"
# First match wins, so the specific ones come first.
OFFLINE_TEMPLATES: list[OfflineTemplate] = [
    OfflineTemplate("쿠폰 발급/사용", r"쿠폰", _coupon_use, note="쿠폰 발급·사용 수는 누적 합계예요."),
    OfflineTemplate(QUESTION_COUNTS, r"질문|대화|채팅|문의|메시지"),
    OfflineTemplate("메뉴 평균 가격", r"(메뉴|가격).*(평균|얼마)|(평균|얼마).*(메뉴|가격)", _average_menu_price),
    OfflineTemplate("영업 상태별 가게 수", r"영업|문\s*(연|닫)", _shops_per_status),
    OfflineTemplate("카테고리별 가게 수", r"(카테고리|업종|종류)\s*별", _shops_per_category),
    OfflineTemplate("급식카드 여부별 가게 수", r"급식\s*카드.*(별|현황|분포|여부)", _shops_per_food_card_flag),
    OfflineTemplate("가게 수", r"가게|가맹점|매장|식당|음식점", _shop_count),
]
OFFLINE_NO_TEMPLATE = (
    "LLM이 설정되지 않은 오프라인 모드에서는 이 질문을 SQL로 답할 수 없어요. 답할 수 있는 질문: "
    + ", ".join(f"'{template.name}'" for template in OFFLINE_TEMPLATES)
    + " (카테고리·급식카드·착한가게·기간 조건을 붙일 수 있어요)."
)


# A template only answers a question that asks for numbers or a list: "쿠폰 어떻게 써?" or "식당 예약은 어떻게
# 해?" are about documents, "쿠폰 발급 현황" and "식당 몇 개야?" are statistics.
_STATISTICS_CUE = re.compile(
    r"몇|개수|건수|현황|통계|평균|합계|총합|비율|순위|목록|리스트|얼마나\s*(많|되)|가장\s*많|\btop\b|"
    r"(가게|매장|식당|가맹점|음식점|메뉴|쿠폰|질문|대화|채팅|문의|메시지|발급|사용|오류)\s*수(?![가-힣])|"
    r"(카테고리|업종|종류|상태|채널)\s*별",
    re.IGNORECASE,
)


def offline_template(message: str) -> OfflineTemplate | None:
    """The template answering a statistics question, or None (not statistics, or no template fits)."""
    if not _STATISTICS_CUE.search(message):
        return None
    return next((t for t in OFFLINE_TEMPLATES if re.search(t.pattern, message)), None)


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
    final: bool = False  # not answered, and the text says why: answer with it, not from documents


def is_router_staff(user) -> bool:
    return bool(getattr(user, "is_staff", False) and getattr(user, "is_active", True))


def decide_route(*, user, message: str) -> RouteDecision:
    """Staff: ask the LLM for sql|rag. Everyone else: RAG, without calling the LLM. Always logged."""
    started = time.monotonic()
    if not is_router_staff(user):
        reason = "관리자가 아닌 사용자의 질문은 RAG로 답합니다."
        return _log_decision(user, message, "rag", reason, Outcome.ROUTED_TO_RAG, started)
    template = None if settings.LLM_BASE_URL else offline_template(message)
    if template is not None:
        reason = f"오프라인 SQL 템플릿('{template.name}')으로 답할 수 있는 질문입니다."
        return _log_decision(user, message, "sql", reason, Outcome.PENDING, started)
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
    """The answer and the SQL as written (by the LLM or a template; logged verbatim, also when rejected)."""
    note = ""
    if settings.LLM_BASE_URL:
        try:
            raw_sql = _llm_sql(message, row_limit)
        except Exception as exc:  # provider failure or no usable reply
            return _failure(Outcome.ERROR, "", f"no SQL: {exc}"), ""
    else:
        template = offline_template(message)
        if template is None:
            failure = _failure(Outcome.ERROR, "", "no SQL template matches this question (local LLM provider)")
            return replace(failure, text=OFFLINE_NO_TEMPLATE, final=True), ""
        filters = question_filters(message, timezone.localdate())
        if template.sql is None:
            counted = question_counts(filters)
            return counted, counted.sql
        raw_sql = template.sql(filters)
        note = _filters_note(filters, template)
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
        text=format_answer(result.columns, rows, truncated=result.truncated, sql=safe_sql, note=note),
        sql=safe_sql,
        rows=rows,
        columns=result.columns,
        outcome=Outcome.ANSWERED,
        truncated=result.truncated,
    )
    return answer, raw_sql


def _filters_note(filters: QuestionFilters, template: OfflineTemplate) -> str:
    notes = [f"조건: {filters.describe()}."] if filters.describe() else []
    if filters.period is not None and template.note:
        notes.append(template.note)  # the catalogue tables have no dates to narrow by
    return " ".join(notes)


def question_counts(filters: QuestionFilters) -> SqlAnswer:
    """Questions and failed answers per channel over the asked days (default: the last 7), counted
    from the message logs themselves, so the numbers are as fresh as the logs."""
    today = timezone.localdate()
    start, end, label = filters.period or (today - dt.timedelta(days=6), today + dt.timedelta(days=1), "최근 7일")
    counts = (
        MessageLog.objects.filter(created_at__gte=day_start(start), created_at__lt=day_start(end))
        .values("channel")
        .annotate(
            questions=Count("id", filter=Q(message_type=MessageLog.MessageType.USER)),
            errors=Count("id", filter=Q(message_type=MessageLog.MessageType.ASSISTANT) & ~Q(error="")),
        )
        .order_by("-questions", "channel")
    )
    columns = ["채널", "질문 수", "오류 수"]
    rows = [[row["channel"], row["questions"], row["errors"]] for row in counts]
    if len(rows) > 1:
        rows.append(["합계", sum(row[1] for row in rows), sum(row[2] for row in rows)])
    last = end - dt.timedelta(days=1)
    days = start.isoformat() if start == last else f"{start.isoformat()} ~ {last.isoformat()}"
    sql = str(counts.query)
    note = f"기간: {label} ({days}), 메시지 로그에서 바로 센 값이에요."
    return SqlAnswer(
        ok=True,
        text=format_answer(columns, rows, truncated=False, sql=sql, note=note),
        sql=sql,
        rows=rows,
        columns=columns,
        outcome=Outcome.ANSWERED,
    )


def _failure(outcome: str, sql: str, error: str) -> SqlAnswer:
    text = {
        Outcome.REJECTED: "안전하지 않거나 허용되지 않은 조회라서 SQL로 답하지 않고 문서 검색(RAG)으로 답합니다.",
        Outcome.TIMEOUT: "조회 시간이 제한을 넘어 SQL로 답하지 못하고 문서 검색(RAG)으로 답합니다.",
    }.get(outcome, "SQL 조회에 실패해 문서 검색(RAG)으로 답합니다.")
    return SqlAnswer(ok=False, text=text, sql=sql, error=error[:1000], outcome=outcome)


def _llm_sql(message: str, row_limit: int) -> str:
    reply = get_llm().complete_json(_sql_messages(message, row_limit), temperature=0, max_tokens=800)
    sql = reply.get("sql") if isinstance(reply, dict) else None
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("the LLM wrote no SQL for this question")
    return sql


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


def format_answer(columns: list[str], rows: list[list], *, truncated: bool, sql: str, note: str = "") -> str:
    """Korean answer: a single value in a sentence, otherwise a small Markdown table (after `note`)."""
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
    if note:
        body = f"{note}\n\n{body}"
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
