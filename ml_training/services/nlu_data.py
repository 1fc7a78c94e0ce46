"""The NLU training data of a job and its splits.

Rows: the curated set (`chat/data/nlu/train.jsonl` and `test.jsonl`), human labels from
`nlu_training_data` (verified / corrected / manual, weight 1) and their augmentations, and weak or
auto labels at `weak_label_weight` (0 leaves them out). One row per normalised text: a human label
wins over a curated one, which wins over a weak one.

Splits:
- **frozen test** (version `FROZEN_SPLIT_VERSION`): the curated test set plus every labelled text
  whose sha256(version:normalised text) falls in the first `FROZEN_SHARE`; never trained on, the same
  for every candidate and every job, so versions are comparable;
- the rest is split 70/20/10 (train / validation / test) per intent, ordered by the same hash, so the
  split is stratified and stable;
- augmented rows go to train only, and only when their original is in train.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from chat.services.nlu.dataset import load_examples
from chat.services.nlu.normalize import normalize
from ml_training.models import LabelSource, NluTrainingData

FROZEN_SPLIT_VERSION = "frozen-v1"
FROZEN_SHARE = 0.10
SPLIT = (0.7, 0.2, 0.1)
HUMAN = (LabelSource.VERIFIED, LabelSource.CORRECTED, LabelSource.MANUAL)
_PRIORITY = {"human": 0, "curated": 1, "weak": 2}


@dataclass(frozen=True)
class Row:
    text: str  # normalised
    intent: str
    source: str  # curated, human, weak, augmented
    weight: float = 1.0
    budget: object = "absent"  # the curated budget label, for budget exact-match ("absent": no label)


@dataclass
class Splits:
    train: list[Row]
    validation: list[Row]
    test: list[Row]
    frozen: list[Row]

    def counts(self) -> dict:
        by_source = defaultdict(int)
        for row in self.train:
            by_source[row.source] += 1
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
            "frozen_test": len(self.frozen),
            "frozen_split_version": FROZEN_SPLIT_VERSION,
            "train_by_source": dict(sorted(by_source.items())),
        }


def stable_fraction(text: str, salt: str = FROZEN_SPLIT_VERSION) -> float:
    return int(hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:12], 16) / 16**12


def is_frozen(text: str) -> bool:
    return stable_fraction(text) < FROZEN_SHARE


def curated_frozen() -> list[Row]:
    return [_curated(example) for example in load_examples("test")]


def build_splits(*, weak_label_weight: float = 0.0) -> Splits:
    frozen = {row.text: row for row in curated_frozen()}
    chosen: dict[str, Row] = {}

    def offer(row: Row) -> None:
        if not row.text or row.text in frozen:
            return
        current = chosen.get(row.text)
        if current is None or _PRIORITY[row.source] < _PRIORITY[current.source]:
            chosen[row.text] = row

    for example in load_examples("train"):
        offer(_curated(example))
    labelled = NluTrainingData.objects.filter(is_augmented=False).values_list(
        "normalized_text", "input_text", "true_intent", "label_source"
    )
    for normalized, raw, intent, source in labelled:
        if source in HUMAN:
            offer(Row(normalized or normalize(raw), intent, "human"))
        elif weak_label_weight > 0:
            offer(Row(normalized or normalize(raw), intent, "weak", weak_label_weight))

    for text, row in list(chosen.items()):
        if row.source != "curated" and is_frozen(text):
            frozen[text] = chosen.pop(text)

    train, validation, test = [], [], []
    by_intent = defaultdict(list)
    for row in chosen.values():
        by_intent[row.intent].append(row)
    for rows in by_intent.values():
        rows.sort(key=lambda row: stable_fraction(row.text, "split"))
        n_train = max(1, round(len(rows) * SPLIT[0]))
        n_validation = round(len(rows) * SPLIT[1])
        train += rows[:n_train]
        validation += rows[n_train : n_train + n_validation]
        test += rows[n_train + n_validation :]

    train_texts = {row.text for row in train}
    augmented = NluTrainingData.objects.filter(is_augmented=True).values_list(
        "normalized_text", "true_intent", "original_data__normalized_text", "label_source"
    )
    for text, intent, original, source in augmented:
        if original in train_texts and text not in frozen and text not in chosen:
            weight = 1.0 if source in HUMAN else weak_label_weight
            if weight > 0:
                train.append(Row(text, intent, "augmented", weight))
    return Splits(train, validation, test, list(frozen.values()))


def _curated(example) -> Row:
    return Row(example.normalized_text, example.intent, "curated", 1.0, example.entities.get("budget", "absent"))
