"""The Celery path end to end: an upload is processed by a real worker on the real broker."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rag.models import Document


@pytest.mark.django_db(transaction=True)
def test_uploaded_document_becomes_ready_through_the_worker(celery_worker_thread, alice_client):
    response = alice_client.post(
        "/api/v1/rag/upload",
        {"file": SimpleUploadedFile("memo.txt", "워커가 처리할 급식 메모입니다.".encode()), "rag_key": "kb"},
        format="multipart",
    )
    assert response.status_code == 202
    document_id = response.json()["id"]

    deadline = time.monotonic() + 30
    while Document.objects.get(pk=document_id).status in ("pending", "processing") and time.monotonic() < deadline:
        time.sleep(0.2)

    document = Document.objects.get(pk=document_id)
    assert document.status == "ready", document.status_message
    assert document.chunks.count() == 1
    detail = alice_client.get(f"/api/v1/rag/documents/{document_id}").json()
    assert (detail["status"], detail["chunk_count"]) == ("ready", 1)
