import json

import pytest
from django.urls import reverse
from django.utils import timezone

from chat.models import PartnerChatTuningLog
from chat.services import partner_chat
from chat.tests.partner_helpers import partner_with_key

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:chat_partnerchattuninglog_changelist"


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    partner_with_key("medilinx")
    for session_id, question in [("s-1", "콜레스테롤 <b>수치</b>"), ("s-2", "혈압이 높나요?")]:
        partner_chat.warm_up(partner_id="medilinx", session_id=session_id, hospital_id="h-7", user_uuid="u-secret",
                             client_ip="10.0.0.1", initial_data={"health_data": "원문 검진 결과"})  # fmt: skip
        partner_chat.append_exchange(
            partner_id="medilinx", session_id=session_id, user_message=question,
            assistant_message="답변입니다.\n둘째 줄",
            asked_at=timezone.now(), answered_at=timezone.now(),
        )  # fmt: skip
    return client


def test_changelist_filters_by_partner_and_hospital(admin_browser):
    response = admin_browser.get(reverse(CHANGELIST), {"partner__partner_id__exact": "medilinx", "hospital_id": "h-7"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2


def test_search_finds_text_inside_the_conversation(admin_browser):
    response = admin_browser.get(reverse(CHANGELIST), {"q": "혈압"})

    assert [row.session_id for row in response.context["cl"].result_list] == ["s-2"]


def test_the_conversation_is_rendered_as_escaped_chat_bubbles(admin_browser):
    session = PartnerChatTuningLog.objects.get(session_id="s-1")

    page = admin_browser.get(reverse("admin:chat_partnerchattuninglog_change", args=[session.pk])).content.decode()

    assert page.count('class="chat-bubble chat-bubble--user"') == 1
    assert page.count('class="chat-bubble chat-bubble--assistant"') == 1
    assert "콜레스테롤 &lt;b&gt;수치&lt;/b&gt;" in page
    assert "답변입니다.<br>둘째 줄" in page
    assert ".chat-bubble--user" in page  # the stylesheet block of the change form template


def test_export_action_streams_one_jsonl_line_per_selected_session_without_personal_data(admin_browser):
    selected = PartnerChatTuningLog.objects.values_list("pk", flat=True)

    response = admin_browser.post(
        reverse(CHANGELIST), {"action": "export_tuning_jsonl", "_selected_action": [str(pk) for pk in selected]}
    )

    assert response["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content).decode()
    lines = [json.loads(line) for line in raw.splitlines()]
    assert sorted(line["session_id"] for line in lines) == ["s-1", "s-2"]
    assert lines[0]["messages"][1] == {"role": "assistant", "content": "답변입니다.\n둘째 줄"}
    assert "u-secret" not in raw and "10.0.0.1" not in raw and "원문 검진 결과" not in raw


def test_sessions_cannot_be_added_by_hand(admin_browser):
    assert admin_browser.get(reverse("admin:chat_partnerchattuninglog_add")).status_code == 403
