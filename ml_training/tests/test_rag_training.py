"""The rag trainer: feedback-labelled queries, the grid search over text weight x k1 x b, the held-out
and AutoRAG gate, and the served parameters in the knowledge chat, the partner chat and the search API.

The fixture collection (`codes`): product sheets named by a rare word ("가람호"), three FAQ pages dense in
the question's common words and notices that spread those words thin. Questions name a product and ask
with the common words, so the keyword decides: the hand-tuned text weight 0.7 ranks the FAQ pages
first (the sheet 4th, still among the sources a user can mark helpful), text-only search ranks it 1st.
"""

import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from chat.models import KnowledgeMessage
from chat.services import knowledge_chat
from chat.services.partner_chat import prepare_turn, warm_up
from chat.tests.partner_helpers import partner_with_key
from ml_training.models import ModelType, ModelVersion, TrainingJob
from ml_training.services import jobs, metrics, rag_ranking, rag_rescoring, rag_trainer, registry, serving
from ml_training.services.feedback import FeedbackInput, check_knowledge_answer, give_feedback
from ml_training.services.gate import ACCEPTED, REFUSED
from ml_training.services.rag_ranking import RagRanking
from rag.models import RagType
from rag.services.search import DEFAULT_RANKING, RankingParams, scope_for, search
from rag.tests.helpers import add_document

pytestmark = pytest.mark.usefixtures("model_store")

# A small public set in the AutoRAG format: each topic's page answers its question, the others do not.
PUBLIC_TOPICS = {
    "기차": ("고속열차 승차권은 출발 한 달 전부터 예매할 수 있고 환불 수수료는 출발 시각에 따라 다릅니다.",
             "고속열차 승차권 예매는 언제부터 가능한가요?"),
    "도서관": ("시립 도서관은 한 번에 다섯 권까지 두 주 동안 대출하며 연체하면 그 기간만큼 대출이 정지됩니다.",
              "도서관에서 책은 몇 권까지 대출되나요?"),
    "여권": ("여권 재발급은 구청 민원실에서 신청하고 사진 한 장과 신분증이 필요하며 발급까지 일주일 걸립니다.",
            "여권 재발급 신청에 필요한 서류는 무엇인가요?"),
    "분리수거": ("페트병은 라벨을 떼고 내용물을 비운 뒤 투명 페트병 전용 수거함에 배출합니다.",
               "페트병 분리수거 방법을 알려 주세요."),
    "건강검진": ("국가 건강검진은 짝수 해 출생자가 짝수 해에 받으며 검진 전날 저녁부터 금식합니다.",
              "국가 건강검진 전에 금식은 언제부터 하나요?"),
    "전기요금": ("주택용 전기요금은 누진제로 사용량 구간마다 단가가 올라가며 여름철에는 구간이 넓어집니다.",
              "주택용 전기요금 누진제 구간은 어떻게 되나요?"),
}
# A public set where keywords mislead: each question names a model by its code ("AB12CD"), which its page
# writes with hyphens ("AB-12-CD": other words to BM25, shared character n-grams to the embedder), while
# short notices repeat the question's other words. Text-only BM25 ranks the notices first; the hybrid's
# vector side lifts the page.
MODEL_CODES = ["AB12CD", "KQ47ZT", "MX93PL", "RW28HN", "TJ65VB", "GL31SE"]
NOTICES = 3


def write_autorag_set(path, corpus: list[dict], qa: list[dict]) -> None:
    pq.write_table(pa.Table.from_pylist(corpus), path / "ocr_corpus_v3.parquet")
    pq.write_table(pa.Table.from_pylist(qa), path / "qa_v4.parquet")


@pytest.fixture(autouse=True)
def public_set(settings, tmp_path_factory):
    """The trainer's AutoRAG gate reads this small set (CI has no ../shared): each topic's page answers its
    question, the others do not."""
    path = tmp_path_factory.mktemp("autorag")
    corpus = [{"doc_id": f"{topic} - 1", "contents": page} for topic, (page, _) in PUBLIC_TOPICS.items()]
    qa = [
        {"qid": f"{i}_public", "query": question, "retrieval_gt": [[f"{topic} - 1"]], "generation_gt": [page]}
        for i, (topic, (page, question)) in enumerate(PUBLIC_TOPICS.items())
    ]
    write_autorag_set(path, corpus, qa)
    settings.AUTORAG_DATASET_DIR = path


