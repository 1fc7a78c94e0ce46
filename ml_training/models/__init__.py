"""Tables of the self-learning system (seed 003 §9.3-§9.9), split by domain:

- `queue`: the training-data queue (`data_queue`) and the RAG embedding queue;
- `feedback`: users' feedback on answers and the recommendation feedback;
- `labels`: NLU training data (labelled utterances, augmentation provenance);
- `registry`: training jobs, model versions and the monthly-partitioned performance metrics.

Tables are named `ml_training_<table>` (the app label), not kept in a PostgreSQL schema: see README.
"""

from ml_training.models.choices import (
    Channel,
    FeedbackVote,
    LabelSource,
    ModelType,
    QueueStatus,
    ReviewReason,
)
from ml_training.models.feedback import AnswerFeedback, RecommendationFeedback, UserAction, UserLearningData
from ml_training.models.labels import NluTrainingData
from ml_training.models.queue import (
    DataQueueItem,
    RagDocumentType,
    RagEmbeddingQueueItem,
    RagEmbeddingStatus,
    ReviewItem,
)
from ml_training.models.registry import (
    DeploymentStatus,
    ModelVersion,
    PerformanceMetric,
    TrainingJob,
    TrainingJobStatus,
    TriggeredBy,
)

__all__ = [
    "AnswerFeedback",
    "Channel",
    "DataQueueItem",
    "DeploymentStatus",
    "FeedbackVote",
    "LabelSource",
    "ModelType",
    "ModelVersion",
    "NluTrainingData",
    "PerformanceMetric",
    "QueueStatus",
    "RagDocumentType",
    "RagEmbeddingQueueItem",
    "RagEmbeddingStatus",
    "RecommendationFeedback",
    "ReviewItem",
    "ReviewReason",
    "TrainingJob",
    "TrainingJobStatus",
    "TriggeredBy",
    "UserAction",
    "UserLearningData",
]
