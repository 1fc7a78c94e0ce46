import pytest
from django.urls import reverse

from analytics.models import ChatStatistics, ConversationHistory, MessageLog
from analytics.services import statistics
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    exchange(user_message="<b>질문</b>")
    statistics.aggregate_previous_hour()
    return client


@pytest.mark.parametrize("model", [MessageLog, ConversationHistory, ChatStatistics])
def test_changelists_render_with_filters(admin_browser, model):
    url = reverse(f"admin:analytics_{model._meta.model_name}_changelist")

    assert admin_browser.get(url, {"q": "질문"}).status_code == 200


def test_conversation_page_shows_messages_escaped_and_cannot_be_edited(admin_browser):
    history = ConversationHistory.objects.get()

    response = admin_browser.get(reverse("admin:analytics_conversationhistory_change", args=[history.pk]))

    assert response.status_code == 200
    assert "&lt;b&gt;질문&lt;/b&gt;" in response.content.decode()
    assert b'name="_save"' not in response.content


def test_logs_cannot_be_added_by_hand(admin_browser):
    assert admin_browser.get(reverse("admin:analytics_messagelog_add")).status_code == 403
