"""NLU training and serving numbers, measured side by side in one run:

- training time of each candidate trainer on N utterances (the curated set and the simulation's slang
  messages, each with chat-style prefixes/suffixes until N distinct texts);
- `understand()` p50 with the curated model and with each trained model;
- the cost of the registry check each dining turn pays (`serving.nlu_classifier_for`), per call.
"""

import itertools
import statistics
import time

from django.core.management.base import BaseCommand

from chat.services.nlu import get_classifier
from chat.services.nlu.dataset import load_examples
from chat.services.nlu.normalize import normalize
from ml_training.services import jobs, nlu_trainer, serving, simulation
from ml_training.services.nlu_data import Row

PREFIXES = ("", "야 ", "혹시 ", "아 ", "저기 ", "근데 ", "음 ", "ㅋㅋ ", "아니 ", "선생님 ")
SUFFIXES = ("", " ㅋㅋ", " ㅠㅠ", "요", " 좀", " 빨리", "!!", " ㅎㅎ", "?", " 알려줘")


def utterances_of(n: int) -> list[Row]:
    base = [(example.text, example.intent) for example in load_examples("train")]
    base += [
        (template.format(f=food), intent)
        for intent, templates in simulation.TEMPLATES.items()
        for template in templates
        for food in simulation.FOODS
    ]
    rows, seen = [], set()
    for prefix, suffix in itertools.product(PREFIXES, SUFFIXES):
        for text, intent in base:
            normalized = normalize(prefix + text + suffix)
            if normalized not in seen:
                seen.add(normalized)
                rows.append(Row(normalized, intent, "curated"))
                if len(rows) >= n:
                    return rows
    return rows


class Command(BaseCommand):
    help = "Train each NLU candidate on N utterances; understand() p50; the serving check's cost per turn."

    def add_arguments(self, parser):
        parser.add_argument("--utterances", type=int, default=10000)
        parser.add_argument("--checks", type=int, default=100000)

    def handle(self, *args, utterances: int, checks: int, **options):
        rows = utterances_of(utterances)
        config = jobs.validate_config("nlu", {})
        texts = [example.normalized_text for example in load_examples("test")]
        self.stdout.write(f"{len(rows)} utterances, {len({r.intent for r in rows})} intents")
        self.stdout.write(f"understand() p50 curated: {simulation.understand_p50_ms(get_classifier(), texts)} ms")
        for name, trainer in nlu_trainer.TRAINERS.items():
            started = time.perf_counter()
            model = trainer(rows, config)
            seconds = time.perf_counter() - started
            p50 = simulation.understand_p50_ms(model, texts)
            self.stdout.write(f"{name}: trained in {seconds:.1f} s; understand() p50 {p50} ms")

        serving.forget()
        serving.nlu_classifier_for(1)
        timings = []
        for user in range(checks):
            started = time.perf_counter()
            serving.nlu_classifier_for(user)
            timings.append(time.perf_counter() - started)
        self.stdout.write(
            f"serving check per turn: p50 {statistics.median(timings) * 1e6:.1f} µs, "
            f"mean {statistics.fmean(timings) * 1e6:.1f} µs over {checks} calls "
            f"(registry read at most every {serving.CHECK_INTERVAL_S} s)"
        )

