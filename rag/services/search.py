"""Hybrid Korean search over one caller's visible chunks: pgvector cosine + Okapi BM25 in PostgreSQL.

    search(user=..., rag_key=..., rag_type="both", query="...") -> list[SearchHit]

Isolation: every query starts from `access.visible_chunks()` (plus metadata filters) and is compiled into
the SQL below, and the final rows are fetched through the same scope again.

Vector path (complete even for users with few chunks - pgvector 0.6 has no iterative index scan):
  * scope of at most EXACT_SCAN_MAX_ROWS chunks -> exact cosine scan of just those rows;
  * larger scopes -> HNSW with ef_search raised to an over-fetch sized by the scope's share of the table,
    post-filtered to the scope; if that still yields fewer rows than asked, the exact scan answers.

Text path: Okapi BM25 (k1, b) over the Kiwi-morpheme tsvector. N, the average length and each term's
document frequency come from the caller's own partitions (rag_scopestat / rag_termstat, kept exact by
triggers), so scores never depend on (or leak) other users' text (metadata filters narrow the rows, not
the statistics). Candidates come from the GIN index for
the rarer query terms; term frequencies from the tsvector positions; a MaxScore bound proves the top
`limit` exact or widens the candidates to the essential terms.

Scores are absolute: a chunk's score for a query depends only on the query, the chunk and the caller's
collection statistics, never on the other candidates, so scores compare across queries and a relevance
floor means the same thing for every question (chat/services/knowledge_chat.py, partner_chat.py):
  * vector: the cosine similarity, clamped to [0, 1];
  * text: BM25 / (the query's BM25 ceiling + a prior), the ceiling being sum(idf * (k1 + 1)) over the
    query's lexemes (a lexeme absent from the collection counts like its rarest, df = 1) and the prior
    BM25_PRIOR_TERMS such rarest lexemes: the share of the query a chunk explains, damped for queries
    with little lexical content, the same for a collection of 3 chunks or of 100,000;
  * hybrid: TEXT_WEIGHT * text + (1 - TEXT_WEIGHT) * vector over the union of both candidate lists (BM25
    candidates from the rarer query terms, bounded work; every vector candidate is BM25-scored too),
    mapped by a logistic calibration (HYBRID_CALIBRATION) to the probability that the chunk is the one
    that answers the question: 0.5 means as likely as not.
BM25_PRIOR_TERMS, TEXT_WEIGHT and HYBRID_CALIBRATION were fitted on the autorag_ko set with the local embedder
(`bench_retrieval`; `bench_no_answer --fit` refits the calibration, e.g. for another embedding model).
k1, b, the text weight and the calibration that goes with them are one `RankingParams` (default: the constants);
the rag trainer (ml_training) learns them per rag_key from feedback and the chats pass the served ones in.
Words that are only particles ("은 는 이 가") carry no topic and are dropped from the query.
"""

import math
import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext
from pgvector.django import CosineDistance

from rag.models import Chunk, RagType, ScopeStat, TermStat
from rag.services import cache
from rag.services.access import partition_keys, visible_chunks

MODES = ("hybrid", "vector", "text")
MAX_LIMIT = 50
MIN_CANDIDATES = 30
CANDIDATE_FACTOR = 4

BM25_K1 = 1.2
BM25_B = 0.75
SCORING_VERSION = 3  # part of the cache key: results cached under an older scoring (or hit shape) are never served
# Added to the query's BM25 ceiling, in lexemes as rare as any (df = 1): a query of a few common words
# cannot look like a perfect match.
BM25_PRIOR_TERMS = 0.6
TEXT_WEIGHT = 0.7
# Logistic (slope, intercept) from the fused score to P(the chunk answers the question).
HYBRID_CALIBRATION = (13.93, -6.08)
# A word made only of particles (josa) written on its own, e.g. "은", "를", "에서", "을를에서".
_PARTICLES_ONLY = re.compile(
    r"^(?:은|는|이|가|을|를|의|에|에서|에게|한테|께|도|만|로|으로|와|과|랑|이랑|하고|부터|까지|보다|처럼|요|이나|나)+$"
)

