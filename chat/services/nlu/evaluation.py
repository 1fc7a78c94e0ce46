"""Accuracy of an intent classifier and of budget extraction on a labelled split."""

from dataclasses import dataclass, field

from .budget import extract_budget
from .classifier import IntentClassifier
from .dataset import Example
from .intents import INTENTS
from .tokenizer import tokenize


@dataclass(frozen=True)
class IntentScore:
    intent: str
    support: int  # test examples labelled with this intent
    correct: int
    predicted: int  # test examples predicted as this intent

    @property
    def accuracy(self) -> float:  # recall of the intent
        return self.correct / self.support if self.support else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.accuracy
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class EvaluationReport:
    total: int
    correct: int
    per_intent: list[IntentScore]
    budget_total: int  # examples with a budget label key
    budget_exact: int  # extract_budget(text) == label (None == None counts)
    budget_stated: int  # examples whose label is an amount
    budget_stated_exact: int
    errors: list[tuple[str, str, str, float]] = field(default_factory=list)  # text, expected, predicted, confidence

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        scored = [score for score in self.per_intent if score.support]
        return sum(score.f1 for score in scored) / len(scored) if scored else 0.0

    @property
    def budget_exact_match(self) -> float:
        return self.budget_exact / self.budget_total if self.budget_total else 0.0

    @property
    def budget_stated_exact_match(self) -> float:
        return self.budget_stated_exact / self.budget_stated if self.budget_stated else 0.0


def evaluate(classifier: IntentClassifier, examples: list[Example]) -> EvaluationReport:
    support = dict.fromkeys(INTENTS, 0)
    correct = dict.fromkeys(INTENTS, 0)
    predicted = dict.fromkeys(INTENTS, 0)
    errors = []
    budget_total = budget_exact = budget_stated = budget_stated_exact = 0
    for example in examples:
        text = example.normalized_text
        intent, confidence = classifier.predict(text, tokenize(text))
        support[example.intent] += 1
        predicted[intent] = predicted.get(intent, 0) + 1
        if intent == example.intent:
            correct[intent] += 1
        else:
            errors.append((example.text, example.intent, intent, confidence))
        if "budget" in example.entities:
            label = example.entities["budget"]
            hit = extract_budget(example.text) == label
            budget_total += 1
            budget_exact += hit
            if label is not None:
                budget_stated += 1
                budget_stated_exact += hit
    return EvaluationReport(
        total=len(examples),
        correct=sum(correct.values()),
        per_intent=[IntentScore(i, support[i], correct[i], predicted.get(i, 0)) for i in INTENTS],
        budget_total=budget_total,
        budget_exact=budget_exact,
        budget_stated=budget_stated,
        budget_stated_exact=budget_stated_exact,
        errors=errors,
    )
