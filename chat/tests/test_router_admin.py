"""Admin for routing decisions: staff can list, filter and search them, but nobody can add or edit one."""

import pytest
from django.urls import reverse

from chat.models import RouteDecisionLog

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:chat_routedecisionlog_changelist")


@pytest.fixture
def logs():
    return [
        RouteDecisionLog.objects.create(
            message="카테고리별 가게 수", route="sql", reason="집계", sql="SELECT 1", outcome="answered"
        ),
        RouteDecisionLog.objects.create(
            message="가게 지워줘", route="sql", reason="집계", sql="DELETE FROM shops", outcome="rejected"
        ),
        RouteDecisionLog.objects.create(message="환불 규정", route="rag", reason="문서 질문", outcome="rag"),
    ]


def test_changelist_shows_every_decision(admin_client, logs):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == len(logs)


def test_changelist_filters_by_outcome(admin_client, logs):
    response = admin_client.get(CHANGELIST, {"outcome__exact": "rejected"})

    assert [log.message for log in response.context["cl"].result_list] == ["가게 지워줘"]


def test_changelist_searches_inside_the_sql(admin_client, logs):
    response = admin_client.get(CHANGELIST, {"q": "DELETE FROM"})

    assert [log.outcome for log in response.context["cl"].result_list] == ["rejected"]


def test_decisions_cannot_be_added_or_edited(admin_client, logs):
    change_url = reverse("admin:chat_routedecisionlog_change", args=[logs[0].pk])

    assert admin_client.get(reverse("admin:chat_routedecisionlog_add")).status_code == 403
    admin_client.post(change_url, {"message": "changed", "route": "rag", "outcome": "rag"})

    logs[0].refresh_from_db()
    assert logs[0].message == "카테고리별 가게 수"
