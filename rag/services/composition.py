"""Seed 001 source records -> one RAG document: stable doc_id, composed content, top-level metadata.

Content rules (seed 001 "content 구성 원칙"):
  * board_post.v2:        제목 + 본문 + 댓글 목록
  * coaching_note.v2:     핵심 필드 + 공개댓글 목록 (comments with is_coach_only=true are left out)
  * project_document.v1:  과제명 + 문서유형 + 제목 + 본문 + 첨부목록
  * images: one `이미지설명(n): ...` block per described image, appended at the end.
"""

from dataclasses import dataclass

BOARD_POST = "board_post.v2"
COACHING_NOTE = "coaching_note.v2"
PROJECT_DOCUMENT = "project_document.v1"
DOC_SCHEMAS = (BOARD_POST, COACHING_NOTE, PROJECT_DOCUMENT)

EVENT_TYPES = {
    BOARD_POST: ("create", "update", "restore", "comment_create", "comment_update", "comment_delete", "delete"),
    COACHING_NOTE: ("create", "update", "restore", "comment_create", "comment_delete", "delete"),
    PROJECT_DOCUMENT: ("create", "update", "restore", "manual_sync", "delete"),
}
DELETE_EVENT = "delete"

# Record fields copied to the document's top-level metadata, per schema (seed 001 "공통 필드").
_METADATA_FIELDS = {
    BOARD_POST: ("post_id", "board_id", "board_type", "board_name", "batch_id", "batch_name", "author_id",
                 "updated_at"),
    COACHING_NOTE: ("note_id", "project_id", "project_name", "batch_id", "batch_name", "week_number",
                    "coaching_date", "author_id", "updated_at"),
    PROJECT_DOCUMENT: ("document_id", "doc_type", "doc_type_label", "project_id", "project_name", "batch_id",
                       "batch_name", "author_id", "updated_at"),
}
_ID_FIELD = {BOARD_POST: "post_id", COACHING_NOTE: "note_id", PROJECT_DOCUMENT: "document_id"}
_DOC_ID_PREFIX = {BOARD_POST: "board_post", COACHING_NOTE: "coaching_note", PROJECT_DOCUMENT: "project_document"}


@dataclass(frozen=True)
class ComposedDocument:
    doc_id: str
    source_type: str
    title: str
    content: str
    metadata: dict


def source_doc_id(doc_schema: str, record: dict) -> str:
    """`board_post:{post_id}`, `coaching_note:{note_id}` or `project_document:{doc_id}`."""
    return f"{_DOC_ID_PREFIX[doc_schema]}:{record[_ID_FIELD[doc_schema]]}"


def _comment_line(comment: dict) -> str:
    author = str(comment.get("author_name") or comment.get("author_id") or "").strip()
    text = str(comment.get("content", "")).strip()
    return f"- {author}: {text}" if author else f"- {text}"


def _comment_block(label: str, comments: list[dict]) -> list[str]:
    lines = [_comment_line(comment) for comment in comments if str(comment.get("content", "")).strip()]
    return [f"{label}:", *lines] if lines else []


def _latest(comments: list[dict]) -> str | None:
    stamps = [str(comment["created_at"]) for comment in comments if comment.get("created_at")]
    return max(stamps) if stamps else None


def image_blocks(image_descriptions: list[dict]) -> list[str]:
    return [
        f"이미지설명({number}): {item['caption'].strip()}"
        for number, item in enumerate(image_descriptions, start=1)
        if item.get("caption", "").strip()
    ]


def with_image_descriptions(content: str, metadata: dict, described: list[dict]) -> tuple[str, dict]:
    """A composed document with more image descriptions (the worker's captions), numbered after the ones it
    already has; its `이미지설명(n)` blocks stay the last section."""
    existing = list(metadata.get("image_descriptions") or [])
    old_blocks = "\n".join(image_blocks(existing))
    base = content.removesuffix(old_blocks).rstrip("\n") if old_blocks else content
    combined = existing + described
    urls = [item.get("url") for item in combined if item.get("url")] or list(metadata.get("image_urls") or [])
    return _join([[base], image_blocks(combined)]), {**metadata, "image_descriptions": combined, "image_urls": urls}


def _join(sections: list[list[str]]) -> str:
    return "\n\n".join("\n".join(section) for section in sections if section)


def compose(doc_schema: str, record: dict, event_type: str, image_descriptions: list[dict] | None = None) -> (
    ComposedDocument
):
    """The document for one seed-001 record (already validated by the API serializer)."""
    image_descriptions = image_descriptions or []
    comments = list(record.get("comments") or [])
    title = str(record.get("title", "")).strip()
    body = str(record.get("content", "")).strip()
    metadata: dict = {field: record.get(field) for field in _METADATA_FIELDS[doc_schema]}

    if doc_schema == BOARD_POST:
        sections = [[f"제목: {title}"], [body], _comment_block("댓글", comments)]
        metadata["comment_count"] = len(comments)
        metadata["last_comment_at"] = _latest(comments)
    elif doc_schema == COACHING_NOTE:
        public = [comment for comment in comments if not comment.get("is_coach_only")]
        key_fields = [
            f"{label}: {value}"
            for label, value in (
                ("과제명", record.get("project_name")),
                ("주차", f"{record['week_number']}주차" if record.get("week_number") is not None else None),
                ("코칭일", record.get("coaching_date")),
                ("제목", title),
            )
            if value not in (None, "")
        ]
        sections = [key_fields, [body], _comment_block("공개댓글", public)]
        metadata["public_comment_count"] = len(public)
        metadata["coach_only_comment_count"] = len(comments) - len(public)
        metadata["last_public_comment_at"] = _latest(public)
    else:
        attachments = [
            str(item.get("name") or item.get("filename") or "").strip() for item in record.get("attachments") or []
        ]
        attachments = [name for name in attachments if name]
        header = [
            f"{label}: {value}"
            for label, value in (
                ("과제명", record.get("project_name")),
                ("문서유형", record.get("doc_type_label") or record.get("doc_type")),
                ("제목", title),
            )
            if value not in (None, "")
        ]
        sections = [header, [body], ["첨부목록:", *(f"- {name}" for name in attachments)] if attachments else []]
        metadata["attachment_count"] = len(attachments)

    sections.append(image_blocks(image_descriptions))
    metadata.update(
        {
            "title": title,
            "source_type": _DOC_ID_PREFIX[doc_schema],
            "event_type": event_type,
            "doc_schema": doc_schema,
            "image_urls": [item.get("url") for item in image_descriptions if item.get("url")]
            or list(record.get("image_urls") or []),
            "image_descriptions": image_descriptions,
        }
    )
    return ComposedDocument(
        doc_id=source_doc_id(doc_schema, record),
        source_type=_DOC_ID_PREFIX[doc_schema],
        title=title,
        content=_join(sections),
        metadata=metadata,
    )