@pytest.fixture
def misleading_keywords_public_set(settings, tmp_path_factory):
    """The gate's public set is the one where text-only search loses (MODEL_CODES)."""
    path = tmp_path_factory.mktemp("autorag-codes")
    hyphenated = [f"{code[:2]}-{code[2:4]}-{code[4:]}" for code in MODEL_CODES]
    pages = [f"{written} 모델의 무상 보증 기간은 {i + 1}년입니다." for i, written in enumerate(hyphenated)]
    notices = [f"보증 기간 안내 {k}: 보증 기간 보증 기간 문의" for k in range(NOTICES)]
    corpus = [{"doc_id": f"model{i} - 1", "contents": page} for i, page in enumerate(pages)]
    corpus += [{"doc_id": f"notice{k} - 1", "contents": notice} for k, notice in enumerate(notices)]
    qa = [
        {"qid": f"{i}_codes", "query": f"{code} 보증 기간은 얼마인가요?", "retrieval_gt": [[f"model{i} - 1"]],
         "generation_gt": [pages[i]]}
        for i, code in enumerate(MODEL_CODES)
    ]  # fmt: skip
    write_autorag_set(path, corpus, qa)
    settings.AUTORAG_DATASET_DIR = path


CODES_KEY = "kb_codes"
SMALL_KEY = "kb_small"
NAMES = [first + second for first in "가나다라마" for second in "람온루빛"]  # 20 product names
COMMON = "제품 사용 설명 안내 문의"
TEXT_ONLY = RankingParams(text_weight=1.0)
# Small but complete: a 15-question AutoRAG sample, few bootstrap resamples, a grid around the answer.
FAST = {
    "autorag_sample": 15,
    "bootstrap_resamples": 500,
    "min_queries": 5,
    "min_queries_per_rag_key": 8,
    "text_weights": [0.5, 0.7, 1.0],
    "k1_values": [0.8, 1.2],
    "b_values": [0.5, 0.75],
}


def question(name: str) -> str:
    return f"{name}호 {COMMON}"


def add_codes_collection(rag_key: str = CODES_KEY, names=NAMES) -> dict:
    """{name: product sheet} plus the FAQ pages and notices of `rag_key` (shared documents)."""
    sheets = {
        name: add_document(f"{name}호 규격표: 높이 {i + 3}0센티미터.", rag_key=rag_key, filename=f"{name}.txt")
        for i, name in enumerate(names)
    }
    faq = (
        f"{COMMON}: 모든 제품의 사용 설명과 안내, 문의 방법을 정리했습니다. "
        "제품 사용 전 설명서를 읽고 문의해 주세요. 번호 "
    )
    notice = (
        "매장 이전과 영업시간 변경, 주차 요금, 회원 혜택, 포인트 적립, 이벤트 일정, 배송 지연 소식을 전합니다. "
        f"{COMMON}는 고객센터로 연락 바랍니다. 공지 "
    )
    for prefix, count, text in (("faq", 3, faq), ("notice", 16, notice)):
        for k in range(count):
            add_document(f"{text}{k}", rag_key=rag_key, filename=f"{prefix}{k}.txt")
    return sheets


def ask_and_mark_helpful(user, rag_key: str, name: str, sheet) -> KnowledgeMessage:
    """The knowledge chat answers; the user marks the product sheet (one of the sources) as the helpful one."""
    result = knowledge_chat.chat(user=user, message=question(name), rag_key=rag_key, rag_type=RagType.CHATBOT_SHARED)
    assert sheet.pk in {source["document_id"] for source in result.sources}, result.sources
    give_feedback(
        check_knowledge_answer(user=user, message_id=result.message_id),
        FeedbackInput(helpful_source={"document_id": sheet.pk}),
    )
    return KnowledgeMessage.objects.get(pk=result.message_id)


