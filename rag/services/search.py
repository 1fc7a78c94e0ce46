"""Hybrid Korean search over one caller's visible chunks: pgvector cosine + Okapi BM25 in PostgreSQL.

    search(user=..., rag_key=..., rag_type="both", query="...") -> list[SearchHit]

Isolation: every query starts from `access.visible_chunks()` (plus metadata filters) and is compiled into
the SQL below, and the final rows are fetched through the same scope again.

Vector path (complete even for users with few chunks - pgvector 0.6 has no iterative index scan):
  * scope of at most EXACT_SCAN_MAX_ROWS chunks -> exact cosine scan of just those rows;
  * larger scopes -> HNSW with ef_search raised to an over-fetch sized by the scope's share of the table,
    post-filtered to the scope; if that still yields fewer rows than asked, the exact scan answers.

Text path: Okapi BM25 (k1, b) over the Kiwi-morpheme tsvector. Candidates come from the GIN index
(`search_vector @@ term1 | term2 ...`); term frequencies from the tsvector positions; document frequencies,
N and the average length over the caller's scope, so scores never depend on (or leak) other users' text.

Hybrid: the union of both candidate lists gets both scores, each normalised to [0, 1] over the union, and
a convex combination ranks them (TEXT_WEIGHT tuned on rag/tests/data and the autorag_ko benchmark).
"""

import math
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Avg, Count, QuerySet
from pgvector.django import CosineDistance

from rag.models import Chunk, RagType
from rag.services import cache
from rag.services.access import visible_chunks

MODES = ("hybrid", "vector", "text")
MAX_LIMIT = 50
MIN_CANDIDATES = 30
CANDIDATE_FACTOR = 4

BM25_K1 = 1.2
BM25_B = 0.75
TEXT_WEIGHT = 0.7

EXACT_SCAN_MAX_ROWS = 5000
HNSW_MIN_EF = 80
HNSW_MAX_EF = 1000
HNSW_OVERFETCH = 1.5

FILTER_COLUMNS = ("source_type", "doc_schema", "event_type")


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    document_id: int
    doc_id: str
    filename: str
    content: str
    score: float
    rag_type: str
    metadata: dict = field(default_factory=dict)


