"""The offline default LLM: deterministic, extractive Korean answers from the passages in the prompt.

* Answers: the question is the last user message; the passages are the `<context>` block (see
  `prompts`). Sentences of the passages are scored by shared Kiwi content morphemes with the
  question (rarer morphemes weigh more; earlier passages win ties), the best few are returned in
  document order after "자료에 따르면, " with their sources. A question about oneself (a first-person
  pronoun: "내 상태 어떠니?") with a passage about the asker (`about="asker"`) is answered from that
  passage. No passage or no overlap: NO_ANSWER_MARK when the system prompt asks for it (see `prompts`),
  else a polite "관련 자료를 찾지 못했어요" answer.
* JSON (`complete_json`): a routing prompt (mentions `route` and `sql`) gets
  `{"route": "sql"|"rag", "reason": ...}` — sql when the question asks for counts/aggregates;
  a graph-extraction prompt (mentions `entities`/`summary`) gets `{"summary", "entities",
  "relations": []}` built from the document text; anything else gets `{"answer": <answer>}`.

Sampling parameters are accepted and ignored (the answer is deterministic); `max_tokens` caps the
number of streamed words.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from .local_embedder import QUESTION_WORDS, get_kiwi, kiwi_morphemes, kiwi_morphemes_batch
from .prompts import NO_ANSWER_MARK, all_text, asks_for_the_mark, document_text, extract_passages, last_user_text

ANSWER_LEAD = "자료에 따르면, "
NOT_FOUND_ANSWER = "관련 자료를 찾지 못했어요. 질문을 조금 더 구체적으로 적어 주시면 다시 찾아볼게요."
NO_QUESTION_ANSWER = "무엇을 도와드릴까요? 궁금한 내용을 질문으로 적어 주세요."
MAX_ANSWER_SENTENCES = 3
MAX_ANSWER_CHARS = 600
RELEVANCE_RATIO = 0.5  # a sentence joins the answer when it scores at least half the best one

_FIRST_PERSON = frozenset({"나", "저", "우리"})
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?。？！])\s+|\n+")

_AGGREGATE_PATTERNS = [
    ("몇 개", r"몇\s*개"), ("몇 명", r"몇\s*명"), ("몇 건", r"몇\s*건"), ("몇 번", r"몇\s*번"),
    ("통계", r"통계"), ("평균", r"평균"), ("합계", r"합계"), ("총합", r"총합"), ("건수", r"건수"),
    ("개수", r"개수"), ("인원수", r"인원\s*수"), ("비율", r"비율"), ("순위", r"순위"), ("최다", r"최다|가장\s*많"),
    ("count", r"\bcount\b"), ("top", r"\btop\s*\d*\b"), ("sum", r"\bsum\b"), ("average", r"\bavg\b|\baverage\b"),
]  # fmt: skip
_NOUN_PIECES = frozenset({"NNG", "NNP", "SL", "SH", "SN", "XSN", "XPN"})
_ENTITY_TAGS = frozenset({"NNG", "NNP", "SL", "SH"})  # a phrase needs one of these (not only digits/affixes)
MAX_ENTITIES = 10
SUMMARY_SENTENCES = 2
SUMMARY_MAX_CHARS = 300
_LINE_LABEL_RE = re.compile(r"^[ \t]*[\w()·/ ]{1,15}:[ \t]*", re.MULTILINE)
_SENTENCE_END_RE = re.compile(r"([.!?。？！]|[다요])[\"')\]]*$")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT_RE.split(text) if s and len(s.strip()) >= 2]


def answer(messages: list[dict]) -> str:
    question = last_user_text(messages)
    if not question:
        return NO_QUESTION_ANSWER
    question_terms = set(kiwi_morphemes(question)) - QUESTION_WORDS
    passages = extract_passages(messages)
    about_asker = [passage for passage in passages if passage.about == "asker"]
    own_data = bool(about_asker) and asks_about_oneself(question)
    if own_data:  # answered from the asker's own data, even when no word of the question is in it
        passages = about_asker
    if not passages or not (question_terms or own_data):
        return _not_found(messages)

    sentences = [
        (p_index, s_index, sentence, passage)
        for p_index, passage in enumerate(passages)
        for s_index, sentence in enumerate(split_sentences(passage.content))
    ]
    term_sets = [set(terms) for terms in kiwi_morphemes_batch([s[2] for s in sentences])]
    document_frequency = Counter(term for terms in term_sets for term in terms & question_terms)
    total = len(sentences)

    scored = []
    for (p_index, s_index, sentence, passage), terms in zip(sentences, term_sets, strict=True):
        shared = terms & question_terms
        if shared:
            score = sum(math.log(1 + total / document_frequency[t]) for t in shared)
            scored.append((-score, p_index, s_index, sentence, passage))
        elif own_data:
            scored.append((0.0, p_index, s_index, sentence, passage))  # leading sentences first
    if not scored:
        return _not_found(messages)

    scored.sort()
    best = -scored[0][0]
    chosen, length = [], 0
    for item in scored[:MAX_ANSWER_SENTENCES]:
        if -item[0] < best * RELEVANCE_RATIO or (chosen and length + len(item[3]) > MAX_ANSWER_CHARS):
            break
        chosen.append(item)
        length += len(item[3])
    chosen.sort(key=lambda item: (item[1], item[2]))

    body = " ".join(item[3] for item in chosen)
    sources = []
    for item in chosen:
        label = item[4].title or f"자료 {item[4].id}"
        if label not in sources:
            sources.append(label)
    return f"{ANSWER_LEAD}{body}\n\n(출처: {', '.join(sources)})"


def _not_found(messages: list[dict]) -> str:
    return NO_ANSWER_MARK if asks_for_the_mark(messages) else NOT_FOUND_ANSWER


def asks_about_oneself(question: str) -> bool:
    """A first-person pronoun (나/내, 저/제, 우리): the question is about the asker."""
    return any(token.tag == "NP" and token.form in _FIRST_PERSON for token in get_kiwi().tokenize(question))


def route(messages: list[dict]) -> dict:
    question = last_user_text(messages)
    lowered = question.lower()
    for label, pattern in _AGGREGATE_PATTERNS:
        if re.search(pattern, lowered):
            return {"route": "sql", "reason": f"집계·통계 질문('{label}')이라 데이터베이스 조회가 적합합니다."}
    return {"route": "rag", "reason": "집계 질문이 아니어서 문서 검색(RAG)으로 답합니다."}


def _noun_phrases(text: str) -> list[tuple[str, str]]:
    """Compound nouns as written ("A프로젝트", "연구팀", "진행률") with an entity type, in order.

    Adjacent noun-like morphemes are joined; a noun used as a verb ("사용하다") is not an entity.
    """
    phrases: list[tuple[str, str]] = []
    group: list = []

    def flush(next_token=None):
        used_as_verb = next_token is not None and next_token.tag in ("XSV", "XSA") and _adjacent(group[-1], next_token)
        if group and not used_as_verb:
            tags = {t.tag for t in group}
            name = text[group[0].start : group[-1].start + group[-1].len]
            if tags & _ENTITY_TAGS and len(name) >= 2:
                phrases.append((name, _entity_type(tags)))
        group.clear()

    for token in get_kiwi().tokenize(text):
        if token.tag in _NOUN_PIECES and (not group or _adjacent(group[-1], token)):
            group.append(token)
        elif token.tag in _NOUN_PIECES:
            flush()
            group.append(token)
        else:
            flush(token)
    flush()
    return phrases


def _adjacent(left, right) -> bool:
    return left.start + left.len == right.start


def _entity_type(tags: set[str]) -> str:
    if "NNP" in tags:
        return "named_entity"
    if tags & {"SL", "SH"}:
        return "term"
    return "concept"


def graph_metadata(messages: list[dict]) -> dict:
    # Field labels at line starts ("제목: ...", "댓글:", "이미지설명(1):") are layout, not content.
    text = _LINE_LABEL_RE.sub("", document_text(messages))
    sentences = split_sentences(text)
    # Prefer real sentences over headings (a title line has no sentence ending).
    full = [sentence for sentence in sentences if _SENTENCE_END_RE.search(sentence)] or sentences
    summary = " ".join(full[:SUMMARY_SENTENCES])[:SUMMARY_MAX_CHARS]

    counts: Counter[str] = Counter()
    types: dict[str, str] = {}
    for name, entity_type in _noun_phrases(text):
        counts[name] += 1
        types.setdefault(name, entity_type)
    # Most frequent first; among equals the first mentioned (Counter keeps insertion order, sort is stable).
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:MAX_ENTITIES]
    entities = [
        {"name": name, "type": types[name], "description": f"본문에서 {count}회 언급됨"} for name, count in ranked
    ]
    return {"summary": summary, "entities": entities, "relations": []}


def complete_json(messages: list[dict]) -> dict:
    # Decide on the instructions only: the analysed document or passages may mention anything.
    instructions = re.sub(r"<(document|context)>.*?</\1>", "", all_text(messages), flags=re.DOTALL).lower()
    if "route" in instructions and "sql" in instructions:
        return route(messages)
    if "entities" in instructions or "summary" in instructions:
        return graph_metadata(messages)
    return {"answer": answer(messages)}
