"""Hand-written joined rows come back as complete model instances (config.joined_rows)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import ChatUser, FoodcardUser, UserProfile
from config.joined_rows import columns, instances


def joined_row(user_id: int) -> tuple:
    sql = (
        f"SELECT {columns(ChatUser, 'u')}, {columns(UserProfile, 'p')}, {columns(FoodcardUser, 'f')} "
        "FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id LEFT JOIN foodcard_users f ON f.user_id = u.id "
        "WHERE u.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        return cursor.fetchone()


def test_every_concrete_field_is_loaded_and_converted(db):
    user = ChatUser.objects.create(external_user_id="joined-1", nickname="가람")
    UserProfile.objects.create(user=user, taste_preferences={"매운맛": 0.8}, preferred_categories=["한식"])

    chat_user, profile, _ = instances(joined_row(user.pk), ChatUser, UserProfile, FoodcardUser)

    assert chat_user.pk == user.pk and chat_user.nickname == "가람"
    assert profile.taste_preferences == {"매운맛": 0.8}  # the JSON field's converter ran (jsonb arrives as text)
    assert profile.preferred_categories == ["한식"]
    with CaptureQueriesContext(connection) as queries:
        [getattr(profile, field.attname) for field in UserProfile._meta.concrete_fields]
    assert len(queries) == 0  # nothing deferred, nothing loaded lazily


def test_a_left_join_that_found_nothing_gives_none(db):
    user = ChatUser.objects.create(external_user_id="joined-2")

    chat_user, profile, card = instances(joined_row(user.pk), ChatUser, UserProfile, FoodcardUser)

    assert chat_user.pk == user.pk and profile is None and card is None


def test_instances_are_saved_as_existing_rows(db):
    user = ChatUser.objects.create(external_user_id="joined-3")
    [chat_user, *_] = instances(joined_row(user.pk), ChatUser, UserProfile, FoodcardUser)

    chat_user.nickname = "바뀜"
    chat_user.save(update_fields=["nickname"])

    assert ChatUser.objects.count() == 1 and ChatUser.objects.get().nickname == "바뀜"
