"""`answer_with_sql`: LLM-written SQL -> guard -> read-only run -> Korean table; anything else falls back to RAG."""

import pytest
from django.db.models import Count

from chat.models import Coupon, RouteDecisionLog, Shop
from chat.services.router import RouteDecision, answer_with_sql, decide_route, schema_description
from chat.tests.hostile_sql import HOSTILE_SQL
from chat.tests.router_support import catalogue, database_state, llm_replies  # noqa: F401  (fixture)
from chat.tests.test_sql_guard import reader_role  # noqa: F401  (fixture)
from rag.tests.openai_server import openai_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
Outcome = RouteDecisionLog.Outcome
SHOPS_PER_CATEGORY = 'SELECT category AS "카테고리", count(*) AS "가게 수" FROM shops GROUP BY 1 ORDER BY 2 DESC, 1'


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="admin-kim", is_staff=True)  # no password: no hashing


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice")


def ask(openai_server, user, message, sql, **limits):  # noqa: F811
    """One full pass: the stub LLM routes to SQL and writes `sql`; returns (answer, its log row)."""
    openai_server.chat_reply = llm_replies(sql=sql)
    decision = decide_route(user=user, message=message)
    answer = answer_with_sql(user=user, message=message, decision=decision, **limits)
    return answer, RouteDecisionLog.objects.get(pk=decision.log_id)


def shops_per_category() -> list[list]:
    counts = Shop.objects.values("category").annotate(n=Count("id")).order_by("-n", "category")
    return [[row["category"], row["n"]] for row in counts]


def test_staff_question_is_answered_from_the_database(catalogue, staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "카테고리별 가게 수 알려줘", SHOPS_PER_CATEGORY)

    assert answer.ok
    assert answer.columns == ["카테고리", "가게 수"]
    assert answer.rows == shops_per_category()
    first_category, first_count = answer.rows[0]
    assert f"| {first_category} | {first_count} |" in answer.text
    assert (log.outcome, log.sql, log.error) == (Outcome.ANSWERED, SHOPS_PER_CATEGORY, "")


def test_single_value_is_answered_in_a_sentence(catalogue, staff, openai_server):  # noqa: F811
    answer, _ = ask(openai_server, staff, "가게 몇 개야?", 'SELECT count(*) AS "가게 수" FROM shops')

    assert answer.ok
    assert f"가게 수 = {Shop.objects.count()}" in answer.text


def test_rows_are_json_safe(catalogue, staff, openai_server):  # noqa: F811
    sql = "SELECT id, discount_rate, valid_until FROM coupons ORDER BY id"

    answer, _ = ask(openai_server, staff, "쿠폰 할인율", sql)


    coupon = Coupon.objects.get(id="FOODCARD20")
    assert answer.rows[0] == [coupon.id, float(coupon.discount_rate), coupon.valid_until.isoformat()]


def test_sql_prompt_describes_only_allow_listed_tables(catalogue, staff, openai_server):  # noqa: F811
    ask(openai_server, staff, "가게 수", "SELECT count(*) FROM shops")

    sql_request = openai_server.requests_to("/chat/completions")[-1]
    system = sql_request.json["messages"][0]["content"]
    assert "shops(" in system and "shop_name" in system and "total_used" in system
    assert "users(" not in system and "phone_number" not in system


@pytest.mark.parametrize("hostile", HOSTILE_SQL)
def test_hostile_sql_from_the_llm_falls_back_to_rag_and_changes_nothing(
    catalogue, reader_role, staff, openai_server, hostile  # noqa: F811
):
    openai_server.chat_reply = llm_replies(sql=hostile)
    before = database_state()

    answer = answer_with_sql(user=staff, message="가게 통계 보여줘", decision=RouteDecision("sql", "집계 질문"))
    log = RouteDecisionLog.objects.get()

    assert not answer.ok
    assert "RAG" in answer.text
    expected = Outcome.REJECTED if hostile.strip() else Outcome.ERROR  # a blank reply is "no SQL written"
    assert (answer.outcome, log.outcome) == (expected, expected)
    assert log.sql == (hostile.replace("\x00", "\\x00") if hostile.strip() else "")  # NUL logged escaped
    assert database_state() == before


def test_heavy_query_times_out_and_falls_back(staff, openai_server):  # noqa: F811
    heavy = "SELECT count(*) FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b"

    answer, log = ask(openai_server, staff, "큰 집계", heavy, timeout_ms=200)

    assert not answer.ok
    assert (answer.outcome, log.outcome) == (Outcome.TIMEOUT, Outcome.TIMEOUT)
    assert log.duration_ms >= 200


def test_row_cap_limits_the_answer(staff, openai_server):  # noqa: F811
    sql = "SELECT g FROM generate_series(1, 1000) g ORDER BY g"

    answer, _ = ask(openai_server, staff, "숫자 목록", sql, row_limit=50)


    assert answer.ok
    assert answer.rows == [[n] for n in range(1, 51)]
    assert answer.truncated
    assert "50행 이상" in answer.text


def test_database_error_falls_back(catalogue, staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "가게 수", "SELECT count(*) / 0 FROM shops")

    assert not answer.ok
    assert log.outcome == Outcome.ERROR
    assert "division by zero" in log.error


