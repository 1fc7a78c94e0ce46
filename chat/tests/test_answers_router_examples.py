"""The staff SQL route on the README's own examples (issue 15): offline, every question a template can
answer goes to SQL with the filters it names; question counts are fresh from the message logs; an
uncovered statistics question says SQL cannot answer it offline; with an LLM the same questions go
through the LLM path (the loopback provider)."""

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from analytics.models import ChatStatistics, MessageLog
from analytics.services.statistics import day_start
from chat.models import RouteDecisionLog, Shop
from chat.services.router import OFFLINE_NO_TEMPLATE, question_period
from chat.tests.conftest import KNOWLEDGE_KEY
from chat.tests.router_support import catalogue  # noqa: F401  (fixture)

URL = "/api/v1/rag/chat"


def readme_router_examples() -> list[str]:
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Admin SQL|RAG router", 1)[1].split("\n## ", 1)[0]
    return re.findall(r'^- "(.+)"$', section, flags=re.MULTILINE)


README_EXAMPLES = readme_router_examples()


@pytest.fixture
def offline(settings):
    settings.LLM_BASE_URL = ""


def ask(client, message):
    response = client.post(URL, {"message": message, "rag_key": KNOWLEDGE_KEY}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def add_shop(name, category, food_card):
    return Shop.objects.create(
        shop_name=name, category=category, address_name="서울시 광진구", latitude=Decimal("37.54"),
        longitude=Decimal("127.07"), is_food_card_shop=food_card,
    )  # fmt: skip


def log_question(created_at, channel="dining", error=""):
    for message_type in ("user", "assistant"):
        MessageLog.objects.create(
            session_id="s", channel=channel, collection_name="dining", message_type=message_type,
            content="질문" if message_type == "user" else "답", error=error if message_type == "assistant" else "",
            created_at=created_at,
        )  # fmt: skip


def test_the_readme_lists_the_router_examples():
    assert len(README_EXAMPLES) >= 5


@pytest.mark.parametrize("question", README_EXAMPLES)
def test_every_readme_example_is_answered_by_sql_offline(question, staff_client, catalogue, knowledge_corpus, offline):  # noqa: F811
    body = ask(staff_client, question)

    assert body["route"] == "sql"
    assert body["sources"] == []
    assert "실행한 SQL" in body["answer"]


def test_shops_per_category_lists_each_category(staff_client, catalogue, knowledge_corpus, offline):  # noqa: F811
    body = ask(staff_client, "카테고리별 가게 수")

    assert "| 분식 | 2 |" in body["answer"] and "| 도시락/죽 | 1 |" in body["answer"]


def test_coupon_use_lists_issued_and_used(staff_client, catalogue, knowledge_corpus, offline):  # noqa: F811
    body = ask(staff_client, "쿠폰 발급/사용 현황")

    assert "| 웰컴 쿠폰 | 10 | 4 | 40 |" in body["answer"]


def test_the_category_and_meal_card_filters_are_honoured(staff_client, catalogue, knowledge_corpus, offline):  # noqa: F811
    add_shop("백반집", "한식", "Y")
    add_shop("국밥집", "한식", "P")
    add_shop("고깃집", "한식", "N")

    body = ask(staff_client, "급식카드 가능한 한식 가게는 몇 개야?")

    assert "한식, 급식카드 가능 가게 수 = 2" in body["answer"]
    assert "category = '한식'" in body["answer"]


def test_yesterdays_question_count_is_fresh_from_the_message_logs(staff_client, catalogue, offline):  # noqa: F811
    today = timezone.localdate()
    yesterday = day_start(today - dt.timedelta(days=1))
    ChatStatistics.objects.create(  # a stale rollup (e.g. demo data) must not be what is read
        period="day", period_start=yesterday, date=yesterday.date(), channel="dining", collection_name="dining",
        total_queries=999,
    )  # fmt: skip
    for minutes in (10, 20, 30):
        log_question(yesterday + dt.timedelta(minutes=minutes))
    log_question(yesterday + dt.timedelta(hours=2), channel="knowledge", error="timeout")
    log_question(day_start(today) + dt.timedelta(minutes=5))  # today: not yesterday

    body = ask(staff_client, "어제 질문이 몇 개였어?")

    assert body["route"] == "sql"
    assert "| dining | 3 | 0 |" in body["answer"]
    assert "| knowledge | 1 | 1 |" in body["answer"]
    assert "| 합계 | 4 | 1 |" in body["answer"]
    assert "999" not in body["answer"]
    assert f"기간: 어제 ({yesterday.date().isoformat()})" in body["answer"]
    assert MessageLog._meta.db_table in RouteDecisionLog.objects.get().sql  # the count that ran is logged


def test_an_uncovered_statistics_question_says_sql_cannot_answer_it_offline(staff_client, knowledge_corpus, offline):
    body = ask(staff_client, "가장 많이 추천된 메뉴 top 5 알려줘")

    assert body["route"] == "sql"
    assert body["answer"] == OFFLINE_NO_TEMPLATE
    assert body["sources"] == []


def test_a_documents_question_still_goes_to_the_documents_offline(staff_client, knowledge_corpus, offline):
    body = ask(staff_client, "환불은 며칠 안에 신청할 수 있어?")

    assert body["route"] == "rag"
    assert body["sources"][0]["filename"] == "refund.txt"


HOW_TO_QUESTIONS = ["쿠폰은 어디서 쓸 수 있어?", "식당 예약은 어떻게 해요?", "급식카드 가맹점 찾는 법"]


@pytest.mark.parametrize("question", HOW_TO_QUESTIONS)
def test_a_how_to_question_about_shops_or_coupons_is_not_a_template(question, staff_client, knowledge_corpus, offline):
    body = ask(staff_client, question)

    assert body["route"] == "rag"
    assert "실행한 SQL" not in body["answer"]


@pytest.mark.parametrize("question", ["카테고리별 가게 수", "쿠폰 발급/사용 현황", "어제 질문이 몇 개였어?"])
def test_with_an_llm_the_same_questions_go_through_the_llm(question, staff_client, catalogue, openai_server):  # noqa: F811
    def reply(request):
        system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
        if '"route"' in system:
            return json.dumps({"route": "sql", "reason": "집계 질문"}, ensure_ascii=False)
        return json.dumps({"sql": 'SELECT count(*) AS "LLM이 쓴 SQL" FROM shops'}, ensure_ascii=False)

    openai_server.chat_reply = reply

    body = ask(staff_client, question)

    assert body["route"] == "sql"
    assert "LLM이 쓴 SQL = 3" in body["answer"]
    systems = [r.json["messages"][0]["content"] for r in openai_server.requests_to("/chat/completions")]
    assert any('"route"' in system for system in systems) and any('"sql"' in system for system in systems)


@pytest.mark.parametrize(
    ("question", "first", "after_last", "label"),
    [
        ("어제 질문 수", -1, 0, "어제"),
        ("오늘 질문 수", 0, 1, "오늘"),
        ("최근 3일 질문 수", -2, 1, "최근 3일"),
        ("그저께 대화 수", -2, -1, "그저께"),
    ],
)
def test_date_ranges_in_the_question(question, first, after_last, label):
    today = dt.date(2026, 12, 1)
    day = dt.timedelta(days=1)

    assert question_period(question, today) == (today + first * day, today + after_last * day, label)


def test_weeks_and_months_in_the_question():
    tuesday = dt.date(2026, 12, 1)

    assert question_period("이번 주 질문 수", tuesday) == (dt.date(2026, 11, 30), dt.date(2026, 12, 2), "이번 주")
    assert question_period("지난주 질문 수", tuesday) == (dt.date(2026, 11, 23), dt.date(2026, 11, 30), "지난주")
    assert question_period("지난달 질문 수", tuesday) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1), "지난달")
    assert question_period("2026-11-05 질문 수", tuesday) == (dt.date(2026, 11, 5), dt.date(2026, 11, 6), "2026-11-05")
