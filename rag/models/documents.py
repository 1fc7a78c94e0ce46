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
    USER_ISOLATED = "user_isolated", "user isolated"
    CHATBOT_SHARED = "chatbot_shared", "chatbot shared"


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        READY = "ready"
        ERROR = "error"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rag_documents",
        help_text="The user of a user_isolated document; NULL for chatbot_shared.",
    )
    rag_key = models.CharField(max_length=255, help_text="The chatbot / collection the document belongs to.")
    rag_type = models.CharField(max_length=50, choices=RagType.choices)
    filename = models.CharField(max_length=255)
    content = models.TextField()
    metadata = models.JSONField(default=dict, blank=True, help_text="Seed 001 fields, stored top-level.")
    doc_id = models.CharField(
        max_length=255, blank=True, default="", help_text="Stable external id, e.g. board_post:12 (upsert key)."
    )
    source_type = models.CharField(max_length=50, default="upload")
    doc_schema = models.CharField(max_length=50, blank=True, default="")
    event_type = models.CharField(max_length=50, blank=True, default="")
    content_hash = models.CharField(
        max_length=64,
        help_text="SHA-256 of the content (of the uploaded file for PDF/DOCX); unchanged => no re-embedding.",
    )
    embedding_model = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
                violation_error_message="user_isolated documents need an owner; chatbot_shared ones must have none.",
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
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    rag_key = models.CharField(max_length=255)
    rag_type = models.CharField(max_length=50, choices=RagType.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    chunk_index = models.PositiveIntegerField()
    content = models.TextField()
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS)
    morphemes = models.TextField(help_text="Kiwi content morphemes, space separated (source of search_vector).")
    search_vector = models.GeneratedField(
        expression=SearchVector("morphemes", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    token_count = models.PositiveIntegerField(help_text="Number of morphemes: the document length of BM25.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        UPLOAD = "upload"
        IMAGE = "image"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=1000, blank=True, help_text="The upload's filename, or the image's URL.")
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    rag_key = models.CharField(max_length=255)
    owner_key = models.BigIntegerField(help_text="0 for chatbot_shared, else the owner's user id")
    chunk_count = models.BigIntegerField(default=0)
    token_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(name="%(app_label)s_%(class)s_unique_partition", fields=["rag_key", "owner_key"])
        ]

    def __str__(self):
        return f"{self.rag_key}/{self.owner_key}: {self.chunk_count} chunks"


class TermStat(models.Model):
    """Document frequency of one lexeme in one partition (see ScopeStat); BM25's IDF reads it."""

    rag_key = models.CharField(max_length=255)
    owner_key = models.BigIntegerField()
    lexeme = models.TextField()
    df = models.IntegerField(default=0)

    class Meta:
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

    rag_key = models.CharField(max_length=255, primary_key=True)
    version = models.BigIntegerField()

    def __str__(self):
        return f"{self.rag_key}: v{self.version}"
