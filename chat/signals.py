"""Drop a chat user's cached context when their profile or meal card changes by any path that
saves a model (admin, services, imports). QuerySet.update() callers invalidate explicitly."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chat.models import FoodcardUser, UserProfile
from chat.services.user_context import invalidate_on_commit


@receiver([post_save, post_delete], sender=UserProfile, dispatch_uid="dining_profile_changed")
@receiver([post_save, post_delete], sender=FoodcardUser, dispatch_uid="dining_card_changed")
def drop_cached_user_context(sender, instance, **kwargs):
    invalidate_on_commit(instance.user_id)
