"""Model artifacts on disk: a directory under MODEL_STORE_DIR with `manifest.json` and one `.npy` per
array, never a pickle. The sha256 covers every file (in name order), so an edited or swapped file
is refused at load time with `ArtifactRefused`."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.translation import gettext

MANIFEST = "manifest.json"


class ArtifactRefused(ValueError):
    """The artifact is missing, unreadable or its checksum does not match the registry's."""


def store_dir() -> Path:
    return Path(settings.MODEL_STORE_DIR)


def checksum(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save(relative: str, manifest: dict, arrays: dict[str, np.ndarray]) -> tuple[str, str, int]:
    """Write the artifact to MODEL_STORE_DIR/relative; returns (relative path, sha256, size in bytes)."""
    directory = store_dir() / relative
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / MANIFEST).write_text(json.dumps({**manifest, "arrays": sorted(arrays)}, ensure_ascii=False), "utf-8")
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    size = sum(path.stat().st_size for path in directory.iterdir())
    return relative, checksum(directory), size


def load(relative: str, expected_checksum: str) -> tuple[dict, dict[str, np.ndarray]]:
    directory = store_dir() / relative
    try:
        actual = checksum(directory)
    except OSError as exc:
        message = gettext("artifact %(path)s unreadable: %(reason)s")
        raise ArtifactRefused(message % {"path": relative, "reason": exc}) from exc
    if actual != expected_checksum:
        message = gettext("artifact %(path)s checksum %(actual)s != registered %(expected)s")
        raise ArtifactRefused(message % {"path": relative, "actual": actual[:12], "expected": expected_checksum[:12]})
    try:
        manifest = json.loads((directory / MANIFEST).read_text("utf-8"))
        arrays = {name: np.load(directory / f"{name}.npy", allow_pickle=False) for name in manifest["arrays"]}
    except (OSError, ValueError, KeyError) as exc:
        message = gettext("artifact %(path)s unusable: %(reason)s")
        raise ArtifactRefused(message % {"path": relative, "reason": exc}) from exc
    return manifest, arrays
