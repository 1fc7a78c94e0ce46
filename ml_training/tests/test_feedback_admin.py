"""Recommendation feedback in the admin: each row names the shop the user acted on."""

import pytest

from chat.models import RecommendationLog
from chat.services.selections import record_click, record_selection
from chat.tests.dining_factories import make_menu, make_shop
from ml_training.tests.conftest import dining_turn

CHANGELIST = "/admin/ml_training/recommendationfeedback/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def clicked_and_selected(alice_client):
    """A recommendation of two shops: 라면집's card opened, 김밥천국 chosen."""
    kimbap = make_shop("김밥천국", category="분식", north_m=200)
    make_menu(kimbap, "참치김밥", 3500)
    ramen = make_shop("라면집", category="분식", north_m=350)
    make_menu(ramen, "신라면", 4000)
    log = RecommendationLog.objects.get(pk=dining_turn(alice_client)["session_info"]["recommendation_id"])
    record_click(log, shop_id=ramen.pk)
    record_selection(log, shop_id=kimbap.pk)
    return kimbap, ramen


def test_the_list_names_the_clicked_shop_and_the_selected_one(admin_client, clicked_and_selected):
    kimbap, ramen = clicked_and_selected

    page = admin_client.get(CHANGELIST).content.decode()

    assert f"라면집 (#{ramen.pk}, 클릭)" in page
    assert '<td class="field-acted_on_shop">김밥천국</td>' in page


def test_the_list_filters_clicks(admin_client, clicked_and_selected):
    response = admin_client.get(f"{CHANGELIST}?user_action__exact=clicked")

    assert [row.user_action for row in response.context["cl"].result_list] == ["clicked"]