# The text path first scores chunks matching the query's rarer terms (summed df up to this many rows);
# the commoner terms still count in the scores, and the top `limit` are verified exact (MaxScore).
TEXT_CANDIDATE_ROWS = 1000
# In hybrid mode a query whose every term is common (each in more chunks than this) has little lexical
# signal: BM25 then only re-scores the vector candidates instead of scanning that many chunks.
HYBRID_TEXT_MAX_ROWS = 1500

EXACT_SCAN_MAX_ROWS = 2000
HNSW_MIN_EF = 64
HNSW_MAX_EF = 1000
HNSW_OVERFETCH = 1.5

FILTER_COLUMNS = ("source_type", "doc_schema", "event_type")


@dataclass(frozen=True)
class RankingParams:
    """The tunable part of hybrid ranking. `calibration` belongs to the text weight (and k1/b): the fused
    score's scale moves with them, so whoever changes them refits it (the rag trainer does, on AutoRAG)."""

    k1: float = BM25_K1
    b: float = BM25_B
    text_weight: float = TEXT_WEIGHT
    calibration: tuple[float, float] = HYBRID_CALIBRATION

    def as_dict(self) -> dict:
        return {"k1": self.k1, "b": self.b, "text_weight": self.text_weight, "calibration": list(self.calibration)}


DEFAULT_RANKING = RankingParams()


@dataclass(frozen=True)
class Scope:
    """What a caller may search: the chunk rows (isolation + filters) and their BM25 statistics partitions."""

    chunks: QuerySet[Chunk]
    rag_key: str
    partitions: tuple[int, ...]


def scope_for(*, user, rag_key: str, rag_type: str, filters: dict | None = None) -> Scope:
    chunks = apply_filters(visible_chunks(user=user, rag_key=rag_key, rag_type=rag_type), filters or {})
    return Scope(chunks.order_by(), rag_key, tuple(partition_keys(user=user, rag_type=rag_type)))


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
    morphemes: str = ""  # the chunk's stored Kiwi morphemes, for the relevance features (rag.services.relevance)


def search(
    *,
    user,
    rag_key: str,
    rag_type: str,
    query: str,
    limit: int = 5,
    filters: dict | None = None,
    mode: str = "hybrid",
    ranking: RankingParams = DEFAULT_RANKING,
) -> list[SearchHit]:
    """Best chunks for `query` that `user` may see (see the module docstring). Raises ValueError on bad input.

    rag_type: "user_isolated" | "chatbot_shared" | "both". `user` may be None/AnonymousUser/PartnerClient
    (then only shared chunks). filters: {"source_type": ..., "doc_schema": ..., "tags": [...], any other
    top-level metadata key: value}.
    """
    if mode not in MODES:
        raise ValueError(gettext("mode must be one of %(choices)s.") % {"choices": ", ".join(MODES)})
    limit = max(1, min(int(limit), MAX_LIMIT))
    query = topical_query(query or "")
    scope = scope_for(user=user, rag_key=rag_key, rag_type=rag_type, filters=filters)
    if not query:
        return []

    cache_key = None
    if rag_type == RagType.CHATBOT_SHARED:
        cache_key = cache.result_key(
            rag_key, query=query, limit=limit, filters=filters or {}, mode=mode, scoring=SCORING_VERSION,
            ranking=ranking.as_dict(),
        )
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    hits = run_search(scope, query, limit, mode, ranking=ranking)
    if cache_key is not None:
        cache.put(cache_key, hits)
    return hits


def topical_query(query: str) -> str:
    """The query without words that are only particles (nothing left: nothing to search for)."""
    return " ".join(word for word in query.split() if not _PARTICLES_ONLY.match(word))


