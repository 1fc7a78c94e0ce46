import pytest
from django.urls import reverse

from analytics.models import ChatStatistics, ConversationHistory, FAQCandidate, LogOutboxRecord, MessageLog
from analytics.services import statistics
from analytics.services.message_logs import MAX_WRITE_ATTEMPTS, flush_log_outbox
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    exchange(user_message="<b>질문</b>")
    statistics.roll_up()
    return client


@pytest.mark.parametrize("model", [MessageLog, ConversationHistory, ChatStatistics, LogOutboxRecord, FAQCandidate])
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


def test_stuck_queued_records_are_listed_with_their_error_and_can_be_retried(admin_browser):
    exchange(session_id="x" * 300, flush=False)  # no write can take it
    for _ in range(MAX_WRITE_ATTEMPTS):
        flush_log_outbox()
    url = reverse("admin:analytics_logoutboxrecord_changelist")

    listing = admin_browser.get(url, {"state": "stuck"}).content.decode()
    assert "too long" in listing

    stuck = LogOutboxRecord.objects.get()
    admin_browser.post(url, {"action": "retry", "_selected_action": [stuck.pk]})
    stuck.refresh_from_db()
    assert (stuck.attempts, stuck.last_error) == (0, "")


def test_staff_apply_a_curated_answer_from_the_candidate_list(admin_browser):
    candidate = FAQCandidate.objects.create(
        collection_name="handbook", channel="knowledge", representative="VPN 접속이 안 돼요", normalized="vpn",
        curated_answer="포털에서 VPN을 다시 설치하세요.",
    )  # fmt: skip
    url = reverse("admin:analytics_faqcandidate_changelist")

    admin_browser.post(url, {"action": "apply_curated_answer", "_selected_action": [candidate.pk]})

    candidate.refresh_from_db()
    assert candidate.status == FAQCandidate.Status.APPLIED


def test_a_curated_answer_with_a_source_lacking_its_doc_id_is_refused_in_korean_and_the_others_apply(admin_browser):
    where = {"collection_name": "handbook", "channel": "knowledge", "curated_answer": "포털에서 VPN을 다시 설치하세요."}
    broken = FAQCandidate.objects.create(
        **where, representative="VPN 접속이 안 돼요", normalized="vpn", curated_sources=[{"document_id": 7}]
    )
    fine = FAQCandidate.objects.create(**where, representative="VPN 설치", normalized="vpn 설치")
    url = reverse("admin:analytics_faqcandidate_changelist")

    response = admin_browser.post(
        url, {"action": "apply_curated_answer", "_selected_action": [broken.pk, fine.pk]}, follow=True
    )

    shown = [str(message) for message in response.context["messages"]]
    assert f"후보 {broken.pk}: 큐레이션 출처에는 document_id와 doc_id가 필요합니다: {{'document_id': 7}}" in shown
    assert "후보 1개를 적용했습니다. 1개는 큐레이션 답변이 없거나 출처가 잘못되어 건너뛰었습니다." in shown
    assert dict(FAQCandidate.objects.values_list("pk", "status")) == {
        broken.pk: FAQCandidate.Status.NEW, fine.pk: FAQCandidate.Status.APPLIED
    }  # fmt: skip
