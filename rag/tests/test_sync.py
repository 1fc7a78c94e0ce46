"""POST /api/v1/rag/sync: seed 001 doc ids, content composition, metadata top-level, events."""

import pytest

from rag.models import Document
from rag.services import ingest
from rag.services.composition import compose

pytestmark = pytest.mark.django_db

BOARD_POST = {
    "post_id": 12, "board_id": 3, "board_type": "tip", "board_name": "팁공유", "batch_id": 2,
    "batch_name": "2026년 2차", "author_id": 7, "title": "N2SQL 도입 후기",
    "content": "A프로젝트에서 N2SQL을 썼습니다.",
    "comments": [
        {"author_name": "김코치", "content": "좋은 정리네요.", "created_at": "2026-02-27T15:10:00+00:00"},
        {"author_name": "이학생", "content": "저도 써볼게요.", "created_at": "2026-02-27T15:05:00+00:00"},
    ],
}
COACHING_NOTE = {
    "note_id": 5, "project_id": 1, "project_name": "급식 챗봇", "week_number": 3, "coaching_date": "2026-03-02",
    "title": "3주차 코칭", "content": "데이터 수집 범위를 줄이기로 함.",
    "comments": [
        {"author_name": "학생", "content": "공개 댓글입니다.", "is_coach_only": False},
        {"author_name": "코치", "content": "코치끼리만 보는 평가", "is_coach_only": True},
    ],
}
PROJECT_DOCUMENT = {
    "document_id": 44, "doc_type": "plan", "doc_type_label": "기획서", "project_id": 1, "project_name": "급식 챗봇",
    "title": "최종 기획서", "content": "추천 알고리즘 설계.",
    "attachments": [{"name": "plan.pdf"}, {"name": "erd.png"}],
}


def test_board_post_content_is_title_body_and_comments():
    composed = compose("board_post.v2", BOARD_POST, "comment_create")

    assert composed.doc_id == "board_post:12"
    assert composed.content == (
        "제목: N2SQL 도입 후기\n\nA프로젝트에서 N2SQL을 썼습니다.\n\n"
        "댓글:\n- 김코치: 좋은 정리네요.\n- 이학생: 저도 써볼게요."
    )
    assert composed.metadata["comment_count"] == 2
    assert composed.metadata["last_comment_at"] == "2026-02-27T15:10:00+00:00"


def test_coaching_note_leaves_out_coach_only_comments():
    composed = compose("coaching_note.v2", COACHING_NOTE, "create")

    assert composed.doc_id == "coaching_note:5"
    assert "코치끼리만" not in composed.content
    assert composed.content.startswith("과제명: 급식 챗봇\n주차: 3주차\n코칭일: 2026-03-02\n제목: 3주차 코칭")
    assert composed.content.endswith("공개댓글:\n- 학생: 공개 댓글입니다.")
    assert (composed.metadata["public_comment_count"], composed.metadata["coach_only_comment_count"]) == (1, 1)


def test_project_document_lists_project_type_title_body_and_attachments():
    composed = compose("project_document.v1", PROJECT_DOCUMENT, "manual_sync")

    assert composed.doc_id == "project_document:44"
    assert composed.content == (
        "과제명: 급식 챗봇\n문서유형: 기획서\n제목: 최종 기획서\n\n"
        "추천 알고리즘 설계.\n\n첨부목록:\n- plan.pdf\n- erd.png"
    )
    assert composed.metadata["attachment_count"] == 2


def test_image_descriptions_are_appended_as_numbered_blocks():
    descriptions = [{"url": "/a.png", "caption": "대시보드 화면"}, {"url": "/b.png", "caption": "진행률 그래프"}]

    composed = compose("board_post.v2", BOARD_POST, "update", descriptions)

    assert composed.content.endswith("이미지설명(1): 대시보드 화면\n이미지설명(2): 진행률 그래프")
    assert composed.metadata["image_urls"] == ["/a.png", "/b.png"]


def test_sync_stores_metadata_top_level(staff_client):
    response = staff_client.post(
        "/api/v1/rag/sync",
        {"rag_key": "bootcamp", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST},
        format="json",
    )

    assert response.status_code == 202, response.json()
    assert response.json()["action"] == "created"
    document = Document.objects.get(doc_id="board_post:12")
    assert document.owner is None and document.rag_type == "chatbot_shared"
    assert document.metadata["board_name"] == "팁공유"
    assert document.metadata["doc_schema"] == "board_post.v2"
    assert "additional_field" not in document.metadata


def test_comment_event_with_same_content_is_unchanged(staff_client):
    body = {"rag_key": "bootcamp", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST}
    staff_client.post("/api/v1/rag/sync", body, format="json")

    response = staff_client.post("/api/v1/rag/sync", {**body, "event_type": "update"}, format="json")

    assert response.json()["action"] == "unchanged"
    assert Document.objects.get().event_type == "update"


