"""The labelled utterances in chat/data/nlu/{train,test}.jsonl."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from .normalize import normalize

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: dict = field(default_factory=dict)

    @property
    def normalized_text(self) -> str:
        return normalize(self.text)


def load_examples(split: str, data_dir: Path | None = None) -> list[Example]:
    """Examples of one split; each JSONL line is {"text", "intent", "entities": {"budget": int|null, ...}}."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = (data_dir or DATA_DIR) / f"{split}.jsonl"
    examples = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                examples.append(Example(text=row["text"], intent=row["intent"], entities=row.get("entities") or {}))
    return examples