def apply_filters(scope: QuerySet[Chunk], filters: dict) -> QuerySet[Chunk]:
    if not isinstance(filters, dict):
        raise ValueError(gettext("filters must be an object."))
    contains = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key:
            raise ValueError(gettext("filter names must be strings."))
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
            raise ValueError(
                gettext("filter %(name)s must be a string, number or list of them.") % {"name": repr(key)}
            )
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


def run_search(
    scope: Scope, query: str, limit: int, mode: str, *, query_vector=None, terms: list[str] | None = None,
    ranking: RankingParams = DEFAULT_RANKING,
) -> list[SearchHit]:
    """The search pipeline over a scope (no cache). query_vector / terms: precomputed (benchmarks, reuse)."""
    if scope.chunks.query.is_empty() or not scope.partitions:
        return []
    total, avgdl = collection_stats(scope)
    if not total:
        return []
    candidates = max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)
    if terms is None:
        terms = query_terms(query) if mode in ("hybrid", "text") else []

    vector_scores: dict[int, float] = {}
    if mode in ("hybrid", "vector"):
        vector = query_vector if query_vector is not None else embed_query(query)
        vector_scores = {
            cid: similarity(dist) for cid, dist in vector_candidates(scope.chunks, vector, candidates, total)
        }
    text_scores: dict[int, float] = {}
    if terms and mode in ("hybrid", "text"):
        frequencies = document_frequencies(scope, list(dict.fromkeys(terms)))
        ceiling = bm25_ceiling(terms, frequencies, total, ranking.k1)
        text_scores = {
            cid: text_relevance(score, ceiling)
            for cid, score in bm25_search(
                scope, terms, candidates, limit, total, avgdl, list(vector_scores),
                max_rows=HYBRID_TEXT_MAX_ROWS if mode == "hybrid" else None, exact=mode == "text",
                frequencies=frequencies, k1=ranking.k1, b=ranking.b,
            )
        }

    if mode == "vector":
        ranked = sorted(vector_scores.items(), key=lambda item: (-item[1], item[0]))
    elif mode == "text":
        ranked = sorted(text_scores.items(), key=lambda item: (-item[1], item[0]))
    else:
        missing = [cid for cid in text_scores if cid not in vector_scores]
        if missing:
            vector_scores.update({cid: similarity(dist) for cid, dist in distances(vector, missing)})
        ranked = fuse(vector_scores, text_scores, ranking)
    return _hits(scope.chunks, ranked[:limit])


def collection_stats(scope: Scope) -> tuple[int, float]:
    """N and the average chunk length (in morphemes) of the caller's partitions."""
    totals = ScopeStat.objects.filter(rag_key=scope.rag_key, owner_key__in=scope.partitions).aggregate(
        chunks=Sum("chunk_count"), tokens=Sum("token_total")
    )
    chunks = int(totals["chunks"] or 0)
    return chunks, (float(totals["tokens"] or 0) / chunks if chunks else 1.0)


def similarity(cosine_distance: float) -> float:
    """The vector score: cosine similarity, clamped to [0, 1] (an opposed vector is simply unrelated)."""
    return min(1.0, max(0.0, 1.0 - cosine_distance))


def bm25_ceiling(terms: list[str], frequencies: dict[str, int], total: int, k1: float = BM25_K1) -> float:
    """The highest BM25 any chunk could reach for these terms (every lexeme's tf part tends to k1 + 1)
    plus the prior; a lexeme the collection lacks counts like its rarest (df = 1), so unknown words lower
    every score."""
    unique = dict.fromkeys(terms)
    return (k1 + 1) * (
        sum(idf(total, frequencies.get(term, 1)) for term in unique) + BM25_PRIOR_TERMS * idf(total, 1)
    )


def text_relevance(bm25: float, ceiling: float) -> float:
    """The text score in [0, 1): BM25 as a share of the query's ceiling."""
    return bm25 / ceiling


