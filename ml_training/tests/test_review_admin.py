"""The review queue through the real admin (Django test client, staff session)."""

import pytest
from django.urls import reverse

from chat.models import Conversation
from ml_training.models import DataQueueItem, NluTrainingData
from ml_training.tests.conftest import dining_turn

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:ml_training_reviewitem_changelist")


@pytest.fixture
def queued(alice_client, kimbap):
    """A confident turn followed by a vague one in the same session: the vague one waits for review."""
    first = dining_turn(alice_client, "5천원으로 점심 뭐 먹지?")
    dining_turn(alice_client, "어", session_id=first["session_info"]["session_id"])
    return DataQueueItem.objects.open().get()


def test_the_queue_lists_open_items_highest_priority_first_with_their_context(admin_client, alice_client, queued):
    dining_turn(alice_client, "내일 비온대")  # UNKNOWN: priority 90, above the low-confidence 80

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    items = list(response.context["cl"].result_list)
    assert [item.review_reason for item in items] == ["unknown_intent", "low_confidence"]
    page = response.content.decode()
    assert "5천원으로 점심 뭐 먹지? (예산 문의)" in page  # the previous turn of the vague one
    assert "일반 대화 (0.23)" in page
    assert "5천원으로 점심 뭐 먹지?" in page and Conversation.objects.get(input_text="어").response_text[:20] in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("intent=GENERAL_CHAT", 1),
        ("intent=FOOD_REQUEST", 0),
        ("confidence=0.3-0.5", 0),
        ("confidence=%3C0.3", 1),
        ("channel__exact=dining", 1),
        ("channel__exact=knowledge", 0),
        ("feedback=negative", 0),
        ("feedback=none", 1),
        ("state=reviewed", 0),
    ],
)
def test_the_queue_filters(admin_client, queued, query, expected):
    response = admin_client.get(f"{CHANGELIST}?{query}")

    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_negative_feedback_is_shown_and_filterable(admin_client, alice_client, queued):
    conversation = Conversation.objects.get(input_text="어")
    alice_client.post(
        f"/api/v1/chat/turns/{conversation.pk}/feedback", {"vote": "down", "comment": "틀렸어"}, format="json"
    )

    response = admin_client.get(f"{CHANGELIST}?feedback=negative")

    assert response.context["cl"].result_count == 1
    assert "👎 “틀렸어”" in response.content.decode()


def test_correcting_an_intent_in_the_list_creates_a_corrected_training_row(admin_client, queued):
    response = admin_client.post(
        CHANGELIST,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(queued.pk),
            "form-0-label_intent": "FOOD_REQUEST",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    row = NluTrainingData.objects.get()
    assert (row.predicted_intent, row.true_intent, row.label_source) == ("GENERAL_CHAT", "FOOD_REQUEST", "corrected")
    assert (row.labeler_id, row.input_text, row.data_queue_id) == ("admin", "어", queued.pk)
    assert row.conversation_id == Conversation.objects.get(input_text="어").pk
    assert admin_client.get(CHANGELIST).context["cl"].result_count == 0  # reviewed items leave the queue


def test_the_change_form_corrects_intent_and_entities_together(admin_client, queued):
    url = reverse("admin:ml_training_reviewitem_change", args=[queued.pk])
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {"label_intent": "BUDGET_INQUIRY", "label_entities": '{"budget": 5000}'})

    assert response.status_code == 302
    row = NluTrainingData.objects.get()
    assert (row.true_intent, row.true_entities, row.label_source) == ("BUDGET_INQUIRY", {"budget": 5000}, "corrected")


def test_the_change_form_requires_an_intent(admin_client, queued):
    url = reverse("admin:ml_training_reviewitem_change", args=[queued.pk])

    response = admin_client.post(url, {"label_intent": "", "label_entities": ""})

    assert response.status_code == 200
    assert "정답 의도를 고르세요." in response.content.decode()
    assert not NluTrainingData.objects.exists()


def test_bulk_confirm_verifies_the_predictions(admin_client, alice_client, queued):
    dining_turn(alice_client, "내일 비온대")
    ids = list(DataQueueItem.objects.open().values_list("pk", flat=True))

    response = admin_client.post(CHANGELIST, {"action": "confirm_predictions", "_selected_action": ids})

    assert response.status_code == 302
    rows = NluTrainingData.objects.filter(is_augmented=False).order_by("predicted_intent")
    assert [(r.predicted_intent, r.true_intent, r.label_source) for r in rows] == [
        ("GENERAL_CHAT", "GENERAL_CHAT", "verified"),
        ("UNKNOWN", "UNKNOWN", "verified"),
    ]


def test_labelling_twice_keeps_one_row(admin_client, queued):
    from ml_training.services.review import label_item

    user = queued.user.auth_user
    first = label_item(queued.pk, intent="FOOD_REQUEST", entities=None, reviewer=user)
    second = label_item(queued.pk, intent="GENERAL_CHAT", entities=None, reviewer=user)

    assert first.pk == second.pk
    assert NluTrainingData.objects.count() == 1


def test_a_label_is_augmented_with_provenance(admin_client, alice_client, db):
    dining_turn(alice_client, "내일 비온대")
    item = DataQueueItem.objects.open().get()

    admin_client.post(CHANGELIST, {"action": "confirm_predictions", "_selected_action": [item.pk]})

    original = NluTrainingData.objects.get(is_augmented=False)
    variant = NluTrainingData.objects.get(is_augmented=True)
    assert (variant.input_text, variant.augmentation_method) == ("내일비온대", "spacing")
    assert (variant.original_data_id, variant.true_intent) == (original.pk, "UNKNOWN")
