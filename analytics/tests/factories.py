"""Helpers that write through the real logging service (no shortcuts around record_exchange)."""

from analytics.services.message_logs import flush_log_outbox, record_exchange


def exchange(*, flush: bool = True, **overrides) -> None:
    """Log one exchange; with `flush` also write it into the logs, as the worker's next flush would."""
    kwargs = {
        "channel": "knowledge",
        "collection_name": "handbook",
        "session_id": "session-1",
        "user_id": 7,
        "user_message": "연차는 며칠인가요?",
        "assistant_message": "연차는 15일입니다.",
        "llm_model": "local-extractive",
        "llm_params": {"temperature": 0.7, "max_tokens": 2000, "top_p": 0.9},
        "reasoning_level": "medium",
        "retrieval_info": {"query": "연차", "retrieved_count": 2, "reranking_used": False, "top_scores": [0.91, 0.84]},
        "performance": {"response_time_ms": 420, "token_count": 55, "retrieval_time_ms": 35},
        "retrieved_docs": [{"doc_id": "hr-1", "chunk_id": 3, "score": 0.91}],
    }
    kwargs.update(overrides)
    record_exchange(**kwargs)
    if flush:
        flush_log_outbox()
