"""Graph-RAG metadata (seed 001): dedupe, length limits, complete relations only, summary-only fallback."""

import pytest

from rag.services.graph import NAME_MAX, clean_graph, extract_graph_metadata

CONTENT = "A프로젝트는 N2SQL 기술을 사용한다. 팀은 매주 코칭을 받는다."


def test_entities_are_deduplicated_by_name_and_length_limited():
    graph = clean_graph(
        {
            "summary": "요약",
            "entities": [
                {"name": "N2SQL", "type": "technology"},
                {"name": "n2sql", "type": "duplicate"},
                {"name": "가" * 500, "type": "long"},
                {"name": "", "type": "nameless"},
            ],
            "relations": [],
        },
        CONTENT,
    )

    assert [node["name"] for node in graph["entity_nodes"]] == ["N2SQL", "가" * NAME_MAX]


def test_relations_need_source_relation_and_target():
    graph = clean_graph(
        {
            "summary": "요약",
            "entities": [{"name": "N2SQL"}],
            "relations": [
                {"source": "A프로젝트", "relation": "uses", "target": "N2SQL"},
                {"source": "A프로젝트", "relation": "", "target": "N2SQL"},
                {"source": "A프로젝트", "target": "코칭"},
                "not an object",
            ],
        },
        CONTENT,
    )

    assert graph["entity_relations"] == [{"source": "A프로젝트", "relation": "uses", "target": "N2SQL"}]
    assert graph["relation_count"] == 1
    assert graph["entity_names"] == ["N2SQL", "A프로젝트"]  # nodes plus relation endpoints, as in seed 001
    assert graph["entity_count"] == 2


@pytest.mark.django_db
def test_llm_json_is_stored_as_graph_metadata(openai_server):
    openai_server.reply_json(
        {"summary": "N2SQL을 쓰는 프로젝트", "entities": [{"name": "N2SQL", "type": "technology"}],
         "relations": [{"source": "A프로젝트", "relation": "uses", "target": "N2SQL"}]}
    )

    graph = extract_graph_metadata("후기", CONTENT)

    assert graph["ai_summary"] == "N2SQL을 쓰는 프로젝트"
    assert graph["entity_count"] == 2 and graph["relation_count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("reply", ["JSON이 아닌 답변입니다", '{"summary": "요약", "entities": "not a list"}'])
def test_unusable_llm_reply_falls_back_to_summary_only(openai_server, reply):
    openai_server.chat_reply = reply

    graph = extract_graph_metadata("후기", CONTENT)

    assert graph["ai_summary"].startswith("A프로젝트는 N2SQL 기술을 사용한다.")
    assert graph["entity_nodes"] == [] and graph["entity_relations"] == [] and graph["entity_names"] == []
    assert graph["entity_count"] == 0 and graph["relation_count"] == 0


@pytest.mark.django_db
def test_llm_outage_falls_back_to_summary_only(openai_server):
    openai_server.fail_next(10, status=500)

    graph = extract_graph_metadata("후기", CONTENT)

    assert graph["ai_summary"] and graph["entity_count"] == 0
