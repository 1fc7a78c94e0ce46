"""Graph-RAG metadata (seed 001): the LLM returns JSON {summary, entities, relations}.

Entities are de-duplicated by name and length-limited; relations are kept only when source, relation and
target are all present. On any failure (provider error, not JSON, wrong shape) only a summary is stored,
with empty entity metadata.
"""

import logging

from rag.services.text import split_sentences

logger = logging.getLogger(__name__)

MAX_ENTITIES = 30
MAX_RELATIONS = 50
NAME_MAX = 80
TYPE_MAX = 40
DESCRIPTION_MAX = 200
SUMMARY_MAX = 500
PROMPT_CONTENT_MAX = 6000

SYSTEM_PROMPT = (
    "너는 문서에서 지식 그래프를 추출하는 도우미다. 반드시 JSON 객체 하나만 답한다: "
    '{"summary": "문서 요약(3문장 이내)", '
    '"entities": [{"name": "이름", "type": "유형", "description": "설명"}], '
    '"relations": [{"source": "엔티티", "relation": "관계", "target": "엔티티"}]}'
)


def _text(value, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int | float) else ""


def lead_summary(content: str, limit: int = 200) -> str:
    """An extractive fallback summary: the first sentences, up to `limit` characters."""
    summary = ""
    for sentence in split_sentences(content):
        if summary and len(summary) + len(sentence) + 1 > limit:
            break
        summary = f"{summary} {sentence}".strip()
    return summary[:limit]


def empty_graph(summary: str) -> dict:
    return {
        "ai_summary": summary,
        "entity_nodes": [],
        "entity_relations": [],
        "entity_names": [],
        "entity_count": 0,
        "relation_count": 0,
    }


def clean_graph(payload: dict, content: str) -> dict:
    """Validate and normalise the LLM's JSON into the seed-001 top-level metadata fields."""
    if not isinstance(payload, dict):
        raise ValueError("graph reply is not a JSON object")
    entities = payload.get("entities") or []
    relations = payload.get("relations") or []
    if not isinstance(entities, list) or not isinstance(relations, list):
        raise ValueError("entities and relations must be lists")

    nodes: list[dict] = []
    seen: set[str] = set()
    for entity in entities:
        name = _text(entity.get("name"), NAME_MAX) if isinstance(entity, dict) else _text(entity, NAME_MAX)
        if not name or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        details = entity if isinstance(entity, dict) else {}
        nodes.append(
            {
                "name": name,
                "type": _text(details.get("type", ""), TYPE_MAX),
                "description": _text(details.get("description", ""), DESCRIPTION_MAX),
            }
        )
        if len(nodes) == MAX_ENTITIES:
            break

    edges: list[dict] = []
    seen_edges: set[tuple] = set()
    for relation in relations:
        if not isinstance(relation, dict):
            continue
        edge = {key: _text(relation.get(key), NAME_MAX) for key in ("source", "relation", "target")}
        key = tuple(value.casefold() for value in edge.values())
        if not all(edge.values()) or key in seen_edges:
            continue
        seen_edges.add(key)
        edges.append(edge)
        if len(edges) == MAX_RELATIONS:
            break

    # Names of every entity mentioned, in nodes or as relation endpoints (seed 001 example: 1 node, 2 names).
    names: list[str] = []
    seen_names: set[str] = set()
    for name in [node["name"] for node in nodes] + [edge[end] for edge in edges for end in ("source", "target")]:
        if name.casefold() not in seen_names:
            seen_names.add(name.casefold())
            names.append(name)

    summary = _text(payload.get("summary", ""), SUMMARY_MAX) or lead_summary(content)
    return {
        "ai_summary": summary,
        "entity_nodes": nodes,
        "entity_relations": edges,
        "entity_names": names,
        "entity_count": len(names),
        "relation_count": len(edges),
    }


def _enclosed(content: str) -> str:
    """The document text for the prompt's <document> block (rag.providers.prompts convention)."""
    return content[:PROMPT_CONTENT_MAX].replace("</document", "‹/document")


def extract_graph_metadata(title: str, content: str) -> dict:
    """Summary, entities and relations of a document; never raises (falls back to a summary only)."""
    try:
        from rag.providers import get_llm

        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"제목: {title}\n<document>\n{_enclosed(content)}\n</document>"},
        ]
        return clean_graph(get_llm().complete_json(messages, temperature=0.0), content)
    except Exception as exc:  # noqa: BLE001 - any failure means the summary-only fallback (seed 001)
        logger.info("graph metadata extraction failed, storing a summary only: %s", exc)
        return empty_graph(lead_summary(content))