def search(
    *,
    user,
    rag_key: str,
    rag_type: str,
    query: str,
    limit: int = 5,
    filters: dict | None = None,
    mode: str = "hybrid",
) -> list[SearchHit]:
    """Best chunks for `query` that `user` may see (see the module docstring). Raises ValueError on bad input.

    rag_type: "user_isolated" | "chatbot_shared" | "both". `user` may be None/AnonymousUser/PartnerClient
    (then only shared chunks). filters: {"source_type": ..., "doc_schema": ..., "tags": [...], any other
    top-level metadata key: value}.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    query = (query or "").strip()
    scope = apply_filters(visible_chunks(user=user, rag_key=rag_key, rag_type=rag_type), filters or {})
    if not query:
        return []

    cache_key = None
    if rag_type == RagType.CHATBOT_SHARED:
        cache_key = cache.result_key(rag_key, query=query, limit=limit, filters=filters or {}, mode=mode)
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    hits = run_search(scope, query, limit, mode)
    if cache_key is not None:
        cache.put(cache_key, hits)
    return hits


def apply_filters(scope: QuerySet[Chunk], filters: dict) -> QuerySet[Chunk]:
    if not isinstance(filters, dict):
        raise ValueError("filters must be an object")
    contains = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key:
            raise ValueError("filter names must be strings")
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
            raise ValueError(f"filter {key!r} must be a string, number or list of them")
        if key in FILTER_COLUMNS:
            scope = scope.filter(**{f"document__{key}": str(value)})
        elif key == "tags":
            contains["tags"] = value if isinstance(value, list) else [value]
        else:
            contains[key] = value
    if contains:
        scope = scope.filter(document__metadata__contains=contains)
    return scope


# --- the pipeline ---------------------------------------------------------------------------------


def run_search(scope: QuerySet[Chunk], query: str, limit: int, mode: str) -> list[SearchHit]:
    if scope.query.is_empty():
        return []
    stats = scope.aggregate(n=Count("id"), avgdl=Avg("token_count"))
    total = stats["n"]
    if not total:
        return []
    candidates = max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)
    terms = query_terms(query) if mode in ("hybrid", "text") else []

    vector_scores: dict[int, float] = {}
    if mode in ("hybrid", "vector"):
        vector = embed_query(query)
        vector_scores = {cid: 1.0 - dist for cid, dist in vector_candidates(scope, vector, candidates, total)}
    text_scores: dict[int, float] = {}
    if terms:
        text_scores = dict(bm25_candidates(scope, terms, candidates, total, stats["avgdl"] or 1.0, list(vector_scores)))

    if mode == "vector":
        ranked = sorted(vector_scores.items(), key=lambda item: (-item[1], item[0]))
    elif mode == "text":
        ranked = sorted(text_scores.items(), key=lambda item: (-item[1], item[0]))
    else:
        missing = [cid for cid in text_scores if cid not in vector_scores]
        if missing:
            vector_scores.update({cid: 1.0 - dist for cid, dist in distances(vector, missing)})
        ranked = fuse(vector_scores, text_scores)
    return _hits(scope, ranked[:limit])


def fuse(vector_scores: dict[int, float], text_scores: dict[int, float], text_weight: float | None = None):
    """Convex combination of min-max normalised cosine similarity and max-normalised BM25."""
    text_weight = TEXT_WEIGHT if text_weight is None else text_weight
    ids = set(vector_scores) | set(text_scores)
    if not ids:
        return []
    sims = [vector_scores.get(cid, 0.0) for cid in ids]
    low, high = min(sims), max(sims)
    spread = (high - low) or 1.0
    top_text = max(text_scores.values(), default=0.0) or 1.0
    weight = text_weight if text_scores else 0.0
    fused = {
        cid: weight * text_scores.get(cid, 0.0) / top_text
        + (1.0 - weight) * (vector_scores.get(cid, low) - low) / spread
        for cid in ids
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _hits(scope: QuerySet[Chunk], ranked: list[tuple[int, float]]) -> list[SearchHit]:
    if not ranked:
        return []
    # Fetched through the scope again: whatever produced the ids, nothing outside it is returned.
    rows = {
        chunk.pk: chunk
        for chunk in scope.filter(pk__in=[cid for cid, _ in ranked]).select_related("document").only(
            "id", "content", "rag_type", "chunk_index", "document__id", "document__doc_id",
            "document__filename", "document__metadata",
        )
    }
    return [
        SearchHit(
            chunk_id=cid,
            document_id=rows[cid].document.pk,
            doc_id=rows[cid].document.doc_id,
            filename=rows[cid].document.filename,
            content=rows[cid].content,
            score=round(float(score), 6),
            rag_type=rows[cid].rag_type,
            metadata={**rows[cid].document.metadata, "chunk_index": rows[cid].chunk_index},
        )
        for cid, score in ranked
        if cid in rows
    ]


# --- vector path ----------------------------------------------------------------------------------


def embed_query(query: str) -> list[float]:
    from rag.providers import get_embedder

    return get_embedder().embed([query])[0]


def _vector_literal(vector) -> str:
    return "[" + ",".join(repr(float(value)) for value in vector) + "]"


def _compiled(queryset: QuerySet) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def exact_vector_scan(scope: QuerySet[Chunk], vector, k: int) -> list[tuple[int, float]]:
    """Cosine distance of every chunk in scope (no index: the CTE is materialised), best k."""
    sql, params = _compiled(scope.annotate(distance=CosineDistance("embedding", vector)).values("id", "distance"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH scored AS MATERIALIZED ({sql}) SELECT id, distance FROM scored ORDER BY distance, id LIMIT %s",
            (*params, k),
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def hnsw_vector_scan(scope: QuerySet[Chunk], vector, k: int, fetch: int) -> list[tuple[int, float]]:
    """HNSW nearest `fetch` of the whole table, post-filtered to the scope (may return fewer than k)."""
    scope_sql, scope_params = _compiled(scope.values("id"))
    literal = _vector_literal(vector)
    table = Chunk._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(fetch, HNSW_MIN_EF)),))
        cursor.execute(
            f"""
            SELECT nearest.id, nearest.distance FROM (
                SELECT c.id, c.embedding <=> %s::vector AS distance
                FROM {table} c ORDER BY c.embedding <=> %s::vector LIMIT %s
            ) nearest
            WHERE nearest.id IN ({scope_sql})
            ORDER BY nearest.distance, nearest.id LIMIT %s
            """,
            (literal, literal, fetch, *scope_params, k),
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def table_rows_estimate() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", (Chunk._meta.db_table,))
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else 0


def vector_candidates(scope: QuerySet[Chunk], vector, k: int, scope_rows: int) -> list[tuple[int, float]]:
    """The k nearest chunks in scope, complete: exact for small scopes or when HNSW falls short."""
    if scope_rows <= EXACT_SCAN_MAX_ROWS:
        return exact_vector_scan(scope, vector, k)
    table_rows = max(table_rows_estimate(), scope_rows)
    fetch = math.ceil(k * HNSW_OVERFETCH * table_rows / scope_rows)
    if fetch <= HNSW_MAX_EF:
        found = hnsw_vector_scan(scope, vector, k, fetch)
        if len(found) >= min(k, scope_rows):
            return found
    return exact_vector_scan(scope, vector, k)


def distances(vector, chunk_ids: list[int]) -> list[tuple[int, float]]:
    rows = Chunk.objects.filter(pk__in=chunk_ids).annotate(distance=CosineDistance("embedding", vector))
    return [(cid, float(dist)) for cid, dist in rows.values_list("id", "distance")]


# --- text path (BM25) -----------------------------------------------------------------------------


def query_terms(query: str) -> list[str]:
    """The query's lexemes, exactly as the stored tsvectors spell them (Kiwi morphemes -> to_tsvector)."""
    from rag.providers import kiwi_morphemes

    morphemes = " ".join(kiwi_morphemes(query))
    if not morphemes:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT lexeme FROM unnest(to_tsvector('simple', %s))", (morphemes,))
        return [row[0] for row in cursor.fetchall()]


