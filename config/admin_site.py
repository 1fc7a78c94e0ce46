"""The admin index grouped by what staff do (dining, its logs, knowledge base, partners, …), not by Python app."""

from fnmatch import fnmatch

from django.contrib import admin
from django.contrib.admin import actions
from django.contrib.admin.apps import AdminConfig

from config.admin_tools import RefusingAdmin

# (group key, title, model patterns "app_label.ModelName" with * wildcards); first match wins.
ADMIN_GROUPS: list[tuple[str, str, list[str]]] = [
    ("dining", "식사 도우미", [
        "chat.Shop", "chat.Menu", "chat.Coupon", "chat.UserCouponWallet",
        "chat.ChatUser", "chat.FoodcardUser", "chat.UserProfile",
    ]),
    ("dining_logs", "식사 도우미 기록", ["chat.Conversation", "chat.RecommendationLog", "chat.PerformanceLog"]),
    ("knowledge", "지식 베이스", ["rag.*", "chat.KnowledgeConversation", "chat.KnowledgeMessage"]),
    ("partners", "파트너", ["chat.Partner*"]),
    ("routing", "라우팅", ["chat.RouteDecisionLog"]),
    ("analytics", "분석", ["analytics.*"]),
    ("ml_training", "ML 학습", ["ml_training.*"]),
    ("schedules", "스케줄", ["django_celery_beat.*"]),
    ("accounts", "계정", ["auth.*", "config.*"]),
]


def group_of(app_label: str, object_name: str) -> str | None:
    name = f"{app_label}.{object_name}"
    for key, _, patterns in ADMIN_GROUPS:
        if any(fnmatch(name, pattern) for pattern in patterns):
            return key
    return None


@admin.action(permissions=["delete"], description="선택한 %(verbose_name_plural)s 삭제")
def delete_selected(modeladmin, request, queryset):
    """Django's delete action under a name that reads right (its Korean one is "선택된 가게 을/를 삭제합니다.")."""
    return actions.delete_selected(modeladmin, request, queryset)


class ProjectAdminSite(admin.AdminSite):
    site_header = "챗봇 플랫폼 관리"
    site_title = "챗봇 플랫폼 관리"
    index_title = "업무별 메뉴"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._actions["delete_selected"] = self._global_actions["delete_selected"] = delete_selected

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin registered here, third-party ones too (django_celery_beat's), refuses filter values
        it cannot use instead of answering 500 (`RefusingAdmin`); Django subclasses the same way for `options`.
        RefusingAdmin comes after the admin's own class, so an admin's own get_changelist still wins."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, RefusingAdmin):
            bases, namespace = (admin_class, RefusingAdmin), {"__module__": admin_class.__module__}
            admin_class = type(admin_class.__name__, bases, namespace)
        super().register(model_or_iterable, admin_class, **options)

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list  # an app's own index page stays that app's
        groups = {key: [] for key, _, _ in ADMIN_GROUPS}
        ungrouped = []
        for app in app_list:
            for model in app["models"]:
                key = group_of(app["app_label"], model["object_name"])
                (groups[key] if key else ungrouped).append((app, model))
        grouped = [self._group(key, title, groups[key]) for key, title, _ in ADMIN_GROUPS if groups[key]]
        return grouped + [self._group(app["app_label"], app["name"], [(app, m)]) for app, m in ungrouped]

    @staticmethod
    def _group(key: str, title: str, members: list[tuple[dict, dict]]) -> dict:
        first_app = members[0][0]
        return {
            "name": title,
            "app_label": key,
            "app_url": first_app["app_url"],
            "has_module_perms": True,
            "models": [model for _, model in members],
        }


class ProjectAdminConfig(AdminConfig):
    """django.contrib.admin, with ProjectAdminSite as `admin.site`."""

    default_site = "config.admin_site.ProjectAdminSite"
