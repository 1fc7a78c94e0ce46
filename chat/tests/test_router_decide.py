"""`decide_route`: staff questions are routed by the LLM's JSON, everyone else goes to RAG without an LLM call."""

import pytest
from django.contrib.auth.models import AnonymousUser

from chat.models import RouteDecisionLog
from chat.services.router import decide_route
from chat.tests.router_support import llm_replies
from rag.tests.openai_server import openai_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="admin-kim", is_staff=True)  # no password: no hashing


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice")


def test_non_staff_user_goes_to_rag_without_calling_the_llm(alice, openai_server):  # noqa: F811
    decision = decide_route(user=alice, message="가게가 몇 개야?")

    assert decision.route == "rag"
    assert openai_server.requests == []


@pytest.mark.parametrize("user", [AnonymousUser(), None], ids=["anonymous", "none"])
def test_anonymous_caller_goes_to_rag_without_calling_the_llm(openai_server, user):  # noqa: F811
    assert decide_route(user=user, message="카테고리별 가게 수").route == "rag"
    assert openai_server.requests == []


def test_inactive_staff_account_goes_to_rag(staff, openai_server):  # noqa: F811
    staff.is_active = False
    staff.save()

    assert decide_route(user=staff, message="쿠폰 사용 건수").route == "rag"
    assert openai_server.requests == []


def test_staff_question_follows_the_llm_choice_of_sql(staff, openai_server):  # noqa: F811
    openai_server.chat_reply = llm_replies(route={"route": "sql", "reason": "쿠폰 사용 건수 집계"})

    decision = decide_route(user=staff, message="이번 달 쿠폰 사용 건수는?")

    assert (decision.route, decision.reason) == ("sql", "쿠폰 사용 건수 집계")
    (request,) = openai_server.requests_to("/chat/completions")
    assert request.json["messages"][-1] == {"role": "user", "content": "이번 달 쿠폰 사용 건수는?"}
    assert "coupons" in request.json["messages"][0]["content"]
    assert request.json["response_format"] == {"type": "json_object"}


def test_staff_question_follows_the_llm_choice_of_rag(staff, openai_server):  # noqa: F811
    openai_server.reply_json({"route": "rag", "reason": "정책 문서 질문"})

    decision = decide_route(user=staff, message="환불 규정이 뭐야?")

    assert (decision.route, decision.reason) == ("rag", "정책 문서 질문")


@pytest.mark.parametrize(
    "reply",
    [{"route": "graphql", "reason": "?"}, {"route": "sql"}, {"reason": "no route"}, {"route": ["sql"], "reason": "x"}],
)
def test_malformed_routing_reply_falls_back_to_rag(staff, openai_server, reply):  # noqa: F811
    openai_server.reply_json(reply)

    decision = decide_route(user=staff, message="가게 수")

    assert decision.route == "rag"
    log = RouteDecisionLog.objects.get(pk=decision.log_id)
    assert log.outcome == RouteDecisionLog.Outcome.FALLBACK
    assert "malformed" in log.error


def test_reply_without_json_falls_back_to_rag(staff, openai_server):  # noqa: F811
    openai_server.chat_reply = "SQL로 가는 게 좋겠어요"

    decision = decide_route(user=staff, message="가게 수")

    assert decision.route == "rag"
    assert RouteDecisionLog.objects.get(pk=decision.log_id).outcome == RouteDecisionLog.Outcome.FALLBACK


def test_provider_failure_falls_back_to_rag_and_records_the_error(staff, openai_server):  # noqa: F811
    openai_server.fail_next(5, status=503)

    decision = decide_route(user=staff, message="가게 수")

    assert decision.route == "rag"
    log = RouteDecisionLog.objects.get(pk=decision.log_id)
    assert (log.outcome, log.route) == (RouteDecisionLog.Outcome.FALLBACK, "rag")
    assert "503" in log.error


def test_every_decision_is_logged_with_user_route_reason_and_outcome(staff, alice, openai_server):  # noqa: F811
    openai_server.chat_reply = llm_replies(route={"route": "sql", "reason": "집계"})

    for_staff = decide_route(user=staff, message="가게 몇 개?")
    for_alice = decide_route(user=alice, message="가게 몇 개?")
    for_anonymous = decide_route(user=AnonymousUser(), message="안녕")

    logs = {log.pk: log for log in RouteDecisionLog.objects.all()}
    assert set(logs) == {for_staff.log_id, for_alice.log_id, for_anonymous.log_id}
    staff_log, alice_log, anonymous_log = logs[for_staff.log_id], logs[for_alice.log_id], logs[for_anonymous.log_id]
    assert (staff_log.user, staff_log.route, staff_log.reason, staff_log.outcome) == (staff, "sql", "집계", "pending")
    assert (alice_log.user, alice_log.route, alice_log.outcome) == (alice, "rag", "rag")
    assert (anonymous_log.user, anonymous_log.message, anonymous_log.route) == (None, "안녕", "rag")
    assert all(log.reason for log in logs.values())


def test_local_provider_routes_staff_aggregate_questions_to_sql(staff, settings):
    settings.LLM_BASE_URL = ""

    assert decide_route(user=staff, message="카테고리별 가게 수가 몇 개야?").route == "sql"
    assert decide_route(user=staff, message="회원가입은 어떻게 해?").route == "rag"
