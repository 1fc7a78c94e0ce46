"""GET /api/v1/analytics/search-quality over real knowledge-chat turns (retrieval, logs, rollups)."""

from analytics.services import statistics
from chat.tests.conftest import KNOWLEDGE_KEY, add_document

EXTRA = {
    f"notice-{n}.txt": f"{n}층 공용 냉장고는 금요일마다 비웁니다. 개인 물품은 이름을 붙여 주세요." for n in range(1, 5)
}

URL = "/api/v1/analytics/search-quality"


def test_the_report_names_the_cited_and_the_never_retrieved_documents(alice_client, staff_client, knowledge_corpus):
    for name, text in EXTRA.items():  # more documents than one retrieval returns (5)
        add_document(owner=None, filename=name, content=text)
    for question in ("환불은 며칠 안에 신청할 수 있나요?", "환불은 며칠 안에 신청할 수 있나요?"):
        alice_client.post("/api/v1/rag/chat", {"message": question, "rag_key": KNOWLEDGE_KEY}, format="json")
    statistics.roll_up()

    body = staff_client.get(URL, {"collection": KNOWLEDGE_KEY, "days": 1}).json()

    cited = {row["filename"]: row["times"] for row in body["most_cited"]}
    assert cited["refund.txt"] >= 2
    assert body["answers"] == 2
    never = {row["filename"] for row in body["never_retrieved"]}
    assert never and never == (set(knowledge_corpus) | set(EXTRA)) - set(cited)
    assert sum(bucket["count"] for bucket in body["top_score"]["histogram"]) == 2


def test_the_report_needs_a_collection(staff_client):
    response = staff_client.get(URL, {"days": 7})

    assert response.status_code == 400
    assert "컬렉션별로" in response.json()["error"]["message"]
