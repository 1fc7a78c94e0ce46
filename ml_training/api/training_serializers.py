"""Serializers of the staff training API: jobs with their progress, "train now", model versions."""

from rest_framework import serializers

from ml_training.models import ModelType, ModelVersion, TrainingJob


class TrainingJobSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.IntegerField(read_only=True, allow_null=True, help_text="null until the job ends")

    class Meta:
        model = TrainingJob
        fields = ["id", "job_name", "model_type", "status", "progress_percent", "log_tail", "triggered_by",
                  "created_by", "training_config", "data_count", "train_count", "validation_count", "test_count",
                  "scheduled_at", "start_time", "end_time", "duration_seconds", "error_message", "cancel_requested",
                  "model_version", "promotion", "metrics", "created_at"]  # fmt: skip
        read_only_fields = fields


class TrainNowSerializer(serializers.Serializer):
    model_type = serializers.ChoiceField(choices=ModelType.choices)
    training_config = serializers.JSONField(required=False, default=dict, help_text="Keys of the model type's config")


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "model_type", "version", "version_name", "base_model", "architecture", "training_job",
                  "training_data_stats", "performance_metrics", "is_active", "deployment_status", "ab_test_group",
                  "traffic_percentage", "model_path", "model_size_mb", "checksum", "created_at", "created_by",
                  "deployed_at", "deployed_by", "retired_at", "retired_by", "notes"]  # fmt: skip
        read_only_fields = fields