@pytest.fixture(autouse=True)
def every_retrieved_chunk_is_a_source(settings):
    """The chat shows all its hits as sources, so the product sheet the default ranking puts low is one the
    asker can mark helpful (what the trainer learns from); the relevance floor has tests of its own."""
    settings.RAG_RELEVANCE_FLOOR = 0.0


@pytest.fixture
def asker(db):
    return get_user_model().objects.create_user(username="asker")


@pytest.fixture
def codes(asker):
    """The collection with every product's question answered and its sheet marked helpful."""
    sheets = add_codes_collection()
    for name, sheet in sheets.items():
        ask_and_mark_helpful(asker, CODES_KEY, name, sheet)
    return sheets


def run_trainer(config=None):
    """The trainer's job run in this process (the Celery path has its own test)."""
    job = jobs.schedule_job(ModelType.RAG, config={**FAST, **(config or {})})
    progress = jobs.Progress(job)
    return job, rag_trainer.run_job(job, jobs.validate_config(ModelType.RAG, job.training_config), progress)


def rag_version(ranking: RagRanking) -> ModelVersion:
    manifest, arrays = rag_ranking.to_artifact(ranking)
    return registry.register(ModelType.RAG, manifest=manifest, arrays=arrays, metrics={})


@pytest.fixture
def refresh_every_call(monkeypatch):
    monkeypatch.setattr(serving, "CHECK_INTERVAL_S", 0.0)


# --- re-scoring -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [DEFAULT_RANKING, TEXT_ONLY, RankingParams(k1=0.5, b=0.25, text_weight=0.3)], ids=str
)
def test_the_rescored_ranking_is_the_search_ranking_for_any_parameters(db, params):
    add_codes_collection(names=NAMES[:6])
    scope = scope_for(user=None, rag_key=CODES_KEY, rag_type=RagType.CHATBOT_SHARED)

    for name in NAMES[:6]:
        pool = rag_rescoring.candidate_pool(scope, question(name), 8)
        hits = search(user=None, rag_key=CODES_KEY, rag_type=RagType.CHATBOT_SHARED, query=question(name), limit=8,
                      ranking=params)  # fmt: skip

        assert pool.chunk_ids[pool.ranked_chunks(params, 8)].tolist() == [hit.chunk_id for hit in hits]


# --- labels -----------------------------------------------------------------------------------------------


def test_a_source_marked_helpful_is_the_relevant_document_of_its_question(asker):
    sheets = add_codes_collection(names=NAMES[:2])

    ask_and_mark_helpful(asker, CODES_KEY, NAMES[0], sheets[NAMES[0]])

    [labelled] = rag_trainer.labelled_queries()
    assert labelled.query == question(NAMES[0]) and labelled.relevant == {sheets[NAMES[0]].pk}
    assert (labelled.rag_key, labelled.rag_type, labelled.user_id) == (CODES_KEY, RagType.CHATBOT_SHARED, asker.pk)


@pytest.mark.parametrize(("given", "labels_sources"), [({"vote": "up"}, True), ({"rating": 5}, True),
                                                        ({"vote": "down"}, False), ({"rating": 3}, False)])  # fmt: skip
def test_the_sources_of_a_positively_rated_answer_are_relevant(asker, given, labels_sources):
    add_codes_collection(names=NAMES[:2])
    result = knowledge_chat.chat(user=asker, message=question(NAMES[0]), rag_key=CODES_KEY,
                                 rag_type=RagType.CHATBOT_SHARED)  # fmt: skip

    give_feedback(check_knowledge_answer(user=asker, message_id=result.message_id), FeedbackInput(**given))

    labelled = rag_trainer.labelled_queries()
    if labels_sources:
        assert [q.relevant for q in labelled] == [rag_trainer.cited_documents(result.answer, result.sources)]
        assert labelled[0].relevant
    else:
        assert labelled == []


def test_an_answer_citing_some_sources_labels_only_those():
    sources = [{"document_id": 1}, {"document_id": 2}, {"document_id": 3}]

    assert rag_trainer.cited_documents("환불은 7일 안에 됩니다 [2].", sources) == {2}
    assert rag_trainer.cited_documents("환불은 7일 안에 됩니다.", sources) == {1, 2, 3}


