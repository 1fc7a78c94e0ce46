"""Re-embed documents with the current embedder: `python manage.py reembed [--rag-key K] [--status S]`.

Use after changing EMBEDDING_MODEL / EMBEDDING_BASE_URL, or (after makemigrations/migrate) a new
EMBEDDING_DIMENSIONS. Runs in this process with a progress bar; failures are counted and left in status
"error" with the reason.
"""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from rag.models import Document
from rag.services import ingest


class Command(BaseCommand):
    help = "Rebuild chunks and embeddings of every document (or one rag_key) with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--rag-key", help="only this rag_key")
        parser.add_argument("--status", choices=Document.Status.values, help="only documents in this status")

    def handle(self, *args, **options):
        documents = Document.objects.order_by("id")
        if options["rag_key"]:
            documents = documents.filter(rag_key=options["rag_key"])
        if options["status"]:
            documents = documents.filter(status=options["status"])
        ids = list(documents.values_list("id", flat=True))
        failed = 0
        for document_id in tqdm(ids, desc="re-embedding", unit="doc", file=self.stderr._out, disable=None):
            try:
                ingest.reembed_document(document_id)
            except Exception as exc:  # noqa: BLE001 - recorded on the document; keep going
                failed += 1
                self.stderr.write(f"document {document_id}: {exc}")
        self.stdout.write(f"re-embedded {len(ids) - failed} document(s), {failed} failed")
