"""Hybrid search re-scored in numpy: read a query's candidates once, rank them under any `RankingParams`.

`candidate_pool()` runs what `rag.services.search.run_search` (hybrid mode) runs that does not depend on
k1, b or the text weight - the vector top `candidates`, the chunks matching the query's rarer terms, the
collection statistics - and reads each candidate's length, query-term frequencies and cosine distance in
one SQL statement. `ranked_documents()` then reproduces the search's ranking for any parameters: BM25
with (k1, b) over the pooled chunks, the text candidates as the search takes them (its top `candidates`
among the matching chunks, plus the vector candidates), the fused score, ranks per document. So a grid
of hundreds of parameter sets costs one SQL read per query, not one search per query and set.
"""

from dataclasses import dataclass

import numpy as np
from django.db import connection
from sklearn.linear_model import LogisticRegression

from rag.services import search
from rag.services.search import RankingParams, Scope

# The calibration is fitted on the best candidates of each question, as `bench_no_answer --fit` does.
CALIBRATION_DEPTH = 20


@dataclass(frozen=True)
class CandidatePool:
    """One query's candidates and what BM25 and the fusion need about them (arrays aligned by row)."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    lengths: np.ndarray  # morphemes per chunk (token_count)
    tf: np.ndarray  # chunks x query lexemes present in the collection
    idf: np.ndarray  # per lexeme column
    vector: np.ndarray  # cosine similarity clamped to [0, 1]
    in_vector: np.ndarray  # among the search's vector candidates
    in_matched: np.ndarray  # contains one of the rarer terms (a BM25 candidate)
    avgdl: float
    ceiling_idf: float  # the query's BM25 ceiling divided by (k1 + 1): it scales with k1 only
    candidates: int  # how many candidates the search takes per path for this limit

    def text_scores(self, k1: float, b: float) -> np.ndarray:
        """`search.text_relevance` of every pooled chunk: BM25(k1, b) over the query's ceiling."""
        if not self.tf.shape[1]:
            return np.zeros(len(self.chunk_ids))
        norm = k1 * (1.0 - b + b * self.lengths / self.avgdl)
        bm25 = (self.tf * (k1 + 1.0) / (self.tf + norm[:, None])) @ self.idf
        return bm25 / ((k1 + 1.0) * self.ceiling_idf)

    def fused(self, params: RankingParams, text: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows the search would fuse, their uncalibrated fused scores) - `text` if already computed."""
        text = self.text_scores(params.k1, params.b) if text is None else text
        keep = self.in_vector.copy()
        matched = np.flatnonzero(self.in_matched)
        if len(matched):
            order = np.lexsort((self.chunk_ids[matched], -text[matched]))  # score DESC, id: the SQL's order
            keep[matched[order[: self.candidates]]] = True
        rows = np.flatnonzero(keep)
        weight = params.text_weight
        return rows, weight * text[rows] + (1.0 - weight) * self.vector[rows]

    def ranked_chunks(self, params: RankingParams, limit: int, text: np.ndarray | None = None) -> np.ndarray:
        """Row indices of the best `limit` chunks, best first (fused score desc, chunk id: the search's order)."""
        rows, fused = self.fused(params, text)
        order = np.lexsort((self.chunk_ids[rows], -fused))
        return rows[order[:limit]]

    def ranked_documents(self, params: RankingParams, limit: int, text: np.ndarray | None = None) -> list[int]:
        """Document ids of the best `limit` chunks, each document once at its first rank."""
        return list(dict.fromkeys(self.document_ids[self.ranked_chunks(params, limit, text)].tolist()))


def candidate_pool(scope: Scope, query: str, limit: int) -> CandidatePool | None:
    """The pool of `query` in `scope` for a search of `limit` results; None when nothing can be found."""
    query = search.topical_query(query or "")
    if not query or scope.chunks.query.is_empty() or not scope.partitions:
        return None
    total, avgdl = search.collection_stats(scope)
    if not total:
        return None
    candidates = max(limit * search.CANDIDATE_FACTOR, search.MIN_CANDIDATES)
    vector = search.embed_query(query)
    vector_ids = [cid for cid, _ in search.vector_candidates(scope.chunks, vector, candidates, total)]
    terms = search.query_terms(query)
    frequencies = search.document_frequencies(scope, list(dict.fromkeys(terms))) if terms else {}
    selective = []
    if frequencies and min(frequencies.values()) <= search.HYBRID_TEXT_MAX_ROWS:
        selective = search.selective_terms(frequencies)
    lexemes = sorted(frequencies)
    rows = _pool_rows(scope, vector, lexemes, selective, vector_ids)
    tf = np.zeros((len(rows), len(lexemes)))
    column = {lexeme: j for j, lexeme in enumerate(lexemes)}
    for i, row in enumerate(rows):
        for lexeme, count in zip(row[4] or [], row[5] or [], strict=True):
            tf[i, column[lexeme]] = count
    vector_set = set(vector_ids)
    unique_terms = list(dict.fromkeys(terms))
    ceiling_idf = sum(search.idf(total, frequencies.get(term, 1)) for term in unique_terms)
    return CandidatePool(
        chunk_ids=np.array([row[0] for row in rows], dtype=np.int64),
        document_ids=np.array([row[1] for row in rows], dtype=np.int64),
        lengths=np.array([float(row[2]) for row in rows]),
        tf=tf,
        idf=np.array([search.idf(total, frequencies[lexeme]) for lexeme in lexemes]),
        vector=np.array([search.similarity(float(row[3])) for row in rows]),
        in_vector=np.array([row[0] in vector_set for row in rows], dtype=bool),
        in_matched=np.array([bool(row[6]) for row in rows], dtype=bool),
        avgdl=float(avgdl),
        ceiling_idf=ceiling_idf + search.BM25_PRIOR_TERMS * search.idf(total, 1),
        candidates=candidates,
    )


def _pool_rows(scope: Scope, vector, lexemes: list[str], selective: list[str], vector_ids: list[int]) -> list:
    """(id, document_id, token_count, cosine distance, [lexeme], [tf], matches a rarer term) per candidate."""
    scope_sql, scope_params = search._compiled(
        scope.chunks.values("id", "document_id", "token_count", "search_vector", "embedding")
    )
    sql = f"""
        WITH pool AS MATERIALIZED (
            SELECT s.id, s.document_id, s.token_count, s.search_vector, s.embedding,
                   (%s AND s.search_vector @@ %s::tsquery) AS matched
            FROM ({scope_sql}) s
            WHERE (%s AND s.search_vector @@ %s::tsquery) OR s.id = ANY(%s)
        )
        SELECT p.id, p.document_id, p.token_count, p.embedding <=> %s::vector,
               t.lexemes, t.tfs, p.matched
        FROM pool p
        CROSS JOIN LATERAL (
            SELECT array_agg(u.lexeme) AS lexemes,
                   array_agg(coalesce(array_length(u.positions, 1), 1)::float8) AS tfs
            FROM unnest(ts_filter(setweight(p.search_vector, 'A', %s::text[]), '{{a}}')) u
        ) t
    """
    tsquery = search._tsquery_literal(selective or ["-"])
    params = (
        bool(selective), tsquery, *scope_params, bool(selective), tsquery, list(vector_ids),
        search._vector_literal(vector), lexemes,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- metrics --------------------------------------------------------------------------------------


def query_metrics(ranked: list[int], relevant, depth: int) -> dict[str, float]:
    """Reciprocal rank, NDCG and hit of one ranked document list (binary relevance) at `depth`."""
    ranked = ranked[:depth]
    positions = [i for i, document in enumerate(ranked, start=1) if document in relevant]
    ideal = sum(1.0 / np.log2(i + 1) for i in range(1, min(len(relevant), depth) + 1))
    return {
        "mrr": 1.0 / positions[0] if positions else 0.0,
        "ndcg": (sum(1.0 / np.log2(i + 1) for i in positions) / ideal) if ideal else 0.0,
        "hit_rate": 1.0 if positions else 0.0,
    }


def evaluate(labelled: list[tuple[CandidatePool | None, frozenset]], params_of, depth: int) -> dict[str, np.ndarray]:
    """Per-query metric arrays ({"mrr", "ndcg", "hit_rate"}) of `labelled` (pool, relevant documents) pairs,
    each ranked with `params_of(i)` (a query without a pool scores 0)."""
    per_query = {"mrr": [], "ndcg": [], "hit_rate": []}
    for i, (pool, relevant) in enumerate(labelled):
        ranked = pool.ranked_documents(params_of(i), depth) if pool is not None else []
        for name, value in query_metrics(ranked, relevant, depth).items():
            per_query[name].append(value)
    return {name: np.array(values) for name, values in per_query.items()}


def mean_metrics(per_query: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: round(float(values.mean()), 4) if len(values) else 0.0 for name, values in per_query.items()}


def fit_calibration(
    labelled: list[tuple[CandidatePool | None, frozenset]], params: RankingParams
) -> tuple[float, float]:
    """Logistic (slope, intercept) from the fused score under `params` to "this chunk's document is relevant",
    over the best CALIBRATION_DEPTH candidates of each query (labels must be complete: AutoRAG's are)."""
    scores, labels = [], []
    for pool, relevant in labelled:
        if pool is None:
            continue
        rows, fused = pool.fused(params)
        best = np.lexsort((pool.chunk_ids[rows], -fused))[:CALIBRATION_DEPTH]
        scores += fused[best].tolist()
        labels += [document in relevant for document in pool.document_ids[rows[best]].tolist()]
    if len(set(labels)) < 2:
        return params.calibration  # nothing to separate: keep what it had
    model = LogisticRegression(C=1e6, max_iter=1000).fit(np.array(scores)[:, None], np.array(labels, dtype=int))
    return round(float(model.coef_[0][0]), 2), round(float(model.intercept_[0]), 2)
