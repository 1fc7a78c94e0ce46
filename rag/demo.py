"""Demo data for `make run`: a small Korean knowledge base, ingested synchronously. Idempotent: documents
are upserted by doc_id, so unchanged texts are not re-embedded on the next start."""

from django.contrib.auth import get_user_model

from rag.models import RagType
from rag.services import ingest

# (rag_key, doc_id, title, content); shared documents of two chatbots.
SHARED = [
    ("dining-guide", "card-limit", "급식카드 사용 한도",
     "급식카드 1회 사용 한도는 9,000원입니다. 하루 최대 두 번 결제할 수 있고, "
     "남은 금액은 다음 달로 이월되지 않습니다."),
    ("dining-guide", "card-places", "급식카드 가맹점",
     "급식카드 가맹점은 편의점, 분식집, 한식당, 제과점입니다. 주류와 담배는 결제할 수 없습니다. "
     "가맹점 여부는 가게 입구의 스티커나 앱 지도에서 확인하세요."),
    ("dining-guide", "card-lost", "카드 분실",
     "카드를 잃어버렸다면 주민센터에 분실 신고를 하고 재발급을 신청하세요. "
     "재발급에는 보통 일주일이 걸리며, 그동안은 임시 이용권을 받을 수 있습니다."),
    ("dining-guide", "night-meal", "늦은 시간 식사",
     "밤 10시 이후 영업하는 가맹점은 24시 편의점과 일부 김밥집입니다. "
     "야식으로는 편의점 도시락과 우유를 함께 고르는 것을 추천합니다."),
    ("dining-guide", "coupon", "쿠폰 안내",
     "신규 가입자에게는 3천원 할인 쿠폰이 지급되고, 쿠폰은 발급일로부터 30일 동안 사용할 수 있습니다. "
     "잔액이 부족할 때는 긴급 식사 쿠폰이 24시간 동안 제공됩니다."),
    ("school-notice", "vacation", "방학 중 급식 지원",
     "여름방학 기간에는 학교 급식이 없으므로 방학 중 급식 지원금이 카드에 추가로 충전됩니다. "
     "충전일은 방학 시작 전날입니다."),
    ("school-notice", "allergy", "알레르기 대체 식단",
     "식품 알레르기가 있는 학생은 담임 선생님께 알레르기 확인서를 제출하면 대체 식단을 제공받습니다."),
    ("school-notice", "menu", "이번 주 점심 메뉴",
     "월요일 비빔밥, 화요일 돈가스, 수요일 카레라이스, 목요일 잔치국수, 금요일 치킨마요덮밥입니다."),
]
# (username, rag_key, doc_id, title, content); isolated documents of the demo user.
USER_DOCUMENTS = [
    ("demo", "dining-guide", "my-notes", "내 메모",
     "나는 매운 음식을 잘 못 먹는다. 학교 앞 김밥천국은 급식카드가 된다."),
    ("demo", "school-notice", "my-schedule", "내 일정",
     "수요일에는 방과후 수업이 있어서 저녁을 6시 이후에 먹는다."),
]


def load(stdout) -> None:
    created = 0
    for rag_key, doc_id, title, content in SHARED:
        result = ingest.upsert_document(
            owner=None, rag_key=rag_key, rag_type=RagType.CHATBOT_SHARED, filename=title, content=content,
            metadata={"title": title, "tags": ["demo"]}, doc_id=doc_id, source_type="demo", run_now=True,
        )
        created += result.changed
    user_model = get_user_model()
    for username, rag_key, doc_id, title, content in USER_DOCUMENTS:
        owner, _ = user_model.objects.get_or_create(username=username)
        result = ingest.upsert_document(
            owner=owner, rag_key=rag_key, rag_type=RagType.USER_ISOLATED, filename=title, content=content,
            metadata={"title": title, "tags": ["demo"]}, doc_id=doc_id, source_type="demo", run_now=True,
        )
        created += result.changed
    stdout.write(f"  rag: {created} document(s) (re)indexed, rag_keys: dining-guide, school-notice")
