"""The admin speaks one language: Korean labels for models, fields, choices, filters, actions and messages,
and choice labels that the API and the importer accept (a category filter shows 한식)."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, label_for_field, model_format_dict
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from analytics.models import FAQCandidate
from chat.models import Conversation, Shop, UserCouponWallet
from chat.tests.dining_factories import give_coupon, make_chat_user, make_coupon, make_shop
from ml_training.models import TrainingJob
from ml_training.services import jobs
from rag.models import Document

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("chat", "rag", "analytics", "ml_training", "config")
# Terms staff read as they are: a label without Hangul may hold only these words (and numbers or signs,
# like the confidence band "0.3-0.5").
TECHNICAL_TERMS = {"ID", "URL", "JSON", "API", "RAG", "SHA256", "A/B", "SQL", "FAQ"}


def reads_in_korean(label) -> bool:
    text = str(label)
    if re.search("[가-힣]", text):
        return True
    return all(word in TECHNICAL_TERMS for word in re.split(r"[\s(),:]+", text) if re.search("[A-Za-z]", word))


def project_models():
    return [model for label in PROJECT_APPS for model in apps.get_app_config(label).get_models()]


def project_model_admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in PROJECT_APPS]  # fmt: skip


@pytest.fixture
def staff_request(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


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


def test_every_model_field_and_choice_of_the_project_has_a_korean_label():
    not_korean = []
    for model in project_models():
        opts = model._meta
        not_korean += [f"{opts.label} {name!r}" for name in (opts.verbose_name, opts.verbose_name_plural)
                       if not reads_in_korean(name)]  # fmt: skip
        for field in opts.concrete_fields:
            if not reads_in_korean(field.verbose_name):
                not_korean.append(f"{opts.label}.{field.name} {field.verbose_name!r}")
            not_korean += [f"{opts.label}.{field.name} {value!r}: {label!r}" for value, label in field.flatchoices
                           if not reads_in_korean(label)]  # fmt: skip
    assert not_korean == [], "\n".join(not_korean)


def test_korean_valued_choices_are_labelled_with_their_own_value():
    """What the admin shows is what the API and the importer take (한식, 메인메뉴, 아동급식카드)."""
    for model in project_models():
        for field in model._meta.concrete_fields:
            for value, label in field.flatchoices:
                if re.search("[가-힣]", str(value)):
                    assert label == value, f"{model._meta.label}.{field.name}: {value!r} shown as {label!r}"


def test_every_admin_action_column_fieldset_and_form_label_reads_in_korean(staff_request):
    not_korean = []
    for model, model_admin in project_model_admins():
        where = model._meta.label
        for _, name, description in model_admin.get_actions(staff_request).values():
            text = description % model_format_dict(model._meta)
            not_korean += [] if reads_in_korean(text) else [f"{where} action {name}: {text!r}"]
        for column in model_admin.get_list_display(staff_request):
            label = label_for_field(column, model, model_admin)
            not_korean += [] if reads_in_korean(label) else [f"{where} column {column}: {label!r}"]
        fieldsets = model_admin.get_fieldsets(staff_request)
        form = model_admin.get_form(staff_request, fields=flatten_fieldsets(fieldsets))()
        not_korean += [f"{where} fieldset {title!r}" for title, _ in fieldsets if title and not reads_in_korean(title)]
        for name in flatten_fieldsets(fieldsets):
            in_form = form.fields.get(name) if isinstance(name, str) else None  # what the page shows for it
            label = in_form.label if in_form is not None else label_for_field(name, model, model_admin)
            not_korean += [] if reads_in_korean(label) else [f"{where} field {name}: {label!r}"]
    assert not_korean == [], "\n".join(not_korean)


def test_every_changelist_filter_title_and_option_reads_in_korean(admin_client):
    not_korean = []
    for model, _ in project_model_admins():
        response = admin_client.get(admin_url(model, "changelist"))
        if response.status_code != 200 or "cl" not in (response.context or {}):
            continue  # not a change list (the dashboard)
        changelist = response.context["cl"]
        for spec in changelist.filter_specs:
            not_korean += [] if reads_in_korean(spec.title) else [f"{model._meta.label} filter {spec.title!r}"]
            not_korean += [f"{model._meta.label} filter {spec.title}: {choice['display']!r}"
                           for choice in spec.choices(changelist)
                           if "display" in choice and not reads_in_korean(choice["display"])]  # fmt: skip
    assert not_korean == [], "\n".join(not_korean)


def test_cancelling_a_training_job_reports_in_korean(admin_client):
    job = jobs.schedule_job("nlu")

    assert action_messages(admin_client, TrainingJob, "cancel_jobs", [job]) == [
        ("success", f"{job.job_name}: 취소를 요청했습니다.")
    ]
