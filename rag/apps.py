from django.apps import AppConfig


class RagConfig(AppConfig):
    """Documents, chunks in pgvector, ingestion, hybrid search and model providers."""

    name = "rag"
    verbose_name = "RAG 지식 베이스"
