"""The NLU trainer: two candidates on the same data, scored the same way; the better one is kept.

- "linear": today's numpy softmax regression with keyword-rule offsets (`LinearIntentClassifier.train`);
- "tfidf-logreg": scikit-learn TfidfVectorizer (binary tf, idf, l2) over the same Kiwi morpheme /
  character n-gram / entity features plus keyword-rule cues, and a multinomial LogisticRegression with sample weights,
  exported to numpy arrays (`nlu_model.TfidfIntentClassifier`).

The winner is the candidate with the higher macro-F1 on the validation split; its metrics on the
frozen test split go into the job and the version (`evaluate`).
"""

import time
from collections import Counter

import numpy as np
from django.conf import settings
from django.utils.translation import gettext
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from chat.services.nlu import LinearIntentClassifier, get_classifier
from chat.services.nlu.budget import extract_budget
from chat.services.nlu.intents import INTENTS
from chat.services.nlu.tokenizer import tokenize
from ml_training.models import ModelType, TrainingJob, TrainingJobStatus
from ml_training.services import gate, nlu_model, training
from ml_training.services.nlu_data import Row, build_splits
from ml_training.services.nlu_model import TFIDF_FEATURE_CONFIG, TfidfIntentClassifier, tfidf_features
from ml_training.services.training import Option, Outcome, Trainer

CANDIDATES = ("linear", "tfidf-logreg")
ECE_BINS = 10


def _features(text: str) -> list[str]:
    return sorted(tfidf_features(text, tokenize(text), TFIDF_FEATURE_CONFIG))


def train_linear(rows: list[Row], config: dict) -> LinearIntentClassifier:
    examples = [(row.text, tokenize(row.text), row.intent) for row in rows]
    return LinearIntentClassifier.train(
        examples, l2=config["l2"], epochs=config["epochs"], metadata={"trainer": "ml_training linear"}
    )


def train_tfidf(rows: list[Row], config: dict) -> TfidfIntentClassifier:
    vectorizer = TfidfVectorizer(analyzer=_features, binary=True, norm="l2", sublinear_tf=False)
    matrix = vectorizer.fit_transform([row.text for row in rows])
    labels = [row.intent for row in rows]
    model = LogisticRegression(C=config["C"], max_iter=config["max_iter"])
    model.fit(matrix, labels, sample_weight=[row.weight for row in rows])
    vocabulary = vectorizer.get_feature_names_out().tolist()
    coef = model.coef_.T  # features x classes
    if coef.shape[1] == 1:  # two classes: sklearn keeps one column; softmax over (0, z) is the same model
        coef = np.hstack([-coef / 2, coef / 2])
        intercept = np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
    else:
        intercept = model.intercept_
    return TfidfIntentClassifier(
        intents=model.classes_.tolist(),
        vocabulary=vocabulary,
        idf=vectorizer.idf_,
        coef=coef,
        intercept=intercept,
        feature_config=TFIDF_FEATURE_CONFIG,
        metadata={"trainer": "ml_training tfidf-logreg", "C": config["C"]},
    )


TRAINERS = {"linear": train_linear, "tfidf-logreg": train_tfidf}


def predictions(classifier, rows: list[Row]) -> list[tuple[str, float]]:
    return [classifier.predict(row.text, tokenize(row.text)) for row in rows]