def test_the_held_out_slice_is_chosen_by_the_hash_of_the_normalised_question():
    ask = rag_trainer.LabelledQuery
    held = [ask(q, rag_trainer.normalize_query(q), "k", "both", 1, frozenset({1})).held_out
            for q in (question(name) for name in NAMES)]  # fmt: skip

    assert 0 < sum(held) < len(held)
    assert rag_trainer.normalize_query("  가람호   제품  ") == rag_trainer.normalize_query("가람호 제품")


# --- the trainer ------------------------------------------------------------------------------------------


def test_the_trainer_learns_the_keyword_heavy_parameters_and_the_held_out_mrr_improves(codes):
    job, outcome = run_trainer()

    default = outcome.manifest["default"]
    assert default["text_weight"] == 1.0
    held = outcome.metrics["held_out"]
    assert held["queries"] > 0 and held["candidate"]["mrr"] > held["champion"]["mrr"] + 0.3
    assert outcome.decision.decision == ACCEPTED, outcome.decision.reason
    assert outcome.decision.ci_low > 0
    job.refresh_from_db()
    assert job.train_count + job.test_count == len(NAMES) and job.test_count == held["queries"]
    log = "\n".join(job.log_tail)
    assert "그리드 탐색: 파라미터 세트 12개" in log and "세트·쿼리당" in log and "AutoRAG" in log


def test_the_calibration_is_refitted_for_the_learned_weight(codes):
    _, outcome = run_trainer()

    slope, intercept = outcome.manifest["default"]["calibration"]
    assert slope > 0 and [slope, intercept] != list(DEFAULT_RANKING.calibration)


def test_a_rag_key_with_enough_queries_gets_its_own_parameters_the_others_the_default(codes, asker):
    small = add_codes_collection(SMALL_KEY, names=NAMES[:3])
    for name, sheet in small.items():
        ask_and_mark_helpful(asker, SMALL_KEY, name, sheet)

    _, outcome = run_trainer()

    ranking = rag_ranking.from_artifact(outcome.manifest, {})
    assert set(ranking.per_rag_key) == {CODES_KEY}
    assert ranking.for_rag_key(SMALL_KEY) == ranking.default
    assert ranking.for_rag_key(CODES_KEY).text_weight == 1.0


def test_the_gate_refuses_parameters_that_make_autorag_worse(codes, misleading_keywords_public_set):
    # Text-only BM25 with a high k1 wins the keyword questions but loses AutoRAG questions.
    _, outcome = run_trainer({"text_weights": [1.0], "k1_values": [3.0], "b_values": [0.75]})

    assert outcome.metrics["held_out"]["candidate"]["mrr"] > outcome.metrics["held_out"]["champion"]["mrr"]
    autorag = outcome.metrics["autorag"]["mrr"]["default"]
    assert autorag["candidate"] < autorag["champion"] - rag_trainer.TRAINER.options["autorag_tolerance"].default
    assert outcome.decision.decision == REFUSED
    assert outcome.decision.reason.startswith("default의 AutoRAG MRR이 챔피언보다")


def test_the_grid_search_keeps_to_parameters_that_do_not_make_autorag_worse(codes, misleading_keywords_public_set):
    # With b 0.5, text-only search wins the keyword questions but loses AutoRAG; the text weight 0.5 does not.
    _, outcome = run_trainer({"text_weights": [0.5, 1.0], "k1_values": [1.2], "b_values": [0.5]})

    assert outcome.metrics["grid"]["autorag_safe"] == 1
    assert outcome.manifest["default"]["text_weight"] == 0.5
    autorag = outcome.metrics["autorag"]["mrr"]["default"]
    assert autorag["candidate"] >= autorag["champion"] - rag_trainer.TRAINER.options["autorag_tolerance"].default


def test_too_few_labelled_queries_fail_the_job_with_the_reason(db):
    job = jobs.schedule_job(ModelType.RAG, config=FAST)

    finished = jobs.run_job(job.pk)

    assert finished.status == "failed"
    assert "피드백 라벨이 붙은 학습 쿼리가 0개뿐입니다" in finished.error_message


