"""Staff training API: list and follow jobs (phase, percent, log tail), "train now", cancel, and the
model registry's versions. Validation and state rules live in `services.jobs`."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.exceptions import ApiError
from config.api.permissions import IsStaff
from config.api.schema import error_responses
from ml_training.api.training_filters import ModelVersionFilterSet, TrainingJobFilterSet
from ml_training.api.training_serializers import ModelVersionSerializer, TrainingJobSerializer, TrainNowSerializer
from ml_training.models import ModelVersion, TrainingJob
from ml_training.services import jobs


class TrainingJobListView(generics.ListAPIView):
    """Staff: training jobs, newest first."""

    permission_classes = [IsStaff]
    serializer_class = TrainingJobSerializer
    filterset_class = TrainingJobFilterSet
    queryset = TrainingJob.objects.order_by("-created_at", "-id")

    @extend_schema(
        summary="Start a training job now (staff)",
        request=TrainNowSerializer,
        responses={
            201: TrainingJobSerializer,
            **error_responses(**{"409": "`job_conflict`: a job of this model type is already scheduled or running."}),
        },
    )
    def post(self, request):
        body = TrainNowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = jobs.schedule_job(
                body.validated_data["model_type"],
                config=body.validated_data["training_config"],
                created_by=request.user.get_username(),
            )
        except jobs.JobConfigError as exc:
            raise ApiError("invalid_training_config", str(exc)) from exc
        except jobs.JobError as exc:
            raise ApiError("job_conflict", str(exc), status.HTTP_409_CONFLICT) from exc
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)


class TrainingJobDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = TrainingJobSerializer
    queryset = TrainingJob.objects.all()


class TrainingJobCancelView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Cancel a training job (staff)",
        request=None,
        responses={200: TrainingJobSerializer, **error_responses(**{"409": "`job_finished`: it already ended."})},
    )
    def post(self, request, pk: int):
        job = generics.get_object_or_404(TrainingJob, pk=pk)
        try:
            job = jobs.cancel(job, by=request.user.get_username())
        except jobs.JobError as exc:
            raise ApiError("job_finished", str(exc), status.HTTP_409_CONFLICT) from exc
        return Response(TrainingJobSerializer(job).data)


class ModelVersionListView(generics.ListAPIView):
    """Staff: the model registry's versions."""

    permission_classes = [IsStaff]
    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilterSet
    queryset = ModelVersion.objects.order_by("model_type", "-created_at", "-id")
