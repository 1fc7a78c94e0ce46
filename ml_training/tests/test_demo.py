from io import StringIO

import pytest
from django.urls import reverse

from chat import demo as chat_demo
from ml_training import demo
from ml_training.models import AnswerFeedback, DataQueueItem

pytestmark = pytest.mark.django_db


def test_the_demo_fills_the_review_queue_once(admin_client):
    chat_demo.load(StringIO())
    demo.load(StringIO())
    demo.load(StringIO())

    open_items = DataQueueItem.objects.open()
    assert {"low_confidence", "unknown_intent", "negative_feedback"} <= set(
        open_items.values_list("review_reason", flat=True)
    )
    assert AnswerFeedback.objects.count() == 3
    page = admin_client.get(reverse("admin:ml_training_reviewitem_changelist"))
    assert page.context["cl"].result_count == open_items.count() > 0
