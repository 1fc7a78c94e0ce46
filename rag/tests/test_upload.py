"""POST /api/v1/rag/upload: supported types become pending documents; bad files are 4xx, nothing written."""

import codecs
import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Chunk, Document, DocumentFile
from rag.services import ingest

pytestmark = pytest.mark.django_db


def upload(client, name: str, data: bytes, **fields):
    body = {"file": SimpleUploadedFile(name, data), "rag_key": "kb", "rag_type": "user_isolated", **fields}
    return client.post("/api/v1/rag/upload", body, format="multipart")


def _docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("memo.txt", "급식카드 잔액 확인 방법".encode(), "급식카드 잔액 확인 방법"),
        ("memo.md", "# 제목\n\n본문 내용".encode(), "# 제목\n\n본문 내용"),
        ("page.html", "<html><script>x()</script><p>공지 본문</p></html>".encode(), "공지 본문"),
        ("old.txt", "완성형 한글 문서".encode("cp949"), "완성형 한글 문서"),
        ("notepad.txt", "메모장의 유니코드 저장".encode("utf-16"), "메모장의 유니코드 저장"),  # LE with its mark
        ("big-endian.txt", codecs.BOM_UTF16_BE + "빅 엔디언 문서".encode("utf-16-be"), "빅 엔디언 문서"),
        ("wide.txt", "UTF-32 문서".encode("utf-32"), "UTF-32 문서"),
        ("marked.txt", codecs.BOM_UTF8 + "BOM 있는 UTF-8".encode(), "BOM 있는 UTF-8"),
    ],
)
def test_supported_text_file_becomes_a_pending_document(alice_client, name, data, expected):
    response = upload(alice_client, name, data, tags="공지, 급식")

    assert response.status_code == 202, response.json()
    document = Document.objects.get()
    assert document.content == expected
    assert (document.owner, document.status) == (alice_client.user, "pending")
    assert document.metadata["tags"] == ["공지", "급식"]


def test_a_docx_upload_is_pending_until_the_worker_extracts_its_text(alice_client):
    response = upload(alice_client, "plan.docx", _docx_bytes("워드 문서의 본문"), tags="공지")

    assert response.status_code == 202, response.json()
    document = Document.objects.get()
    assert (document.content, document.status) == ("", "pending")

    assert ingest.process_document(document.pk) == "ready"  # what the worker's task does

    document.refresh_from_db()
    assert (document.content, document.status, document.metadata["tags"]) == ("워드 문서의 본문", "ready", ["공지"])
    assert not DocumentFile.objects.exists()


def test_a_pdf_without_a_text_layer_fails_in_the_worker_with_the_reason(alice_client):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert upload(alice_client, "blank.pdf", buffer.getvalue()).status_code == 202

    # A PDF without a text layer (e.g. a scan) ends in "error" with a clear reason instead of an empty document.
    assert ingest.process_document(Document.objects.get().pk) == "error"

    document = Document.objects.get()
    assert document.status == "error"
    assert "empty_document" in document.status_message


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.txt", b"", "empty_file"),
        ("spaces.txt", b"   \n  ", "empty_document"),
        ("virus.exe", b"MZ\x90\x00", "unsupported_file_type"),
        ("broken.pdf", b"%PDF-1.7\nthis is not really a pdf", "broken_file"),
        ("broken.docx", b"PK\x03\x04 not a zip", "broken_file"),
    ],
)
def test_bad_file_is_refused_and_nothing_is_written(alice_client, name, data, code):
    response = upload(alice_client, name, data)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Document.objects.exists() and not Chunk.objects.exists()


def test_file_over_the_limit_is_413(alice_client, settings):
    settings.RAG_UPLOAD_MAX_BYTES = 100

    response = upload(alice_client, "big.txt", "가".encode() * 50)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Document.objects.exists()


def test_missing_rag_key_is_400(alice_client):
    response = alice_client.post(
        "/api/v1/rag/upload", {"file": SimpleUploadedFile("a.txt", "내용".encode())}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["rag_key"]


def test_ordinary_user_cannot_upload_shared_documents(alice_client):
    response = upload(alice_client, "policy.txt", "회사 정책".encode(), rag_type="chatbot_shared")

    assert response.status_code == 403
    assert not Document.objects.exists()


@pytest.mark.parametrize("client_fixture", ["staff_client", "partner_client"])
def test_staff_and_partners_upload_shared_documents(request, client_fixture):
    client = request.getfixturevalue(client_fixture)

    response = upload(client, "policy.txt", "회사 정책".encode(), rag_type="chatbot_shared", rag_key="medilinx")

    assert response.status_code == 202
    assert Document.objects.get().owner is None


def test_partner_cannot_upload_user_isolated_documents(partner_client):
    response = upload(partner_client, "memo.txt", "메모".encode())

    assert response.status_code == 403


def test_upload_enqueues_processing_after_commit(alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        upload(alice_client, "memo.txt", "메모".encode())

    assert len(callbacks) == 1  # the Celery task is sent only once the document row is committed


def test_uploading_the_same_file_again_is_an_upsert_not_a_duplicate(alice_client):
    first = upload(alice_client, "memo.txt", "첫 내용".encode())
    same = upload(alice_client, "memo.txt", "첫 내용".encode())
    changed = upload(alice_client, "memo.txt", "바뀐 내용".encode())

    assert (first.status_code, same.status_code, changed.status_code) == (202, 200, 202)
    document = Document.objects.get()
    assert document.doc_id == "upload:memo.txt" and document.content == "바뀐 내용"
    assert first.json()["id"] == same.json()["id"] == changed.json()["id"]


def test_an_explicit_doc_id_names_the_uploaded_document(alice_client):
    upload(alice_client, "v1.txt", "판 1".encode(), doc_id="guide")
    upload(alice_client, "v2.txt", "판 2".encode(), doc_id="guide")

    assert list(Document.objects.values_list("doc_id", "filename", "content")) == [("guide", "v2.txt", "판 2")]
