"""The admin as staff see it, in a real headless Chromium at 1400 px."""

import pytest
from selenium.webdriver.common.by import By

from chat.models import Conversation, RecommendationLog
from chat.tests.dining_factories import make_card, make_chat_user, make_menu, make_shop

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from its own connections

LONG = "급식카드로 오늘 저녁에 친구 둘이랑 같이 먹을 수 있는 매운 떡볶이 곱빼기 되는 가게 알려줘 " * 3


@pytest.fixture
def dining_logs():
    shop = make_shop("건대분식")
    menu = make_menu(shop, "떡볶이", 4000)
    user = make_chat_user()
    card = make_card(user)
    card.card_number = "9410-1234-5678-4321"
    card.save()
    conversation = Conversation.objects.create(
        user=user, input_text=LONG, response_text=LONG, extracted_intent="FOOD_REQUEST", intent_confidence="0.910"
    )
    log = RecommendationLog.objects.create(
        user=user, conversation=conversation, session_id=conversation.session_id, request_intent="FOOD_REQUEST",
        recommendations=[{"shop_id": shop.pk, "shop_name": shop.shop_name, "score": 0.9, "ranking": 1,
                          "reason_codes": ["BUDGET_FIT"], "distance_meters": 120,
                          "menus": [{"menu_id": menu.pk, "name": "떡볶이", "price": 4000, "final_price": 3000}]}],
        recommendation_count=1, recommendation_method="HYBRID",
    )  # fmt: skip
    return {"card": card, "log": log}


def page_width(browser) -> int:
    return browser.execute_script("return document.documentElement.scrollWidth")


def test_the_index_shows_the_task_groups(admin_browser):
    admin_browser.open("/admin/")

    captions = [caption.text for caption in admin_browser.find_elements(By.CSS_SELECTOR, "#content-main caption")]
    assert captions[:5] == ["식사 도우미", "식사 도우미 기록", "지식 베이스", "파트너", "라우팅"]


@pytest.mark.parametrize(
    "path",
    ["/admin/chat/conversation/", "/admin/chat/recommendationlog/", "/admin/chat/shop/", "/admin/chat/chatuser/",
     "/admin/chat/foodcarduser/", "/admin/chat/usercouponwallet/", "/admin/analytics/messagelog/"],
)  # fmt: skip
def test_list_columns_fit_a_1400px_window(admin_browser, dining_logs, path):
    admin_browser.open(path)

    assert admin_browser.find_elements(By.ID, "result_list") or "0" in admin_browser.page_source
    assert page_width(admin_browser) <= 1400


def test_a_recommendation_log_shows_its_shops_as_a_table(admin_browser, dining_logs):
    admin_browser.open(f"/admin/chat/recommendationlog/{dining_logs['log'].pk}/change/")

    [row] = admin_browser.find_elements(By.CSS_SELECTOR, "table.recommended-shops tbody tr")
    assert "건대분식" in row.text and "3000원" in row.text and "BUDGET_FIT" in row.text


def test_a_meal_card_page_shows_the_number_masked(admin_browser, dining_logs):
    admin_browser.open(f"/admin/chat/foodcarduser/{dining_logs['card'].pk}/change/")

    text = admin_browser.find_element(By.TAG_NAME, "body").text
    assert "***************4321" in text and "1234-5678" not in admin_browser.page_source
