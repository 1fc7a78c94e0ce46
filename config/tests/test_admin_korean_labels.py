"""The admin speaks one language: Korean labels for models, fields, choices, filters, actions and messages,
and choice labels that the API and the importer accept (a category filter shows 한식)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from analytics.models import FAQCandidate
from chat.models import Conversation, Shop, UserCouponWallet
from chat.tests.dining_factories import give_coupon, make_chat_user, make_coupon, make_shop
from rag.models import Document

pytestmark = pytest.mark.django_db


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def action_messages(admin_client, model, action, objects) -> list[tuple[str, str]]:
    response = admin_client.post(
        admin_url(model, "changelist"), {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True
    )
    assert response.status_code == 200
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def test_the_shop_category_filter_shows_the_korean_category_the_api_accepts(admin_client):
    make_shop("건대한식", category="한식")

    response = admin_client.get(admin_url(Shop, "changelist"))

    category_filter = next(spec for spec in response.context["cl"].filter_specs if spec.title == "분류")
    displayed = [choice["display"] for choice in category_filter.choices(response.context["cl"])]
    assert "한식" in displayed and "Korean" not in displayed
    assert admin_client.get(admin_url(Shop, "changelist"), {"category__exact": "한식"}).context["cl"].result_count == 1


def test_the_shop_list_shows_korean_choice_labels_for_english_stored_values(admin_client):
    make_shop("건대분식", food_card="P", current_status="OPEN")

    page = admin_client.get(admin_url(Shop, "changelist")).content.decode()

    assert "부분사용가능" in page and "영업 중" in page


def test_a_dining_conversation_page_shows_korean_field_labels(admin_client):
    conversation = Conversation.objects.create(
        user=make_chat_user(),
        input_text="5천원으로 점심",
        response_text="건대분식 어때요?",
        extracted_intent="FOOD_REQUEST",
    )

    page = admin_client.get(admin_url(Conversation, "change", conversation.pk)).content.decode()

    for label in ("질문", "답변", "세션 ID", "의도", "처리 시간 (ms)", "사용자 전략"):
        assert f"{label}:</label>" in page
    assert "음식 요청" in page  # the intent's label, not FOOD_REQUEST
    assert "Input text" not in page and "Extracted intent" not in page


def test_cancelling_wallet_coupons_reports_in_korean(admin_client):
    entry = give_coupon(make_chat_user(), make_coupon("GIFT1000"))

    assert action_messages(admin_client, UserCouponWallet, "cancel_coupons", [entry]) == [
        ("success", "쿠폰 1장을 취소했습니다.")
    ]
    assert action_messages(admin_client, UserCouponWallet, "cancel_coupons", [entry]) == [
        ("warning", "선택한 쿠폰 중 사용 가능한 것이 없어 취소한 것이 없습니다.")
    ]


def test_closing_shops_for_today_reports_in_korean(admin_client):
    shops = [make_shop(), make_shop()]

    assert action_messages(admin_client, Shop, "mark_closed_today", shops) == [
        ("success", "가게 2곳을 내일까지 영업 종료로 표시했습니다.")
    ]


def test_queueing_a_re_embedding_reports_in_korean_and_the_document_page_reads_in_korean(admin_client):
    document = Document.objects.create(
        rag_key="handbook", rag_type="chatbot_shared", filename="규정.txt", content="내용", content_hash="0" * 64
    )

    messages = action_messages(admin_client, Document, "reembed", [document])
    page = admin_client.get(admin_url(Document, "change", document.pk)).content.decode()

    assert messages == [("success", "문서 1개의 다시 임베딩을 작업 대기열에 넣었습니다.")]
    assert "RAG 키:</label>" in page and "공유 문서 (chatbot_shared)" in page and "그래프 메타데이터" in page


def test_a_read_only_log_page_is_titled_view_in_korean(admin_client):
    conversation = Conversation.objects.create(input_text="안녕", response_text="안녕하세요")

    page = admin_client.get(admin_url(Conversation, "change", conversation.pk)).content.decode()

    assert "<h1>식사 대화 보기</h1>" in page and "식사 대화 보기 | 챗봇 플랫폼 관리</title>" in page
    assert "뷰 " not in page


def test_an_editable_page_and_the_history_page_are_titled_in_korean(admin_client):
    shop = make_shop("이력가게")

    change = admin_client.get(admin_url(Shop, "change", shop.pk)).content.decode()
    history = admin_client.get(admin_url(Shop, "history", shop.pk)).content.decode()

    assert "<h1>가게 변경</h1>" in change
    assert "변경 히스토리: 이력가게 (한식)" in history


def test_delete_selected_is_named_in_plain_korean_and_still_deletes(admin_client):
    shop = make_shop("지울가게")

    changelist = admin_client.get(admin_url(Shop, "changelist")).content.decode()
    confirm = admin_client.post(
        admin_url(Shop, "changelist"), {"action": "delete_selected", "_selected_action": [shop.pk]}
    )
    admin_client.post(
        admin_url(Shop, "changelist"), {"action": "delete_selected", "_selected_action": [shop.pk], "post": "yes"}
    )

    assert "선택한 가게 삭제" in changelist and "을/를 삭제합니다" not in changelist
    assert confirm.status_code == 200 and "지울가게" in confirm.content.decode()
    assert not Shop.objects.filter(pk=shop.pk).exists()


def test_accepting_faq_candidates_says_how_many_and_why_the_others_were_skipped(admin_client):
    new, applied = (
        FAQCandidate.objects.create(
            collection_name="handbook", channel="knowledge", representative=text, normalized=text, status=status
        )
        for text, status in (("환불 규정", "new"), ("휴가 규정", "applied"))
    )

    assert action_messages(admin_client, FAQCandidate, "accept", [new, applied]) == [
        ("success", "후보 1개를 채택했습니다. 1개는 새 후보가 아니라 건너뛰었습니다.")
    ]
    assert action_messages(admin_client, FAQCandidate, "accept", [new]) == [
        ("warning", "바뀐 후보가 없습니다. 1개는 새 후보가 아니라 건너뛰었습니다.")
    ]


def test_the_analytics_dashboard_reads_in_korean(admin_client):
    page = admin_client.get("/admin/analytics/dashboard/").content.decode()

    assert "<h1>분석 대시보드</h1>" in page and "기간" in page and "오늘 질문" in page
    assert "Queries today" not in page and ">Range<" not in page
