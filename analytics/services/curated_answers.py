"""Curated answers (the knowledge-gap loop's output): a staff-written answer that knowledge-chat
questions matching an applied FAQ candidate get instead of a generated one, or the same answer
published as a shared document of a rag_key."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext

from analytics.models import FAQCandidate
from analytics.services.question_text import similarity


@dataclass(frozen=True)
class CuratedMatch:
    candidate_id: int
    answer: str
    sources: list
    similarity: float


def match_curated_answer(collection_name: str, question: str) -> CuratedMatch | None:
    """The applied curated answer of this collection whose questions best match `question`, when
    the match reaches FAQ_MATCH_THRESHOLD (the representative and the examples are compared)."""
    best = None
    applied = FAQCandidate.objects.filter(collection_name=collection_name, status=FAQCandidate.Status.APPLIED)
    for candidate in applied.exclude(curated_answer="").only(
        "id", "representative", "example_questions", "curated_answer", "curated_sources"
    ):
        score = max(similarity(question, text) for text in [candidate.representative, *candidate.example_questions])
        if score >= settings.FAQ_MATCH_THRESHOLD and (best is None or score > best.similarity):
            best = CuratedMatch(candidate.pk, candidate.curated_answer, candidate.curated_sources, round(score, 4))
    return best


def apply_curated_answer(candidate: FAQCandidate, answer: str, sources: list | None = None) -> None:
    """Staff's decision: answer questions matching the candidate with `answer` from now on."""
    if not answer.strip():
        raise ValueError(gettext("a curated answer needs text"))
    FAQCandidate.objects.filter(pk=candidate.pk).update(
        curated_answer=answer.strip(),
        curated_sources=[_source(source) for source in sources or []],
        status=FAQCandidate.Status.APPLIED,
    )


def _source(source: dict) -> dict:
    """A curated source in the shape of the chat's sources (document_id and doc_id required)."""
    try:
        return {
            "document_id": int(source["document_id"]),
            "doc_id": str(source["doc_id"]),
            "chunk_id": int(source.get("chunk_id") or 0),
            "score": float(source.get("score", 1.0)),
            "filename": str(source.get("filename") or ""),
        }
    except (KeyError, TypeError, ValueError) as exc:
        message = gettext("a curated source needs document_id and doc_id: %(source)s")
        raise ValueError(message % {"source": repr(source)}) from exc


def publish_as_shared_document(candidate: FAQCandidate, rag_key: str = "", *, run_now: bool = False) -> int:
    """Staff's other decision: the question and its curated answer become a shared document of
    `rag_key` (default: the candidate's collection), ingested like any other (by the worker; now
    with `run_now`); returns its id. Publishing again replaces the same document (stable doc_id)."""
    from rag.services.ingest import upsert_document  # the RAG app's ingestion service

    if not candidate.curated_answer.strip():
        raise ValueError(gettext("write the curated answer before publishing it"))
    rag_key = rag_key or candidate.shared_document_rag_key or candidate.collection_name
    examples = "\n".join(f"- {question}" for question in candidate.example_questions)
    content = f"질문: {candidate.representative}\n\n비슷한 질문:\n{examples}\n\n답변: {candidate.curated_answer}"
    document = upsert_document(
        owner=None, rag_key=rag_key, rag_type="chatbot_shared", filename=f"faq-{candidate.pk}.md", content=content,
        doc_id=f"faq:{candidate.pk}", metadata={"faq_candidate_id": candidate.pk}, run_now=run_now,
    ).document  # fmt: skip
    FAQCandidate.objects.filter(pk=candidate.pk).update(
        status=FAQCandidate.Status.APPLIED, shared_document_rag_key=rag_key
    )
    return document.pk
