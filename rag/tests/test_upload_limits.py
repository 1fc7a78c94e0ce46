"""Hostile uploads: a malformed DOCX is a 4xx in the JSON error format, a zip bomb is refused before it
is decompressed, and what passes the checks is parsed by the worker, where a failure marks the document
failed with the reason."""

import io
import zipfile

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Document, DocumentFile
from rag.services import ingest
from rag.services.text import DOCX_MAX_XML_BYTES

pytestmark = pytest.mark.django_db

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def upload(client, name: str, data: bytes):
    body = {"file": SimpleUploadedFile(name, data), "rag_key": "kb", "rag_type": "user_isolated"}
    return client.post("/api/v1/rag/upload", body, format="multipart")


def docx_with_main_part(main_part: bytes, *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A real python-docx document whose word/document.xml is replaced by `main_part`."""
    original = io.BytesIO()
    docx.Document().save(original)
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(rebuilt, "w", compression) as target:
        for member in source.infolist():
            data = main_part if member.filename == "word/document.xml" else source.read(member)
            target.writestr(member.filename, data)
    return rebuilt.getvalue()


PARAGRAPH = b"<w:p><w:r><w:t>" + "급식카드 안내 ".encode() * 8 + b"</w:t></w:r></w:p>"


def paragraphs_xml(repeats: int) -> bytes:
    return f'<w:document xmlns:w="{W_NS}"><w:body>'.encode() + PARAGRAPH * repeats + b"</w:body></w:document>"


def assert_refused(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert not Document.objects.exists() and not DocumentFile.objects.exists()


def test_a_docx_with_malformed_document_xml_is_400(alice_client):
    data = docx_with_main_part(f'<w:document xmlns:w="{W_NS}"><w:body><w:p>'.encode())

    assert_refused(upload(alice_client, "broken.docx", data), 400, "broken_file")


def test_a_docx_without_a_main_part_is_400(alice_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not word")

    assert_refused(upload(alice_client, "plain.docx", buffer.getvalue()), 400, "broken_file")


def test_a_docx_that_expands_to_51_mb_of_xml_is_refused_before_parsing(alice_client):
    bomb = docx_with_main_part(paragraphs_xml(51_000_000 // len(PARAGRAPH)))
    assert len(bomb) < 1024 * 1024  # a small upload...
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert archive.getinfo("word/document.xml").file_size > DOCX_MAX_XML_BYTES  # ...of a huge part

    assert_refused(upload(alice_client, "bomb.docx", bomb), 413, "file_too_complex")


def test_a_docx_member_with_a_bomb_like_compression_ratio_is_refused(alice_client):
    padding = b"<w:p/>" * (2 * 1024 * 1024 // 6)  # 2 MB of one repeated tag: ratio in the hundreds
    main_part = f'<w:document xmlns:w="{W_NS}"><w:body>'.encode() + padding + b"</w:body></w:document>"

    assert_refused(upload(alice_client, "ratio.docx", docx_with_main_part(main_part)), 413, "file_too_complex")


def test_an_ordinary_large_docx_is_accepted_and_parsed_by_the_worker(alice_client):
    data = docx_with_main_part(paragraphs_xml(300), compression=zipfile.ZIP_STORED)

    assert upload(alice_client, "long.docx", data).status_code == 202
    document = Document.objects.get()
    assert ingest.process_document(document.pk) == "ready"
    document.refresh_from_db()
    assert document.content.count("급식카드 안내") == 300 * 8


def test_a_docx_the_parser_rejects_marks_the_document_failed_with_the_reason(alice_client):
    buffer = io.BytesIO()  # passes the request's checks, but is no Office package ([Content_Types].xml)
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{W_NS}"/>')

    assert upload(alice_client, "odd.docx", buffer.getvalue()).status_code == 202
    assert ingest.process_document(Document.objects.get().pk) == "error"

    document = Document.objects.get()
    assert document.status == "error"
    assert "broken_file" in document.status_message
    assert document.chunks.count() == 0


def test_a_file_that_is_not_a_pdf_is_400(alice_client):
    assert_refused(upload(alice_client, "fake.pdf", b"hello, not a pdf at all"), 400, "broken_file")