def test_unknown_column_is_rejected_before_the_database(catalogue, staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "가게 수", "SELECT no_such_column FROM shops")

    assert not answer.ok
    assert log.outcome == Outcome.REJECTED
    assert "no_such_column" in log.error


def test_llm_that_writes_no_sql_falls_back(staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "가게 수", "")

    assert not answer.ok
    assert log.outcome == Outcome.ERROR


def test_provider_failure_while_writing_sql_falls_back(staff, openai_server):  # noqa: F811
    openai_server.chat_reply = llm_replies()
    decision = decide_route(user=staff, message="가게 수")
    openai_server.fail_next(5, status=500)

    answer = answer_with_sql(user=staff, message="가게 수", decision=decision)

    assert not answer.ok
    assert RouteDecisionLog.objects.get(pk=decision.log_id).outcome == Outcome.ERROR


def test_non_staff_cannot_use_the_sql_route_even_with_a_forged_decision(catalogue, alice, openai_server):  # noqa: F811
    answer = answer_with_sql(user=alice, message="가게 수", decision=RouteDecision(route="sql", reason="forged"))

    assert not answer.ok
    assert answer.outcome == Outcome.REJECTED
    assert openai_server.requests == []
    assert RouteDecisionLog.objects.get().outcome == Outcome.REJECTED


def test_rag_decision_is_not_answered_by_sql(staff, openai_server):  # noqa: F811
    answer = answer_with_sql(user=staff, message="환불 규정", decision=RouteDecision(route="rag", reason="문서"))

    assert not answer.ok
    assert openai_server.requests == []


def test_decision_and_answer_share_one_log_row(catalogue, staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "카테고리별 가게 수", SHOPS_PER_CATEGORY)

    assert RouteDecisionLog.objects.count() == 1
    assert (log.route, log.reason, log.outcome) == ("sql", "집계 질문", Outcome.ANSWERED)


def test_answer_for_a_decision_made_elsewhere_is_logged(catalogue, staff, openai_server):  # noqa: F811
    openai_server.chat_reply = llm_replies(sql=SHOPS_PER_CATEGORY)

    answer_with_sql(user=staff, message="카테고리별 가게 수", decision=RouteDecision(route="sql", reason="직접 지정"))

    log = RouteDecisionLog.objects.get()
    assert (log.user, log.route, log.reason, log.outcome) == (staff, "sql", "직접 지정", Outcome.ANSWERED)


# --- offline default: the local provider cannot write SQL, fixed templates answer common questions -----


@pytest.fixture
def local_llm(settings):
    settings.LLM_BASE_URL = ""


def test_offline_template_answers_shops_per_category(catalogue, staff, local_llm):  # noqa: F811
    answer = answer_with_sql(user=staff, message="카테고리별 가게 수 알려줘", decision=RouteDecision("sql", "집계"))

    assert answer.ok
    assert answer.rows == shops_per_category()


def test_offline_template_answers_coupon_issue_and_use(catalogue, staff, local_llm):  # noqa: F811
    answer = answer_with_sql(user=staff, message="쿠폰 발급/사용 현황", decision=RouteDecision("sql", "집계"))

    assert answer.ok
    expected = [
        [c.coupon_name, c.total_issued, c.total_used] for c in Coupon.objects.order_by("-total_issued", "coupon_name")
    ]
    assert [row[:3] for row in answer.rows] == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("착한가게 몇 개야?", lambda: Shop.objects.filter(is_good_influence_shop=True).count()),
        ("가게 몇 개 있어?", lambda: Shop.objects.count()),
    ],
)
def test_offline_template_answers_counts(catalogue, staff, local_llm, question, expected):  # noqa: F811
    answer = answer_with_sql(user=staff, message=question, decision=RouteDecision("sql", "집계"))

    assert answer.rows == [[expected()]]


@pytest.mark.parametrize("question", ["급식카드 가맹점 수", "메뉴 평균 가격", "영업 상태별 가게", "채팅 질문 수 통계"])
def test_every_offline_template_runs_on_the_real_tables(catalogue, staff, local_llm, question):  # noqa: F811
    answer = answer_with_sql(user=staff, message=question, decision=RouteDecision("sql", "집계"))

    assert answer.ok, answer.error


def test_offline_question_without_a_template_falls_back(staff, local_llm):
    answer = answer_with_sql(user=staff, message="오늘 날씨 어때?", decision=RouteDecision("sql", "?"))

    assert not answer.ok
    assert answer.outcome == Outcome.ERROR


def test_a_value_too_large_to_fetch_is_answered_with_a_note_of_its_size(staff, openai_server):  # noqa: F811
    answer, log = ask(openai_server, staff, "긴 문자열", "SELECT lpad('', 5000000, 'x') AS big")

    assert answer.ok
    assert answer.rows == [["[5,000,000 bytes: too large to show]"]]
    assert log.outcome == Outcome.ANSWERED


def test_the_sql_prompt_does_not_offer_hidden_columns():
    schema = schema_description()

    assert "chat_statistics(" in schema
    assert "top_queries" not in schema
    assert "created_by" not in schema
