"""User context cache (seed 003 §6.3): served from Redis, dropped when the profile or an order changes."""

import pytest
from django.core.cache import cache

from chat.models import FoodcardUser, UserProfile
from chat.services.coupons import apply_coupon
from chat.services.profiles import learn_from_turn, update_preferences
from chat.services.user_context import build_user_context, get_user_context, user_context_key
from chat.tests.dining_factories import give_coupon, make_card, make_chat_user, make_coupon, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    user = make_chat_user(preferred_categories=["분식"], average_budget=5000)
    make_card(user, balance=10000)
    return user


def test_context_is_cached_in_redis(user, django_assert_num_queries):
    first = get_user_context(user)

    with django_assert_num_queries(0):
        second = get_user_context(user)

    assert first == second == build_user_context(user.pk)
    assert cache.get(user_context_key(user.pk))["profile"]["preferred_categories"] == ["분식"]


def test_a_context_not_cached_is_read_in_one_query(user, django_assert_num_queries):
    cache.delete(user_context_key(user.pk))

    with django_assert_num_queries(1):  # the user joined with its profile and meal card
        context = get_user_context(user)

    assert context["profile"]["preferred_categories"] == ["분식"]
    assert context["card"]["balance"] == 10000


def test_a_profile_save_drops_the_cached_context(user, django_capture_on_commit_callbacks):
    get_user_context(user)

    with django_capture_on_commit_callbacks(execute=True):
        profile = UserProfile.objects.get(user=user)
        profile.average_budget = 8000
        profile.save()

    assert cache.get(user_context_key(user.pk)) is None
    assert get_user_context(user)["profile"]["average_budget"] == 8000


def test_preferences_update_drops_the_cached_context(user, django_capture_on_commit_callbacks):
    get_user_context(user)

    with django_capture_on_commit_callbacks(execute=True):
        update_preferences(user, categories=["치킨"])

    assert get_user_context(user)["profile"]["preferred_categories"] == ["치킨"]


def test_an_order_drops_the_cached_context(user, django_capture_on_commit_callbacks):
    give_coupon(user, make_coupon("OFF1000"))
    assert get_user_context(user)["card"]["balance"] == 10000

    with django_capture_on_commit_callbacks(execute=True):
        apply_coupon(user=user, coupon_id="OFF1000", shop_id=make_shop().pk, order_amount=5000)

    assert get_user_context(user)["card"]["balance"] == 6000


def test_nothing_is_dropped_before_the_transaction_commits(user, django_capture_on_commit_callbacks):
    get_user_context(user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        FoodcardUser.objects.get(user=user).save()

    assert cache.get(user_context_key(user.pk)) is not None
    assert len(callbacks) == 1


def test_learning_from_a_stale_cached_profile_keeps_the_newer_profile(user):
    cached = get_user_context(user)["profile"]
    update_preferences(user, categories=["한식"])  # changes the profile after the context was cached

    changed = learn_from_turn(user, {"budget": 9000}, category="치킨", cached_profile=cached)

    profile = UserProfile.objects.get(user=user)
    assert changed
    assert profile.preferred_categories == ["치킨", "한식"]
    assert profile.average_budget == 6000  # 0.7 x 5000 + 0.3 x 9000 = 6200 -> 500-won steps
    assert profile.interaction_count == 1


def test_learning_with_a_fresh_cached_profile_is_a_single_update(user, django_assert_num_queries):
    cached = get_user_context(user)["profile"]

    with django_assert_num_queries(1):
        learn_from_turn(user, {"budget": 9000}, category="치킨", cached_profile=cached)

    assert UserProfile.objects.get(user=user).preferred_categories == ["치킨", "분식"]
