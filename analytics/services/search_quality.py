"""Search-quality report of one collection (seed 002 Phase 6): how well retrieval serves it.

Score distribution and no-answer share come from the rollups (as in the summary); the documents
cited come from the retrieved documents stored with each answer in the conversation histories;
documents never retrieved are the collection's shared and user documents that none of those name.
"""

from django.db import connection

from analytics.models import ConversationHistory
from analytics.services import reports

MOST_CITED = 20
NEVER_RETRIEVED = 100

_CITED = f"""
SELECT coalesce(doc ->> 'doc_id', '') AS doc_id, (doc ->> 'document_id') AS document_id,
       max(doc ->> 'filename') AS filename, count(*) AS times, avg((doc ->> 'score')::float) AS mean_score
FROM {ConversationHistory._meta.db_table} h
CROSS JOIN LATERAL jsonb_array_elements(h.messages) AS message
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(message -> 'retrieved_docs') = 'array' THEN message -> 'retrieved_docs' ELSE '[]' END
) AS doc
WHERE h.collection_name = %(collection)s AND h.updated_at >= %(start)s AND h.created_at < %(end)s
  AND message ->> 'role' = 'assistant' AND jsonb_typeof(doc) = 'object'
  AND (message ->> 'timestamp')::timestamptz >= %(start)s AND (message ->> 'timestamp')::timestamptz < %(end)s
GROUP BY 1, 2
ORDER BY times DESC, doc_id
"""


def search_quality(range_: reports.Range, *, collection: str) -> dict:
    from rag.models import Document  # the RAG app's documents of this collection

    summary = reports.summary(range_, collection=collection)
    with connection.cursor() as cursor:
        cursor.execute(_CITED, {"collection": collection, "start": range_.start, "end": range_.end})
        cited = [
            {"doc_id": doc_id, "document_id": int(document_id) if document_id else None, "filename": filename or "",
             "times": times, "mean_score": round(mean, 4) if mean is not None else None}
            for doc_id, document_id, filename, times, mean in cursor.fetchall()
        ]  # fmt: skip
    cited_ids = {row["document_id"] for row in cited if row["document_id"] is not None}
    never = (
        Document.objects.filter(rag_key=collection)
        .exclude(pk__in=cited_ids)
        .order_by("created_at")
        .values("id", "doc_id", "filename", "created_at")[:NEVER_RETRIEVED]
    )
    return {
        "range": range_.as_dict(),
        "collection": collection,
        "answers": summary["answers"],
        "no_answer_rate": summary["no_answer_rate"],
        "top_score": summary["top_score"],
        "most_cited": cited[:MOST_CITED],
        "never_retrieved": [{**row, "created_at": row["created_at"].isoformat()} for row in never],
    }