def _tsquery_literal(terms: list[str]) -> str:
    return " | ".join("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)


def bm25_candidates(
    scope: QuerySet[Chunk], terms: list[str], k: int, scope_rows: int, avgdl: float, also: list[int] = ()
) -> list[tuple[int, float]]:
    """Okapi BM25 of the best k chunks in scope matching any term (plus the scores of `also` ids)."""
    matched_sql, matched_params = _compiled(scope.values("id", "token_count", "search_vector"))
    sql = f"""
        WITH matched AS MATERIALIZED (
            SELECT * FROM ({matched_sql}) scope_rows WHERE scope_rows.search_vector @@ %s::tsquery
        ),
        tf AS (
            SELECT m.id, m.token_count, t.lexeme, coalesce(array_length(t.positions, 1), 1) AS tf
            FROM matched m CROSS JOIN LATERAL unnest(m.search_vector) t
            WHERE t.lexeme = ANY(%s)
        ),
        df AS (SELECT lexeme, count(*) AS df FROM tf GROUP BY lexeme),
        scored AS (
            SELECT tf.id, sum(
                ln(1 + (%s - df.df + 0.5) / (df.df + 0.5))
                * tf.tf * (%s + 1) / (tf.tf + %s * (1 - %s + %s * tf.token_count / %s))
            ) AS score
            FROM tf JOIN df USING (lexeme)
            GROUP BY tf.id
        )
        (SELECT id, score FROM scored ORDER BY score DESC, id LIMIT %s)
        UNION
        (SELECT id, score FROM scored WHERE id = ANY(%s))
    """
    params = (
        *matched_params, _tsquery_literal(terms), list(terms),
        float(scope_rows), BM25_K1, BM25_K1, BM25_B, BM25_B, float(avgdl),
        k, list(also),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
