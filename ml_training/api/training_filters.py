"""FilterSets of the staff training API."""

import django_filters

from config.api.filters import BooleanFilter, FilterSet
from ml_training.models import DeploymentStatus, ModelType, ModelVersion, TrainingJob, TrainingJobStatus, TriggeredBy


class TrainingJobFilterSet(FilterSet):
    model_type = django_filters.ChoiceFilter(choices=ModelType.choices)
    status = django_filters.ChoiceFilter(choices=TrainingJobStatus.choices)
    triggered_by = django_filters.ChoiceFilter(choices=TriggeredBy.choices)

    class Meta:
        model = TrainingJob
        fields = ["model_type", "status", "triggered_by"]


class ModelVersionFilterSet(FilterSet):
    model_type = django_filters.ChoiceFilter(choices=ModelType.choices)
    deployment_status = django_filters.ChoiceFilter(choices=DeploymentStatus.choices)
    is_active = BooleanFilter()

    class Meta:
        model = ModelVersion
        fields = ["model_type", "deployment_status", "is_active"]
