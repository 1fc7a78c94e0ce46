"""The masker on its labelled corpus of Korean strings, and on the forms the issue names."""

import pytest
from django.utils import timezone

from chat.models import PartnerChatTuningLog
from chat.services.partner_chat import append_exchange, export_tuning_jsonl
from chat.tests.partner_helpers import partner_with_key
from ml_training.services.masking import evaluate_corpus, mask_data, mask_text


def test_the_corpus_has_at_least_60_strings_with_pii_and_60_without():
    report = evaluate_corpus()

    assert report.pii_strings >= 60
    assert report.clean_strings >= 60


def test_no_pii_is_left_in_any_corpus_string_and_false_masking_is_counted(capsys):
    report = evaluate_corpus()

    with capsys.disabled():
        print(
            f"\nmasking corpus: {report.pii_strings} PII strings, {len(report.pii_left)} with PII left; "
            f"{report.clean_strings} clean strings, {len(report.false_masks)} falsely masked"
        )
    assert report.pii_left == []
    assert len(report.false_masks) <= 3  # 5 %: a place or a title that only looks like an address or a name


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("010-1234-5678", "[PHONE]"),
        ("01012345678", "[PHONE]"),
        ("서울시 광진구 화양동 12-3", "[ADDRESS]"),
        ("김민수님", "[NAME]님"),
        ("1234 5678 9012 3456", "[CARD]"),
        ("1234-5678-9012-3456", "[CARD]"),
    ],
)
def test_the_forms_named_in_the_issue(text, masked):
    assert mask_text(text) == masked


def test_places_budgets_and_titles_are_kept():
    for text in ("강남역 근처 5천원 점심", "사장님이 친절해요", "12,000원 이하", "건대입구역 3번 출구"):
        assert mask_text(text) == text


def test_mask_data_masks_every_string_inside_json_and_keeps_the_rest():
    data = {"name": "김민수님", "items": [{"phone": "010-1234-5678", "count": 2}], "ok": True}

    assert mask_data(data) == {"name": "[NAME]님", "items": [{"phone": "[PHONE]", "count": 2}], "ok": True}


@pytest.mark.django_db
def test_the_partner_tuning_log_export_masks_personal_data_in_the_messages():
    partner, _ = partner_with_key("medilinx")
    PartnerChatTuningLog.objects.create(partner=partner, session_id="s-1")
    now = timezone.now()
    append_exchange(
        partner_id="medilinx",
        session_id="s-1",
        user_message="저는 김민수입니다. 010-1234-5678로 결과 보내 주세요",
        assistant_message="김민수님, 서울시 광진구 화양동 12-3 병원으로 오세요",
        asked_at=now,
        answered_at=now,
    )

    exported = "".join(export_tuning_jsonl(PartnerChatTuningLog.objects.all()))

    assert "김민수" not in exported and "010-1234-5678" not in exported and "화양동 12-3" not in exported
    assert "[NAME]" in exported and "[PHONE]" in exported and "[ADDRESS]" in exported
