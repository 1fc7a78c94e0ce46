"""Search speed at scale, in a throw-away database: `python manage.py bench_search [--chunks 100000]`.

1. Pipeline ingest: Korean documents through the real pipeline (sentence chunking, Kiwi, the configured
   embedder, the chunk swap) -> chunks/s.
2. Bulk load: N synthetic chunks (Zipf-distributed Hangul vocabulary; unit vectors from a 32-dimensional
   Gaussian mixture projected to the column size, like real embeddings' low intrinsic dimension) by
   binary COPY, then the GIN and HNSW indexes are built -> chunks/s and index build time.
3. Search latency (the uncached pipeline, `run_search`): hybrid / vector / text p50 and p95 over the whole
   shared scope, and hybrid for a user with few documents.
4. HNSW vs exact scan: mean time and recall@10 of the HNSW path against the exact scan.

The database `bench_rag_<pid>` is created on the same server, migrated (auth + rag) and dropped at the end
(config.benchmarks.throwaway_database).
"""

import math
import statistics
import time

import numpy as np
from django.core.management.base import BaseCommand
from django.db import connections
from django.utils import timezone

from config.benchmarks import percentile, throwaway_database
from rag.models import Chunk, Document, RagType
from rag.services import ingest, search

RAG_KEY = "bench"
WORDS_PER_CHUNK = 60
VOCABULARY = 50_000
CLUSTERS = 2_000
# Synthetic embeddings with the low intrinsic dimension of real text embeddings: points of a Gaussian
# mixture in LATENT_DIMENSIONS, randomly projected to the column size, plus a little full-rank noise.
LATENT_DIMENSIONS = 32
CHUNKS_PER_DOCUMENT = 100

SENTENCES = [
    "급식카드는 편의점과 분식집에서 사용할 수 있습니다.",
    "학교 앞 김밥집은 저녁 9시까지 영업합니다.",
    "방학 중에는 급식 지원금이 추가로 충전됩니다.",
    "알레르기가 있는 학생은 대체 식단을 신청할 수 있습니다.",
    "잔액은 앱에서 실시간으로 확인할 수 있습니다.",
    "신규 가입자에게 할인 쿠폰이 지급됩니다.",
    "친구와 함께 식사할 때는 각자 카드로 결제합니다.",
    "영양 균형을 위해 채소가 포함된 메뉴를 고르세요.",
]


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