def test_a_bad_rag_config_is_refused_before_any_job_exists(db):
    with pytest.raises(jobs.JobConfigError, match="text_weights: .* 중에서 고른, 비어 있지 않은 목록"):
        jobs.schedule_job(ModelType.RAG, config={"text_weights": [0.75]})
    assert not TrainingJob.objects.exists()


# --- serving ----------------------------------------------------------------------------------------------


def test_a_champion_with_out_of_range_parameters_is_refused_and_the_previous_one_keeps_serving(
    db, refresh_every_call, django_capture_on_commit_callbacks
):
    good = rag_version(RagRanking(default=TEXT_ONLY))
    manifest, _ = rag_ranking.to_artifact(RagRanking())
    bad = registry.register(
        ModelType.RAG, manifest={**manifest, "default": {**manifest["default"], "text_weight": 7}}, arrays={},
        metrics={},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(good, by="staff")
    assert serving.rag_ranking_for(1, CODES_KEY)[0] == TEXT_ONLY

    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(bad, by="staff")

    assert serving.rag_ranking_for(1, CODES_KEY) == (
        TEXT_ONLY, {"version_id": good.pk, "version": good.version, "group": "champion"}
    )  # fmt: skip
    with pytest.raises(ValueError, match="text_weight must be a number between 0.0 and 1.0"):
        rag_ranking.from_artifact(*registry.load_artifact(bad))


@dataclass(frozen=True)
class AbTest:
    champion: ModelVersion
    challenger: ModelVersion
    inside: list  # users in the challenger's sticky share
    outside: list


@pytest.fixture
def ab_test(db, refresh_every_call, django_capture_on_commit_callbacks) -> AbTest:
    """The collection; the built-in parameters as champion, text-only search for CODES_KEY as a 50 % challenger."""
    add_codes_collection()
    champion = rag_version(RagRanking())
    challenger = rag_version(RagRanking(per_rag_key={CODES_KEY: TEXT_ONLY}))
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
        registry.start_ab(challenger, 50, by="staff")
    users = [get_user_model().objects.create_user(username=f"user{i}") for i in range(40)]
    inside = [user for user in users if serving.bucket(f"rag-ab-{challenger.pk}", user.pk) < 5000]
    return AbTest(champion, challenger, inside, [user for user in users if user not in inside])


def first_source(user, name: str) -> str:
    result = knowledge_chat.chat(user=user, message=question(name), rag_key=CODES_KEY, rag_type=RagType.CHATBOT_SHARED)
    return result.sources[0]["filename"]


def test_a_challenger_user_gets_the_learned_ranking_and_the_others_the_champions(ab_test):
    assert ab_test.inside and ab_test.outside
    assert {first_source(user, NAMES[0]) for user in ab_test.inside[:3]} == {f"{NAMES[0]}.txt"}
    assert {first_source(user, NAMES[0]) for user in ab_test.outside[:3]} <= {"faq0.txt", "faq1.txt", "faq2.txt"}


def test_each_knowledge_message_records_the_rag_version_whose_parameters_it_used(ab_test):
    for user in (ab_test.inside[0], ab_test.outside[0], ab_test.inside[0]):
        first_source(user, NAMES[0])

    served = [m.model_versions["rag"] for m in KnowledgeMessage.objects.filter(role="assistant").order_by("pk")]
    challenger, champion = ab_test.challenger, ab_test.champion
    assert served == [
        {"version_id": challenger.pk, "version": challenger.version, "group": "challenger"},
        {"version_id": champion.pk, "version": champion.version, "group": "champion"},
        {"version_id": challenger.pk, "version": challenger.version, "group": "challenger"},
    ]


def test_a_partner_users_turn_is_ranked_and_attributed_by_their_group(ab_test):
    partner_with_key(CODES_KEY)  # a partner's own rag_key is its partner_id
    experiment = f"rag-ab-{ab_test.challenger.pk}"
    by_group = {
        "challenger" if serving.bucket(experiment, f"partner:{CODES_KEY}:u{i}") < 5000 else "champion": f"u{i}"
        for i in range(20)
    }

    assert set(by_group) == {"challenger", "champion"}
    for group, user_uuid in by_group.items():
        warm_up(partner_id=CODES_KEY, session_id=f"s-{user_uuid}", user_uuid=user_uuid)
        turn = prepare_turn(partner_id=CODES_KEY, session_id=f"s-{user_uuid}", message=question(NAMES[0]))
        assert turn.retrieval_info["model_versions"]["rag"]["group"] == group
        assert (turn.sources[0]["filename"] == f"{NAMES[0]}.txt") == (group == "challenger")


def test_a_rag_key_without_its_own_parameters_is_searched_with_the_versions_default(
    db, refresh_every_call, django_capture_on_commit_callbacks
):
    version = rag_version(RagRanking(default=TEXT_ONLY, per_rag_key={SMALL_KEY: DEFAULT_RANKING}))
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(version, by="staff")

    assert serving.rag_ranking_for(1, CODES_KEY) == (
        TEXT_ONLY, {"version_id": version.pk, "version": version.version, "group": "champion"}
    )  # fmt: skip
    assert serving.rag_ranking_for(1, SMALL_KEY)[0] == DEFAULT_RANKING


def test_shared_results_cached_under_other_parameters_are_never_served(db):
    add_codes_collection()

    def first(ranking):
        hits = search(user=None, rag_key=CODES_KEY, rag_type=RagType.CHATBOT_SHARED, query=question(NAMES[0]),
                      limit=5, ranking=ranking)  # fmt: skip
        return hits[0].filename

    assert first(DEFAULT_RANKING).startswith("faq")
    assert first(TEXT_ONLY) == f"{NAMES[0]}.txt"
    assert first(DEFAULT_RANKING).startswith("faq")  # its own cached entry


def test_the_search_api_ranks_with_the_callers_served_parameters(
    alice_client, refresh_every_call, django_capture_on_commit_callbacks
):
    add_codes_collection()
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(rag_version(RagRanking(per_rag_key={CODES_KEY: TEXT_ONLY})), by="staff")

    response = alice_client.post(
        "/api/v1/rag/search", {"rag_key": CODES_KEY, "query": question(NAMES[0]), "limit": 3}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["filename"] == f"{NAMES[0]}.txt"


# --- end to end -------------------------------------------------------------------------------------------


def test_a_rag_job_runs_in_the_worker_and_its_version_serves_the_learned_parameters(
    celery_worker_thread, refresh_every_call
):
    asker = get_user_model().objects.create_user(username="asker")
    for name, sheet in add_codes_collection().items():
        ask_and_mark_helpful(asker, CODES_KEY, name, sheet)

    job = jobs.schedule_job(ModelType.RAG, config=FAST, created_by="kim")
    deadline = time.monotonic() + 240
    while TrainingJob.objects.get(pk=job.pk).status not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, TrainingJob.objects.get(pk=job.pk).log_tail
        time.sleep(0.3)

    job.refresh_from_db()
    assert job.status == "completed", (job.error_message, job.log_tail)
    assert job.promotion["decision"] == ACCEPTED and job.promotion["action"] == "activated"
    version = registry.champion(ModelType.RAG)
    assert version.version == job.model_version and version.checksum
    assert serving.rag_ranking_for(asker.pk, CODES_KEY)[0].text_weight == 1.0
    assert first_source(asker, NAMES[0]) == f"{NAMES[0]}.txt"


def test_the_hour_rolls_up_per_rag_version_with_its_helpful_source_rate(
    asker, refresh_every_call, django_capture_on_commit_callbacks
):
    sheets = add_codes_collection(names=NAMES[:2])
    version = rag_version(RagRanking(default=TEXT_ONLY))
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(version, by="staff")
    ask_and_mark_helpful(asker, CODES_KEY, NAMES[0], sheets[NAMES[0]])
    first_source(asker, NAMES[1])  # answered, no feedback

    [row] = [row for row in metrics.roll_up_hour(timezone.now()) if row.model_type == ModelType.RAG]

    assert (row.model_type, row.model_version_id, row.request_count, row.error_count) == ("rag", version.pk, 2, 0)
    assert row.model_specific_metrics == {"helpful_source_rate": 0.5, "negative_feedback_rate": 0.0}
    assert row.p50_response_time_ms is not None
