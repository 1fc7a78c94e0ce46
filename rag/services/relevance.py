"""Does a retrieved chunk answer the question, or is it only a page about the same topic?

    grounding = ground(query, hits)     # hits: search() results, best first
    grounding.hits                      # the chunks to answer from (relevance >= RAG_RELEVANCE_FLOOR)
    grounding.no_answer                 # nothing is: the documents do not cover the question

The hybrid score alone cannot tell the page that answers a question from its neighbour in the same PDF:
both share the topic's words, and the local hashed embedder scores them alike. What the answering chunk
has beyond the topic is the question's own phrasing - its adjacent word pairs and longer character runs -
and it stands out from the other hits, whereas related pages look like one another. Five features per
hit, all from the retrieved hits (with their stored morphemes, which search() reads along) and the query's
Kiwi morphemes; no query of its own:

  score_logit      logit of the calibrated hybrid score (rag.services.search)
  score_margin     the hit's score minus the best score among the other hits
  bigram_coverage  share of the query's adjacent content-morpheme pairs that are adjacent in the chunk
                   (a query of one content morpheme: whether the chunk has it)
  bigram_margin    bigram_coverage minus the best among the other hits
  char_coverage    share of the query's characters (spaces removed) inside a 4-gram the chunk contains

A logistic model (RELEVANCE_MODEL) turns them into the probability that the chunk answers the question;
settings.RAG_RELEVANCE_FLOOR is the probability below which a chunk does not ground an answer. Measured
on the AutoRAG set (`bench_no_answer`, README), this separates answering pages from related ones only
somewhat better than the score alone, and only at floors that also refuse answerable questions: lexical
features cannot tell a neighbouring page that happens to answer from one that does not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

FEATURES = ("score_logit", "score_margin", "bigram_coverage", "bigram_margin", "char_coverage")
# Fitted by `python manage.py bench_no_answer --fit` (scikit-learn LogisticRegression, C=1) on the
# fit half of the AutoRAG questions (first byte of sha256(qid) even): positives the gold chunk among the
# top 5 with the full corpus, negatives the top 5 with the gold chunk deleted (related pages) and with its
# whole source document deleted (the topic missing). Weights in the order of FEATURES.
RELEVANCE_MODEL = {
    "weights": (0.64, 0.15, 0.79, 1.36, 1.33),
    "intercept": -1.04,
}
CHAR_GRAM = 4
_WORD = re.compile(r"\w+", re.UNICODE)
_EPSILON = 1e-6


@dataclass(frozen=True)
class Grounding:
    """The relevance decision over one query's hits: `features[i]` and `relevance[i]` belong to
    `candidates[i]`."""

    candidates: list
    features: list[list[float]]
    relevance: list[float]
    floor: float

    @property
    def hits(self) -> list:
        """The hits good enough to answer from, best first."""
        return [hit for hit, _ in self._answering()]

    @property
    def no_answer(self) -> bool:
        return not self.hits

    def logged(self) -> tuple[list[float], list[float]]:
        """(scores, relevance) for the log: of the grounding hits, or for a no-answer turn of the candidates
        that fell short."""
        pairs = self._answering() or list(zip(self.candidates, self.relevance, strict=True))
        return [round(float(hit.score), 4) for hit, _ in pairs], [round(p, 4) for _, p in pairs]

    def _answering(self) -> list[tuple]:
        return [(hit, p) for hit, p in zip(self.candidates, self.relevance, strict=True) if p >= self.floor]


def ground(query: str, hits: Sequence, *, floor: float | None = None) -> Grounding:
    """The relevance of each hit to `query` and the floor that decides which ground an answer."""
    hits = list(hits)
    rows = feature_rows(query, hits)
    return Grounding(
        candidates=hits,
        features=rows,
        relevance=probabilities(rows),
        floor=settings.RAG_RELEVANCE_FLOOR if floor is None else floor,
    )


def probabilities(rows: list[list[float]], model: dict | None = None) -> list[float]:
    model = model or RELEVANCE_MODEL
    weights, intercept = model["weights"], model["intercept"]
    return [
        1.0 / (1.0 + math.exp(-(intercept + sum(w * x for w, x in zip(weights, row, strict=True))))) for row in rows
    ]


def feature_rows(query: str, hits: Sequence) -> list[list[float]]:
    """One row of FEATURES per hit (the margins compare each hit with the others in `hits`)."""
    if not hits:
        return []
    from rag.providers import QUESTION_WORDS, kiwi_morphemes

    query_morphemes = [m for m in kiwi_morphemes(query) if m not in QUESTION_WORDS]
    query_grams = _char_grams(query)
    scores = [float(hit.score) for hit in hits]
    bigrams = [bigram_coverage(query_morphemes, hit.morphemes.split()) for hit in hits]
    return [
        [
            _logit(scores[i]),
            scores[i] - _best_other(scores, i),
            bigrams[i],
            bigrams[i] - _best_other(bigrams, i),
            char_coverage(query_grams, hit.content),
        ]
        for i, hit in enumerate(hits)
    ]


def bigram_coverage(query_morphemes: list[str], chunk_morphemes: list[str]) -> float:
    pairs = set(zip(query_morphemes, query_morphemes[1:], strict=False))
    if not pairs:  # one content morpheme (or none): whether the chunk has it
        return float(bool(query_morphemes) and query_morphemes[0] in set(chunk_morphemes))
    chunk_pairs = set(zip(chunk_morphemes, chunk_morphemes[1:], strict=False))
    return len(pairs & chunk_pairs) / len(pairs)


def char_coverage(query_grams: tuple[str, list[str]], content: str) -> float:
    """Share of the query's characters (spaces and punctuation removed) that lie inside a CHAR_GRAM-gram
    also found in the chunk (spaces removed too: OCR'd text breaks words anywhere)."""
    text, grams = query_grams
    if not grams:
        return 0.0
    chunk = _squeezed(content)
    covered = [False] * len(text)
    for start, gram in enumerate(grams):
        if gram in chunk:  # a substring test: cheaper than the chunk's set of 4-grams
            covered[start : start + CHAR_GRAM] = [True] * CHAR_GRAM
    return sum(covered) / len(text)


def _char_grams(query: str) -> tuple[str, list[str]]:
    text = _squeezed(query)
    return text, [text[i : i + CHAR_GRAM] for i in range(len(text) - CHAR_GRAM + 1)]


def _squeezed(text: str) -> str:
    return "".join(_WORD.findall(text.lower()))


def _best_other(values: list[float], index: int) -> float:
    return max((value for i, value in enumerate(values) if i != index), default=0.0)


def _logit(probability: float) -> float:
    p = min(max(probability, _EPSILON), 1.0 - _EPSILON)
    return math.log(p / (1.0 - p))