def test_new_comment_updates_the_same_document(staff_client):
    body = {"rag_key": "bootcamp", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST}
    staff_client.post("/api/v1/rag/sync", body, format="json")
    record = {**BOARD_POST, "comments": [*BOARD_POST["comments"], {"author_name": "박", "content": "추가 댓글"}]}

    response = staff_client.post(
        "/api/v1/rag/sync", {**body, "event_type": "comment_create", "record": record}, format="json"
    )

    assert response.json()["action"] == "updated"
    assert Document.objects.count() == 1
    assert "- 박: 추가 댓글" in Document.objects.get().content


def test_delete_event_removes_the_document(partner_client):
    body = {"rag_key": "medilinx", "doc_schema": "project_document.v1", "event_type": "create",
            "record": PROJECT_DOCUMENT}
    partner_client.post("/api/v1/rag/sync", body, format="json")

    response = partner_client.post("/api/v1/rag/sync", {**body, "event_type": "delete"}, format="json")

    assert response.json()["action"] == "deleted"
    assert not Document.objects.exists()


def test_event_type_must_belong_to_the_schema(staff_client):
    response = staff_client.post(
        "/api/v1/rag/sync",
        {"rag_key": "b", "doc_schema": "coaching_note.v2", "event_type": "comment_update", "record": COACHING_NOTE},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_ordinary_user_cannot_sync_shared_documents(alice_client):
    response = alice_client.post(
        "/api/v1/rag/sync",
        {"rag_key": "b", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST},
        format="json",
    )

    assert response.status_code == 403
    assert not Document.objects.exists()


def test_images_are_described_by_the_vision_provider_in_the_worker(staff_client, openai_server):
    openai_server.chat_reply = "진행률이 표시된 대시보드 화면입니다."

    response = staff_client.post(
        "/api/v1/rag/sync",
        {"rag_key": "b", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST,
         "images": [{"url": "/uploads/sample.png", "data": "iVBORw0KGgo="}]},
        format="json",
    )

    assert response.status_code == 202, response.json()
    assert openai_server.requests_to("/chat/completions") == []  # not in the request: the worker describes
    ingest.process_document(Document.objects.get().pk)
    document = Document.objects.get()
    assert document.content.endswith("이미지설명(1): 진행률이 표시된 대시보드 화면입니다.")
    assert document.metadata["image_descriptions"] == [
        {"url": "/uploads/sample.png", "caption": "진행률이 표시된 대시보드 화면입니다."}
    ]


def sync_with_image(client, **extra):
    return client.post(
        "/api/v1/rag/sync",
        {"rag_key": "b", "doc_schema": "board_post.v2", "event_type": "create", "record": BOARD_POST,
         "images": [{"url": "/uploads/sample.png", "data": "iVBORw0KGgo="}], **extra},
        format="json",
    )


def test_a_vision_outage_does_not_fail_the_sync_and_the_worker_retries(staff_client, openai_server):
    from rag.providers import ProviderError

    openai_server.fail_next(3, status=503)  # every attempt of one provider call

    assert sync_with_image(staff_client).status_code == 202
    with pytest.raises(ProviderError):  # the Celery task retries it with backoff
        ingest.process_document(Document.objects.get().pk)
    assert Document.objects.get().status == "error"

    openai_server.chat_reply = "대시보드 화면"
    assert ingest.process_document(Document.objects.get().pk) == "ready"
    assert Document.objects.get().content.endswith("이미지설명(1): 대시보드 화면")


def test_worker_captions_are_numbered_after_the_senders_descriptions(staff_client, openai_server):
    openai_server.chat_reply = "두 번째 그림"

    sync_with_image(staff_client, image_descriptions=[{"url": "/a.png", "caption": "첫 번째 그림"}])
    ingest.process_document(Document.objects.get().pk)

    content = Document.objects.get().content
    assert content.endswith("이미지설명(1): 첫 번째 그림\n이미지설명(2): 두 번째 그림")
    assert content.count("이미지설명(1)") == 1


def test_the_same_event_with_the_same_image_is_unchanged_and_keeps_its_caption(staff_client, openai_server):
    openai_server.chat_reply = "대시보드 화면"
    sync_with_image(staff_client)
    ingest.process_document(Document.objects.get().pk)

    assert sync_with_image(staff_client).json()["action"] == "unchanged"
    document = Document.objects.get()
    assert document.content.endswith("이미지설명(1): 대시보드 화면")
    assert document.metadata["image_descriptions"] == [{"url": "/uploads/sample.png", "caption": "대시보드 화면"}]
