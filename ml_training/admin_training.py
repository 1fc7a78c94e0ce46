"""Admin of training jobs ("Train now", progress, cancel) and of the model registry (activate, A/B at
N %, stop, roll back). Every action calls `services.jobs` / `services.registry`."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils import timezone

from config.admin_tools import pretty_json
from ml_training.models import ModelType, ModelVersion, TrainingJob
from ml_training.services import jobs, metrics, registry


class TrainNowForm(forms.ModelForm):
    """Staff's "Train now": the model type and the config as JSON, validated before any job exists."""

    training_config = forms.JSONField(
        required=False,
        initial=dict,
        label="학습 설정",
        help_text="JSON 객체; 모델 유형별 키: "
        + "; ".join(f"{model_type}: {', '.join(jobs.options_for(model_type))}" for model_type in jobs.TRAINERS),
    )

    class Meta:
        model = TrainingJob
        fields = ["model_type", "training_config"]

    def clean(self):
        cleaned = super().clean()
        model_type = cleaned.get("model_type") or ""
        try:
            cleaned["training_config"] = jobs.validate_config(model_type, cleaned.get("training_config") or {})
            jobs.ensure_none_unfinished(model_type)
        except (jobs.JobConfigError, jobs.JobError) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["job_name", "model_type", "status", "progress_percent", "last_log_line", "data_count",
                    "triggered_by", "promotion_decision", "start_time", "duration_seconds"]  # fmt: skip
    list_filter = ["model_type", "status", "triggered_by"]
    search_fields = ["job_name", "created_by"]
    actions = ["cancel_jobs"]
    readonly_fields = ["job_name", "model_type", "status", "progress_percent", "log", "triggered_by", "created_by",
                       "data_count", "train_count", "validation_count", "test_count", "start_time", "end_time",
                       "duration_seconds", "error_message", "promotion_pretty", "metrics_pretty", "model_version",
                       "model_path", "training_config"]  # fmt: skip

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TrainNowForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["model_type", "training_config"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        job = jobs.schedule_job(
            form.cleaned_data["model_type"],
            config=form.cleaned_data["training_config"],
            created_by=request.user.get_username(),
        )
        obj.pk, obj.job_name = job.pk, job.job_name

    @admin.action(description="선택한 작업 취소")
    def cancel_jobs(self, request, queryset):
        for job in queryset:
            try:
                jobs.cancel(job, by=request.user.get_username())
                self.message_user(request, f"{job}: 취소를 요청했습니다.", messages.SUCCESS)
            except jobs.JobError as exc:
                self.message_user(request, str(exc), messages.WARNING)

    @admin.display(description="로그")
    def last_log_line(self, job):
        return job.log_tail[-1] if job.log_tail else ""

    @admin.display(description="최근 로그")
    def log(self, job):
        return pretty_json(job.log_tail)

    @admin.display(description="게이트")
    def promotion_decision(self, job):
        return (job.promotion or {}).get("decision", "")

    @admin.display(description="승격 게이트")
    def promotion_pretty(self, job):
        return pretty_json(job.promotion)

    @admin.display(description="지표")
    def metrics_pretty(self, job):
        return pretty_json(job.metrics)


class ABShareForm(ActionForm):
    percentage = forms.DecimalField(
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        label="A/B 비율 (%)",
        help_text="A/B 시작에 쓰는 도전자 트래픽 비율",
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["model_type", "version", "is_active", "ab_test_group", "traffic_percentage",
                    "deployment_status", "frozen_macro_f1", "frozen_accuracy", "frozen_ndcg", "last_24h", "gate",
                    "deployed_at", "deployed_by", "retired_at"]  # fmt: skip
    list_filter = ["model_type", "is_active", "deployment_status", "ab_test_group"]
    ordering = ["model_type", "-is_active", "-ab_test_group", "-created_at"]  # champion, then challenger, on top
    search_fields = ["version", "version_name", "notes"]
    action_form = ABShareForm
    actions = ["activate", "start_ab", "stop_ab", "roll_back"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields] + ["metrics_pretty"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="고정 테스트 macro-F1")
    def frozen_macro_f1(self, version):
        return (version.performance_metrics.get("frozen_test") or {}).get("macro_f1")

    @admin.display(description="고정 테스트 정확도")
    def frozen_accuracy(self, version):
        return (version.performance_metrics.get("frozen_test") or {}).get("accuracy")

    @admin.display(description="고정 테스트 NDCG@5")
    def frozen_ndcg(self, version):
        return (version.performance_metrics.get("frozen_test") or {}).get("ndcg@5")

    @admin.display(description="최근 24시간 (요청 · 모델 지표)")
    def last_24h(self, version):
        if not (version.is_active or version.ab_test_group):
            return ""
        m = metrics.summary(version.model_type, version.pk, since=timezone.now() - metrics.RECENT)
        shown = [f"{key} {value:.3f}" for key, value in m.items() if key.endswith(("_rate", "_ratio", "confidence"))]
        return " · ".join([str(m["requests"]), *shown])

    @admin.display(description="게이트")
    def gate(self, version):
        promotion = (version.training_job.promotion or {}) if version.training_job_id else {}
        return f"{promotion.get('decision', '')}: {promotion.get('reason', '')}" if promotion else ""

    @admin.display(description="성능 지표")
    def metrics_pretty(self, version):
        return pretty_json(version.performance_metrics)

    def _one(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "버전을 정확히 하나만 선택하세요.", messages.ERROR)
            return None
        return queryset.get()

    def _run(self, request, action, *args):
        try:
            result = action(*args, by=request.user.get_username())
        except registry.RegistryError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if result:
            self.message_user(request, f"완료: {result}", messages.SUCCESS)
        else:
            self.message_user(request, "멈출 A/B 테스트가 없습니다.", messages.WARNING)

    @admin.action(description="활성화 (챔피언으로)")
    def activate(self, request, queryset):
        if version := self._one(request, queryset):
            self._run(request, registry.activate, version)

    @admin.action(description="입력한 비율(%%)로 A/B 시작")
    def start_ab(self, request, queryset):
        percentage = request.POST.get("percentage") or ""
        if version := self._one(request, queryset):
            if not percentage:
                self.message_user(request, "A/B 비율(%)을 입력하세요.", messages.ERROR)
                return
            self._run(request, registry.start_ab, version, percentage)

    @admin.action(description="선택한 버전의 모델 유형에서 A/B 테스트 중지")
    def stop_ab(self, request, queryset):
        for model_type in sorted(set(queryset.values_list("model_type", flat=True))):
            self._run(request, registry.stop_ab, model_type)

    @admin.action(description="이전 챔피언으로 되돌리기")
    def roll_back(self, request, queryset):
        for model_type in sorted(set(queryset.values_list("model_type", flat=True)) & set(ModelType.values)):
            self._run(request, registry.rollback, model_type)