def fuse(vector_scores: dict[int, float], text_scores: dict[int, float], ranking: RankingParams = DEFAULT_RANKING):
    """Fixed-weight combination of the absolute vector and text scores (a missing score counts as 0),
    calibrated to a probability (`calibrated`)."""
    weight = ranking.text_weight
    fused = {
        cid: calibrated(
            weight * text_scores.get(cid, 0.0) + (1.0 - weight) * vector_scores.get(cid, 0.0), ranking.calibration
        )
        for cid in set(vector_scores) | set(text_scores)
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def calibrated(fused: float, calibration: tuple[float, float] = HYBRID_CALIBRATION) -> float:
    slope, intercept = calibration
    return 1.0 / (1.0 + math.exp(-(slope * fused + intercept)))


def _hits(scope: QuerySet[Chunk], ranked: list[tuple[int, float]]) -> list[SearchHit]:
    if not ranked:
        return []
    # Fetched through the scope again: whatever produced the ids, nothing outside it is returned.
    rows = {
        chunk.pk: chunk
        for chunk in scope.filter(pk__in=[cid for cid, _ in ranked]).select_related("document").only(
            "id", "content", "rag_type", "chunk_index", "morphemes", "document__id", "document__doc_id",
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
            morphemes=rows[cid].morphemes,
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
    return queryset.order_by().query.sql_with_params()


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
                FROM {table} c ORDER BY distance LIMIT %s
            ) nearest
            WHERE nearest.id IN ({scope_sql})
            ORDER BY nearest.distance, nearest.id LIMIT %s
            """,
            (literal, fetch, *scope_params, k),
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
    """The query's lexemes, exactly as the stored tsvectors spell them (Kiwi morphemes -> to_tsvector),
    without question words ("어떻게 되나요"): they say nothing about the topic, and in a short question
    they would weigh down every chunk's share of the query."""
    from rag.providers import QUESTION_WORDS, kiwi_morphemes

    morphemes = " ".join(m for m in kiwi_morphemes(query) if m not in QUESTION_WORDS)
    if not morphemes:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT lexeme FROM unnest(to_tsvector('simple', %s))", (morphemes,))
        return [row[0] for row in cursor.fetchall()]


def _tsquery_literal(terms: list[str]) -> str:
    return " | ".join("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)


def document_frequencies(scope: Scope, terms: list[str]) -> dict[str, int]:
    rows = (
        TermStat.objects.filter(rag_key=scope.rag_key, owner_key__in=scope.partitions, lexeme__in=terms)
        .values("lexeme")
        .annotate(total=Sum("df"))
        .order_by()
    )
    return {row["lexeme"]: int(row["total"]) for row in rows if row["total"] > 0}


def idf(total: int, df: int) -> float:
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def bm25_search(
    scope: Scope,
    terms: list[str],
    k: int,
    exact_top: int,
    total: int,
    avgdl: float,
    also: list[int] = (),
    max_rows: int | None = None,
    exact: bool = True,
    frequencies: dict[str, int] | None = None,
    k1: float = BM25_K1,
    b: float = BM25_B,
) -> list[tuple[int, float]]:
    """Okapi BM25 over the scope: the best k chunks plus the scores of the `also` ids. IDF from the
    partitions' document frequencies (rag_termstat). exact=True guarantees the first `exact_top` (MaxScore);
    hybrid search passes exact=False: candidates then come from the rarer terms only (bounded work), the
    vector candidates being scored in any case. With max_rows, a query whose rarest term is in more chunks
    than that scores only the `also` ids. `frequencies`: the terms' document frequencies, if already read."""
    if frequencies is None:
        frequencies = document_frequencies(scope, list(dict.fromkeys(terms)))
    if not frequencies:
        return []  # no query term occurs in the scope
    weights = {term: idf(total, df) for term, df in frequencies.items()}
    if max_rows is not None and min(frequencies.values()) > max_rows:
        return bm25_candidates(scope, weights, [], 0, avgdl, also, k1=k1, b=b) if also else []
    # Candidates: chunks containing the rarest terms, up to TEXT_CANDIDATE_ROWS matches (at least one term).
    ordered = sorted(frequencies, key=lambda term: (frequencies[term], term))
    selective = selective_terms(frequencies)
    results = bm25_candidates(scope, weights, selective, k, avgdl, also, k1=k1, b=b)
    if len(selective) == len(ordered) or not exact:
        return results
    # MaxScore: with theta the exact_top-th best score so far, the commonest terms whose upper bounds
    # (idf * (k1 + 1)) sum below theta are non-essential - a chunk with only those cannot reach the top.
    # The top is exact once every essential term was a candidate term; otherwise score the essential ones.
    scores = sorted((score for _, score in results), reverse=True)
    theta = scores[exact_top - 1] if len(scores) >= exact_top else 0.0
    non_essential, bound = set(), 0.0
    for term in reversed(ordered):
        if bound + weights[term] * (k1 + 1) >= theta:
            break
        bound += weights[term] * (k1 + 1)
        non_essential.add(term)
    essential = [term for term in ordered if term not in non_essential]
    if not set(essential) <= set(selective):
        results = bm25_candidates(scope, weights, essential, k, avgdl, also, k1=k1, b=b)
    return results


def selective_terms(frequencies: dict[str, int]) -> list[str]:
    """The rarest terms (at least one) whose summed df stays within TEXT_CANDIDATE_ROWS: their chunks are the
    BM25 candidates."""
    ordered = sorted(frequencies, key=lambda term: (frequencies[term], term))
    selective, rows = [], 0
    for term in ordered:
        if selective and rows + frequencies[term] > TEXT_CANDIDATE_ROWS:
            break
        selective.append(term)
        rows += frequencies[term]
    return selective


def bm25_candidates(
    scope: Scope, weights: dict[str, float], match_terms: list[str], k: int, avgdl: float, also: list[int] = (),
    *, k1: float = BM25_K1, b: float = BM25_B,
) -> list[tuple[int, float]]:
    """BM25 scores (with the given IDF weights) of the chunks in scope containing any of match_terms:
    the best k, plus the scores of the `also` ids."""
    matched_sql, matched_params = _compiled(scope.chunks.values("id", "token_count", "search_vector"))
    lexemes = list(weights)
    sql = f"""
        WITH q(lexeme, idf) AS (SELECT * FROM unnest(%s::text[], %s::float8[])),
        matched AS MATERIALIZED (
            SELECT s.id, s.token_count, s.search_vector FROM ({matched_sql}) s
            WHERE (%s AND s.search_vector @@ %s::tsquery) OR s.id = ANY(%s)
        ),
        scored AS (
            SELECT m.id, sum(
                q.idf * t.tf * (%s + 1) / (t.tf + %s * (1 - %s + %s * m.token_count / %s))
            ) AS score
            FROM matched m
            CROSS JOIN LATERAL (
                -- only the query's lexemes: weight them A, keep the A entries (done in C, no full unnest)
                SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1)::float8 AS tf
                FROM unnest(ts_filter(setweight(m.search_vector, 'A', %s::text[]), '{{a}}')) u
            ) t
            JOIN q ON q.lexeme = t.lexeme
            GROUP BY m.id
        )
        (SELECT id, score FROM scored ORDER BY score DESC, id LIMIT %s)
        UNION
        (SELECT id, score FROM scored WHERE id = ANY(%s))
    """
    params = (
        lexemes, [weights[term] for term in lexemes],
        *matched_params, bool(match_terms), _tsquery_literal(match_terms or ["-"]), list(also),
        k1, k1, b, b, float(avgdl),
        lexemes,
        k, list(also),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
