"""Documents and their chunks (seed 004 `document` / `rag_embedding`, seed 001 metadata).

A document belongs either to one user (`user_isolated`, owner set) or to a chatbot (`chatbot_shared`,
owner NULL) inside a `rag_key`. Chunks copy rag_key / rag_type / owner from their document so that the
search scope is one indexed filter on a single table.

The embedding column size is fixed by a migration from settings.EMBEDDING_DIMENSIONS (1536 by default).
Changing that setting needs a new migration (`makemigrations rag`) and `manage.py reembed`.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField


class RagType(models.TextChoices):
    USER_ISOLATED = "user_isolated", "개인 문서 (user_isolated)"
    CHATBOT_SHARED = "chatbot_shared", "공유 문서 (chatbot_shared)"


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "대기"
        PROCESSING = "processing", "처리 중"
        READY = "ready", "완료"
        ERROR = "error", "오류"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="소유자",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rag_documents",
        help_text="user_isolated 문서의 사용자; chatbot_shared 문서는 비움.",
    )
    rag_key = models.CharField("RAG 키", max_length=255, help_text="문서가 속한 챗봇 / 컬렉션.")
    rag_type = models.CharField("RAG 유형", max_length=50, choices=RagType.choices)
    filename = models.CharField("파일 이름", max_length=255)
    content = models.TextField("내용")
    metadata = models.JSONField("메타데이터", default=dict, blank=True, help_text="seed 001 필드, 최상위에 저장.")
    doc_id = models.CharField(
        "문서 ID",
        max_length=255,
        blank=True,
        default="",
        help_text="바뀌지 않는 외부 ID, 예: board_post:12 (같은 ID는 덮어씀).",
    )
    source_type = models.CharField("출처 유형", max_length=50, default="upload")
    doc_schema = models.CharField("문서 스키마", max_length=50, blank=True, default="")
    event_type = models.CharField("이벤트 유형", max_length=50, blank=True, default="")
    content_hash = models.CharField(
        "내용 해시 (SHA256)",
        max_length=64,
        help_text="내용의 SHA-256 (PDF/DOCX는 올린 파일의); 같으면 다시 임베딩하지 않음.",
    )
    embedding_model = models.CharField("임베딩 모델", max_length=200, blank=True, default="")
    status = models.CharField("상태", max_length=20, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField("상태 메시지", blank=True, default="")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)
    updated_at = models.DateTimeField("수정 시각", auto_now=True)

    class Meta:
        verbose_name = "문서"
        verbose_name_plural = "문서"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="%(app_label)s_%(class)s_rag_type_valid", condition=Q(rag_type__in=RagType.values)
            ),
            models.CheckConstraint(
                name="%(app_label)s_%(class)s_owner_matches_rag_type",
                condition=(Q(rag_type=RagType.USER_ISOLATED, owner__isnull=False))
                | Q(rag_type=RagType.CHATBOT_SHARED, owner__isnull=True),
                violation_error_message=(
                    "개인 문서 (user_isolated)에는 소유자가 있어야 하고, "
                    "공유 문서 (chatbot_shared)에는 소유자가 없어야 합니다."
                ),
            ),
            models.CheckConstraint(
                name="%(app_label)s_%(class)s_status_valid",
                condition=Q(status__in=["pending", "processing", "ready", "error"]),
            ),
            # Upsert key: one document per doc_id in each owner's space of a rag_key (shared space = NULL).
            models.UniqueConstraint(
                name="%(app_label)s_%(class)s_unique_doc_id",
                fields=["rag_key", "owner", "doc_id"],
                condition=~Q(doc_id=""),
                nulls_distinct=False,
            ),
        ]
        indexes = [
            # Documents API list: WHERE owner_id = ? AND rag_key = ? AND rag_type = ? (seed idx_document_user_rag)
            models.Index(fields=["owner", "rag_key", "rag_type"], name="rag_document_owner_rag_idx"),
            # Admin / API filters: WHERE rag_key = ? AND status = ?
            models.Index(fields=["rag_key", "status"], name="rag_document_key_status_idx"),
        ]

    def __str__(self):
        return self.doc_id or self.filename

    @property
    def is_shared(self) -> bool:
        return self.rag_type == RagType.CHATBOT_SHARED


class Chunk(models.Model):
    document = models.ForeignKey(Document, verbose_name="문서", on_delete=models.CASCADE, related_name="chunks")
    rag_key = models.CharField("RAG 키", max_length=255)
    rag_type = models.CharField("RAG 유형", max_length=50, choices=RagType.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="소유자",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    chunk_index = models.PositiveIntegerField("청크 순번")
    content = models.TextField("내용")
    embedding = VectorField(verbose_name="임베딩", dimensions=settings.EMBEDDING_DIMENSIONS)
    morphemes = models.TextField("형태소", help_text="Kiwi 내용 형태소, 공백 구분 (검색 벡터의 원천).")
    search_vector = models.GeneratedField(
        verbose_name="검색 벡터",
        expression=SearchVector("morphemes", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    token_count = models.PositiveIntegerField("토큰 수", help_text="형태소 수: BM25의 문서 길이.")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)

    class Meta:
        verbose_name = "청크"
        verbose_name_plural = "청크"
        ordering = ["document_id", "chunk_index"]
        constraints = [
            models.UniqueConstraint(name="%(app_label)s_%(class)s_unique_index", fields=["document", "chunk_index"]),
            models.CheckConstraint(
                name="%(app_label)s_%(class)s_owner_matches_rag_type",
                condition=(Q(rag_type=RagType.USER_ISOLATED, owner__isnull=False))
                | Q(rag_type=RagType.CHATBOT_SHARED, owner__isnull=True),
            ),
        ]
        indexes = [
            # Search scope: WHERE rag_key = ? AND rag_type = ? AND owner_id = ? / IS NULL
            models.Index(fields=["rag_key", "rag_type", "owner"], name="rag_chunk_scope_idx"),
            # Vector path: ORDER BY embedding <=> :query (cosine)
            HnswIndex(
                name="rag_chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            # Text path: WHERE search_vector @@ :tsquery (BM25 candidates)
            GinIndex(fields=["search_vector"], name="rag_chunk_tsv_gin"),
        ]

    def __str__(self):
        return f"{self.document_id}#{self.chunk_index}"


class DocumentFile(models.Model):
    """Input the ingestion worker still has to turn into text: an uploaded PDF/DOCX, or an image of a synced
    record to describe. Kept in PostgreSQL so any worker host can read it; deleted once the text is in the
    document."""

    class Kind(models.TextChoices):
        UPLOAD = "upload", "업로드 파일"
        IMAGE = "image", "이미지"

    document = models.ForeignKey(Document, verbose_name="문서", on_delete=models.CASCADE, related_name="files")
    kind = models.CharField("종류", max_length=10, choices=Kind.choices)
    name = models.CharField("이름", max_length=1000, blank=True, help_text="업로드 파일 이름 또는 이미지 URL.")
    data = models.BinaryField("데이터")
    created_at = models.DateTimeField("생성 시각", auto_now_add=True)

    class Meta:
        verbose_name = "처리 대기 파일"
        verbose_name_plural = "처리 대기 파일"
        ordering = ["document_id", "id"]
        constraints = [
            models.CheckConstraint(name="%(app_label)s_%(class)s_kind_valid", condition=Q(kind__in=["upload", "image"]))
        ]

    def __str__(self):
        return f"{self.document_id}: {self.kind} {self.name}"


class ScopeStat(models.Model):
    """BM25 collection statistics of one partition: a rag_key's shared chunks (owner_key 0) or one user's
    chunks (owner_key = user id). Maintained by statement-level triggers on rag_chunk (migration 0003), so
    every write path (services, cascades, admin, raw SQL) keeps it exact and in the writer's transaction."""

    rag_key = models.CharField("RAG 키", max_length=255)
    owner_key = models.BigIntegerField("소유자 키", help_text="chatbot_shared는 0, 아니면 소유자의 사용자 ID")
    chunk_count = models.BigIntegerField("청크 수", default=0)
    token_total = models.BigIntegerField("토큰 합계", default=0)

    class Meta:
        verbose_name = "BM25 범위 통계"
        verbose_name_plural = "BM25 범위 통계"
        constraints = [
            models.UniqueConstraint(name="%(app_label)s_%(class)s_unique_partition", fields=["rag_key", "owner_key"])
        ]

    def __str__(self):
        return f"{self.rag_key}/{self.owner_key}: {self.chunk_count} chunks"