class Command(BaseCommand):
    help = "Ingest throughput, hybrid search p50/p95 and HNSW-vs-exact speed/recall at 100k chunks."

    def add_arguments(self, parser):
        parser.add_argument("--chunks", type=int, default=100_000)
        parser.add_argument("--queries", type=int, default=200)
        parser.add_argument("--exact-queries", type=int, default=40)
        parser.add_argument("--pipeline-documents", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        self.rng = np.random.default_rng(options["seed"])
        with throwaway_database("bench_rag", apps=("auth", "rag"), stdout=self.stdout):
            self.pipeline_ingest(options["pipeline_documents"])
            self.bulk_load(options["chunks"])
            self.latency(options["queries"])
            self.hnsw_vs_exact(options["exact_queries"])

    # --- 1. the real pipeline --------------------------------------------------------------------

    def pipeline_ingest(self, documents: int) -> None:
        texts = [
            " ".join(SENTENCES[int(i)] for i in self.rng.integers(0, len(SENTENCES), size=40)) + f" 문서번호 {n}."
            for n in range(documents)
        ]
        ids = [
            Document.objects.create(
                rag_key="pipeline", rag_type=RagType.CHATBOT_SHARED, filename=f"doc{n}.txt", content=text,
                content_hash=ingest.content_hash(text),
            ).pk
            for n, text in enumerate(texts)
        ]
        ingest.embed_texts(["워밍업 문장"])  # load Kiwi and the embedder outside the measurement
        started = time.perf_counter()
        for document_id in ids:
            ingest.process_document(document_id, extract_graph=False)
        elapsed = time.perf_counter() - started
        chunks = Chunk.objects.filter(rag_key="pipeline").count()
        self.stdout.write(
            f"pipeline ingest (chunk + Kiwi + embed + insert): {chunks} chunks in {elapsed:.1f}s "
            f"= {chunks / elapsed:.0f} chunks/s"
        )
        Document.objects.filter(rag_key="pipeline").delete()

    # --- 2. bulk load ----------------------------------------------------------------------------

    def _vocabulary(self) -> list[str]:
        syllables = self.rng.integers(0xAC00, 0xD7A4, size=(VOCABULARY, 3))
        lengths = self.rng.integers(2, 4, size=VOCABULARY)
        return ["".join(chr(c) for c in row[:length]) + str(i % 7) for i, (row, length) in
                enumerate(zip(syllables, lengths, strict=True))]

    def bulk_load(self, total: int) -> None:
        from pgvector.psycopg import register_vector

        self.words = np.array(self._vocabulary())
        ranks = np.arange(1, VOCABULARY + 1)
        self.word_p = (1.0 / ranks) / (1.0 / ranks).sum()
        dimensions = Chunk._meta.get_field("embedding").dimensions
        self.centroids = self.rng.standard_normal((CLUSTERS, LATENT_DIMENSIONS)).astype(np.float32)
        self.projection = (
            self.rng.standard_normal((LATENT_DIMENSIONS, dimensions)) / math.sqrt(LATENT_DIMENSIONS)
        ).astype(np.float32)

        users = self._users(50)
        user_chunks = 5 * 2 * len(users)
        shared_chunks = max(total - user_chunks, CHUNKS_PER_DOCUMENT)
        plan = [(None, CHUNKS_PER_DOCUMENT)] * (shared_chunks // CHUNKS_PER_DOCUMENT)
        plan += [(user, 5) for user in users for _ in range(2)]
        documents = Document.objects.bulk_create(
            Document(
                owner=owner, rag_key=RAG_KEY,
                rag_type=RagType.USER_ISOLATED if owner else RagType.CHATBOT_SHARED,
                filename=f"synthetic-{n}", content="synthetic", content_hash=str(n), status="ready",
            )
            for n, (owner, _) in enumerate(plan)
        )

        connection = connections["default"]
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX rag_chunk_embedding_hnsw")
            cursor.execute("DROP INDEX rag_chunk_tsv_gin")
        raw = connection.connection
        register_vector(raw)
        now = timezone.now()
        started = time.perf_counter()
        loaded = 0
        with raw.cursor() as cursor, cursor.copy(
            "COPY rag_chunk (document_id, rag_key, rag_type, owner_id, chunk_index, content, embedding, morphemes,"
            " token_count, created_at) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "varchar", "varchar", "int4", "int4", "text", "vector", "text", "int4",
                            "timestamptz"])
            for document, (owner, count) in zip(documents, plan, strict=True):
                vectors = self._vectors(count)
                words = self.rng.choice(len(self.words), size=(count, WORDS_PER_CHUNK), p=self.word_p)
                for index in range(count):
                    text = " ".join(self.words[words[index]])
                    copy.write_row((document.pk, RAG_KEY, document.rag_type, owner.pk if owner else None, index,
                                    text, vectors[index], text, WORDS_PER_CHUNK, now))
                loaded += count
        load_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '2GB'")
            started = time.perf_counter()
            cursor.execute("CREATE INDEX rag_chunk_tsv_gin ON rag_chunk USING gin (search_vector)")
            gin_seconds = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute(
                "CREATE INDEX rag_chunk_embedding_hnsw ON rag_chunk USING hnsw (embedding vector_cosine_ops)"
                " WITH (m = 16, ef_construction = 64)"
            )
            hnsw_seconds = time.perf_counter() - started
            cursor.execute("ANALYZE rag_chunk")
        self.stdout.write(
            f"bulk load (binary COPY, tsvector generated): {loaded} chunks in {load_seconds:.1f}s "
            f"= {loaded / load_seconds:.0f} chunks/s; GIN build {gin_seconds:.1f}s, HNSW build {hnsw_seconds:.1f}s "
            f"=> {loaded / (load_seconds + gin_seconds + hnsw_seconds):.0f} chunks/s end to end"
        )
        self.user = users[0]

    def _users(self, count: int):
        from django.contrib.auth import get_user_model

        model = get_user_model()
        return model.objects.bulk_create(model(username=f"bench{i}") for i in range(count))

    def _vectors(self, count: int) -> np.ndarray:
        latent = self.centroids[self.rng.integers(0, CLUSTERS, size=count)]
        latent = latent + 0.5 * self.rng.standard_normal(latent.shape).astype(np.float32)
        vectors = latent @ self.projection
        vectors += 0.05 * self.rng.standard_normal(vectors.shape).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def _near(self, vector: np.ndarray) -> np.ndarray:
        """A query vector close to a stored one (a paraphrase of that chunk)."""
        noise = self.rng.standard_normal(vector.shape[0]).astype(np.float32)
        query = vector + 0.3 * noise / np.linalg.norm(noise)
        return query / np.linalg.norm(query)

    # --- 3. latency ------------------------------------------------------------------------------

    def _queries(self, count: int) -> list[tuple[np.ndarray, list[str]]]:
        sample = list(
            Chunk.objects.filter(rag_key=RAG_KEY).order_by("?").values_list("embedding", "morphemes")[:count]
        )
        queries = []
        for embedding, morphemes in sample:
            vector = self._near(np.asarray(embedding, dtype=np.float32))
            terms = list(dict.fromkeys(self.rng.choice(morphemes.split(), size=4)))
            queries.append((vector, terms))
        return queries

    def latency(self, count: int) -> None:
        shared = search.scope_for(user=None, rag_key=RAG_KEY, rag_type=RagType.CHATBOT_SHARED)
        mine = search.scope_for(user=self.user, rag_key=RAG_KEY, rag_type="both")
        isolated = search.scope_for(user=self.user, rag_key=RAG_KEY, rag_type=RagType.USER_ISOLATED)
        queries = self._queries(count)
        for vector, terms in queries[:10]:  # warm-up
            search.run_search(shared, "q", 5, "hybrid", query_vector=vector, terms=terms)
        self.stdout.write(f"search latency over {len(queries)} queries, limit 5 (uncached):")
        for label, scope, mode in [
            ("hybrid, shared scope", shared, "hybrid"),
            ("vector, shared scope", shared, "vector"),
            ("text (BM25), shared scope", shared, "text"),
            ("hybrid, user 'both' scope", mine, "hybrid"),
            ("hybrid, user with 10 chunks", isolated, "hybrid"),
        ]:
            times = []
            returned = []
            for vector, terms in queries:
                elapsed, hits = timed(search.run_search, scope, "q", 5, mode, query_vector=vector, terms=terms)
                times.append(elapsed)
                returned.append(len(hits))
            self.stdout.write(
                f"  {label:<30} p50 {percentile(times, 0.5):6.1f} ms   p95 {percentile(times, 0.95):6.1f} ms"
                f"   (min results {min(returned)})"
            )

    # --- 4. HNSW vs exact ------------------------------------------------------------------------

    def hnsw_vs_exact(self, count: int) -> None:
        shared = search.scope_for(user=None, rag_key=RAG_KEY, rag_type=RagType.CHATBOT_SHARED).chunks
        scope_rows = shared.count()
        table_rows = max(search.table_rows_estimate(), scope_rows)
        k = 10
        fetch = math.ceil(k * search.HNSW_OVERFETCH * table_rows / scope_rows)
        exact_times, hnsw_times, recalls = [], [], []
        for vector, _ in self._queries(count):
            exact_ms, exact = timed(search.exact_vector_scan, shared, vector, k)
            hnsw_ms, approximate = timed(search.hnsw_vector_scan, shared, vector, k, fetch)
            exact_times.append(exact_ms)
            hnsw_times.append(hnsw_ms)
            recalls.append(len({i for i, _ in exact} & {i for i, _ in approximate}) / k)
        exact_mean, hnsw_mean = statistics.mean(exact_times), statistics.mean(hnsw_times)
        self.stdout.write(
            f"vector top-{k} over {scope_rows} chunks, {count} queries: exact scan mean {exact_mean:.1f} ms, "
            f"HNSW (ef_search {max(fetch, search.HNSW_MIN_EF)}) mean {hnsw_mean:.2f} ms => speed-up "
            f"{exact_mean / hnsw_mean:.0f}x, recall@{k} {statistics.mean(recalls):.3f}"
        )
