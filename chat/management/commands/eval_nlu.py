"""Train the NLU intent baseline on the train split and report its quality on the test split."""

import os
import time

from django.core.management.base import BaseCommand, CommandError

from chat.services.nlu import LinearIntentClassifier, ModelFileError, load_classifier, understand, warm_up
from chat.services.nlu.dataset import load_examples
from chat.services.nlu.evaluation import evaluate
from chat.services.nlu.tokenizer import get_kiwi, tokenize


class Command(BaseCommand):
    help = (
        "Train the rule + softmax-regression intent baseline on chat/data/nlu/train.jsonl (or load --model), "
        "evaluate on test.jsonl: per-intent support/accuracy, overall accuracy, macro-F1, budget exact-match."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="evaluate this intent model file instead of training the baseline")
        parser.add_argument("--save", metavar="PATH", help="also write the trained baseline as a model file")
        parser.add_argument("--split", default="test", choices=["train", "test"], help="split to evaluate on")
        parser.add_argument("--errors", action="store_true", help="list the misclassified utterances")
        parser.add_argument(
            "--bench", type=int, default=0, metavar="N",
            help="also time N understand() calls (after warm-up) over the split's utterances: p50/p95/p99 ms",
        )
        parser.add_argument(
            "--cross-validate", type=int, default=0, metavar="K",
            help="instead: K-fold cross-validation inside the train split (for tuning without touching test)",
        )

    def handle(self, *args, **options):
        get_kiwi()
        if options["cross_validate"]:
            return self._cross_validate(options["cross_validate"])
        started = time.perf_counter()
        if options["model"]:
            try:
                classifier = load_classifier(options["model"])
            except ModelFileError as exc:
                raise CommandError(str(exc)) from exc
            source = options["model"]
        else:
            train = load_examples("train")
            classifier = LinearIntentClassifier.train(
                (ex.normalized_text, tokenize(ex.normalized_text), ex.intent) for ex in train
            )
            source = f"baseline trained on {len(train)} train examples"
        train_seconds = time.perf_counter() - started
        if options["save"]:
            if not hasattr(classifier, "save"):
                raise CommandError("this classifier cannot be saved")
            path = classifier.save(options["save"])
            self.stdout.write(f"model written to {path}")

        examples = load_examples(options["split"])
        report = evaluate(classifier, examples)
        self.stdout.write(f"classifier: {source} ({train_seconds:.2f} s)")
        self.stdout.write(f"evaluated on {options['split']} split: {report.total} utterances\n")
        self.stdout.write(f"{'intent':<18} {'support':>7} {'accuracy':>9} {'precision':>9} {'f1':>6}")
        for score in report.per_intent:
            self.stdout.write(
                f"{score.intent:<18} {score.support:>7} {score.accuracy:>9.3f} {score.precision:>9.3f} {score.f1:>6.3f}"
            )
        self.stdout.write("")
        self.stdout.write(f"overall accuracy      {report.accuracy:.3f} ({report.correct}/{report.total})")
        self.stdout.write(f"macro-F1              {report.macro_f1:.3f}")
        self.stdout.write(
            f"budget exact-match    {report.budget_exact_match:.3f} ({report.budget_exact}/{report.budget_total}; "
            f"utterances stating an amount: {report.budget_stated_exact}/{report.budget_stated})"
        )
        if options["errors"] and report.errors:
            self.stdout.write("\nmisclassified:")
            for text, expected, predicted, confidence in report.errors:
                self.stdout.write(f"  {text!r}: expected {expected}, got {predicted} ({confidence:.2f})")
        if options["bench"]:
            self._bench(options["bench"], [ex.text for ex in examples])

    def _bench(self, calls: int, texts: list[str]):
        """Latency of the whole understand() (normalise, Kiwi, entities, classifier) with the active classifier."""
        warm_up()
        durations = []
        cpu_started = time.process_time()
        context = {"intent": "FOOD_REQUEST", "entities": {"food_type": "치킨", "category": "치킨", "budget": 5000}}
        for i in range(calls):
            started = time.perf_counter()
            understand(f"{texts[i % len(texts)]} {i}", context if i % 2 else None)  # suffix defeats the caches
            durations.append((time.perf_counter() - started) * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / calls
        durations.sort()

        def pct(q):
            return durations[min(len(durations) - 1, int(q * len(durations)))]

        self.stdout.write(
            f"\nunderstand() over {calls} calls: p50 {pct(0.50):.2f} ms, p95 {pct(0.95):.2f} ms, "
            f"p99 {pct(0.99):.2f} ms, max {durations[-1]:.2f} ms; CPU time {cpu_ms:.2f} ms/call "
            f"(wall-clock tails grow with machine load, load average now {os.getloadavg()[0]:.1f})"
        )

    def _cross_validate(self, folds: int):
        if folds < 2:
            raise CommandError("--cross-validate needs K >= 2")
        train = load_examples("train")
        correct = 0
        for fold in range(folds):
            held_out = [ex for i, ex in enumerate(train) if i % folds == fold]
            rest = [ex for i, ex in enumerate(train) if i % folds != fold]
            classifier = LinearIntentClassifier.train(
                (ex.normalized_text, tokenize(ex.normalized_text), ex.intent) for ex in rest
            )
            report = evaluate(classifier, held_out)
            correct += report.correct
            for text, expected, predicted, confidence in report.errors:
                self.stdout.write(f"  {text!r}: expected {expected}, got {predicted} ({confidence:.2f})")
        self.stdout.write(f"{folds}-fold cross-validation accuracy on train: {correct / len(train):.3f}")