class TermStat(models.Model):
    """Document frequency of one lexeme in one partition (see ScopeStat); BM25's IDF reads it."""

    rag_key = models.CharField("RAG 키", max_length=255)
    owner_key = models.BigIntegerField("소유자 키")
    lexeme = models.TextField("어휘")
    df = models.IntegerField("문서 빈도", default=0)

    class Meta:
        verbose_name = "BM25 어휘 통계"
        verbose_name_plural = "BM25 어휘 통계"
        constraints = [
            # Also the index of the IDF lookup: WHERE rag_key = ? AND owner_key = ANY(?) AND lexeme = ANY(?)
            models.UniqueConstraint(
                name="%(app_label)s_%(class)s_unique_lexeme", fields=["rag_key", "owner_key", "lexeme"]
            )
        ]

    def __str__(self):
        return f"{self.rag_key}/{self.owner_key}: {self.lexeme} ({self.df})"


class SharedResultsVersion(models.Model):
    """The version of a rag_key's shared documents; cached shared search results are keyed by it.

    Triggers on rag_document (migration 0006) give it a new value from a sequence in the writer's own
    transaction whenever a shared document of the rag_key is inserted, updated or deleted - by the
    services, admin bulk actions, cascades or raw SQL. Invalidation therefore never touches Redis (an
    outage cannot fail or skip it) and commits exactly with the write; a sequence never hands a value out
    twice, even across rolled-back transactions, so an old cache entry is never reachable again.
    """

    rag_key = models.CharField("RAG 키", max_length=255, primary_key=True)
    version = models.BigIntegerField("버전")

    class Meta:
        verbose_name = "공유 검색 결과 버전"
        verbose_name_plural = "공유 검색 결과 버전"

    def __str__(self):
        return f"{self.rag_key}: v{self.version}"