def evaluate(classifier, rows: list[Row]) -> dict:
    """Accuracy, macro-F1, per-intent P/R/F1, confusion matrix, most confused pairs, ECE, budget exact-match."""
    predicted = predictions(classifier, rows)
    truth = [row.intent for row in rows]
    labels_seen = [intent for intent in INTENTS if intent in set(truth) | {p for p, _ in predicted}]
    guesses = [p for p, _ in predicted]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guesses, labels=labels_seen, zero_division=0
    )
    in_truth = [i for i, intent in enumerate(labels_seen) if support[i] > 0]
    matrix = confusion_matrix(truth, guesses, labels=labels_seen)
    confused = Counter({(t, p): int(n) for (t, p), n in _pairs(matrix, labels_seen)})
    correct = np.array([g == t for g, t in zip(guesses, truth, strict=True)], dtype=float)
    confidence = np.array([c for _, c in predicted], dtype=float)
    budget_rows = [row for row in rows if row.budget != "absent"]
    return {
        "examples": len(rows),
        "accuracy": round(float(correct.mean()) if len(rows) else 0.0, 4),
        "macro_f1": round(float(np.mean(f1[in_truth])) if in_truth else 0.0, 4),
        "per_intent": {
            intent: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, intent in enumerate(labels_seen)
        },
        "confusion_matrix": {"labels": labels_seen, "matrix": matrix.tolist()},
        "most_confused": [{"true": t, "predicted": p, "count": n} for (t, p), n in confused.most_common(5)],
        "ece": round(expected_calibration_error(confidence, correct), 4),
        "budget_exact_match": round(
            sum(extract_budget(row.text) == row.budget for row in budget_rows) / len(budget_rows), 4
        )
        if budget_rows
        else None,
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    if not len(confidence):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(error)


def _pairs(matrix, labels):
    for i, true in enumerate(labels):
        for j, predicted in enumerate(labels):
            if i != j and matrix[i, j]:
                yield (true, predicted), matrix[i, j]


def train_candidates(train: list[Row], validation: list[Row], config: dict, *, log) -> dict:
    """Train each configured candidate; returns {"winner", "model", "candidates": {name: {...}}}."""
    results = {}
    for name in config["candidates"]:
        started = time.perf_counter()
        model = TRAINERS[name](train, config)
        seconds = round(time.perf_counter() - started, 2)
        scores = evaluate(model, validation) if validation else {"macro_f1": 0.0, "accuracy": 0.0}
        results[name] = {"model": model, "train_seconds": seconds, "validation": scores}
        log(
            gettext("%(name)s: trained in %(seconds)s s, validation macro-F1 %(macro_f1)s, accuracy %(accuracy)s")
            % {"name": name, "seconds": seconds, "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}
        )
    winner = max(results, key=lambda name: (results[name]["validation"]["macro_f1"], -CANDIDATES.index(name)))
    return {
        "winner": winner,
        "model": results[winner]["model"],
        "candidates": {
            name: {
                "train_seconds": r["train_seconds"],
                "validation_macro_f1": r["validation"]["macro_f1"],
                "validation_accuracy": r["validation"]["accuracy"],
            }
            for name, r in results.items()
        },
    }


def run_job(job: TrainingJob, config: dict, progress) -> Outcome:
    """Split, train the candidates, and judge the winner against the champion on the frozen test split."""
    progress(gettext("preparing the data: curated set, human labels, augmentations"), 5)
    splits = build_splits(weak_label_weight=config["weak_label_weight"])
    counts = splits.counts()
    TrainingJob.objects.filter(pk=job.pk).update(
        data_count=counts["train"] + counts["validation"] + counts["test"] + counts["frozen_test"],
        train_count=counts["train"], validation_count=counts["validation"],
        test_count=counts["test"],
    )  # fmt: skip
    progress(gettext("split %(counts)s") % {"counts": counts}, 10)

    progress(gettext("training the candidates"), 15, status=TrainingJobStatus.TRAINING)
    started = time.perf_counter()
    trained = train_candidates(splits.train, splits.validation, config, log=progress)
    train_seconds = round(time.perf_counter() - started, 2)

    progress(
        gettext("evaluating %(winner)s against the champion on the frozen test split") % {"winner": trained["winner"]},
        80,
        status=TrainingJobStatus.EVALUATING,
    )  # fmt: skip
    champion_version, champion_model = training.champion_model(ModelType.NLU, nlu_model.from_artifact, get_classifier())
    candidate_metrics = evaluate(trained["model"], splits.frozen)
    champion_metrics = evaluate(champion_model, splits.frozen)
    decision = gate.decide(
        truth=[row.intent for row in splits.frozen],
        champion=[p for p, _ in predictions(champion_model, splits.frozen)],
        candidate=[p for p, _ in predictions(trained["model"], splits.frozen)],
        champion_f1=champion_metrics["macro_f1"],
        candidate_f1=candidate_metrics["macro_f1"],
        min_gain=config["min_f1_gain"],
    )
    manifest, arrays = nlu_model.to_artifact(trained["model"])
    return Outcome(
        manifest=manifest,
        arrays=arrays,
        metrics={
            "frozen_test": candidate_metrics,
            "champion_frozen_test": {k: champion_metrics[k] for k in ("accuracy", "macro_f1", "ece")},
            "candidates": trained["candidates"],
            "winner": trained["winner"],
            "train_seconds": train_seconds,
            "data": counts,
        },
        decision=decision,
        base_model=champion_version.version if champion_version else "curated",
        architecture={"kind": trained["winner"], "features": manifest.get("features")},
        training_data_stats=counts,
    )


TRAINER = Trainer(
    options={
        "candidates": Option(list, list(CANDIDATES), choices=CANDIDATES),
        "epochs": Option(int, 300, 10, 3000),
        "l2": Option(float, 0.01, 0.0, 1.0),
        "C": Option(float, 20.0, 0.001, 1000.0),
        "max_iter": Option(int, 2000, 50, 10000),
        "weak_label_weight": Option(float, 0.0, 0.0, 1.0),
        "min_f1_gain": Option(float, lambda: settings.NLU_PROMOTION_MIN_F1_GAIN, 0.0, 0.5),
    },
    run=run_job,
)
