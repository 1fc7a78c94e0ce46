"""locale/ko holds a Korean translation of every API message, and the committed .mo is compiled from the
committed .po (CI and fresh machines have no gettext tools: they serve the .mo as it is)."""

import ast
import gettext
import re
from pathlib import Path

import pytest
import rest_framework
from django.conf import settings

from config.api.drf_messages import OVERRIDDEN

LOCALE = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w*(?::[^}]*)?\}")


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgstr and flags (no plurals or contexts: the project has none)."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or {"msgid": "", "msgstr": "", "flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgid ", "msgstr ")):
            field, _, value = line.partition(" ")
            entry[field] = ast.literal_eval(value)
        elif line.startswith('"'):
            entry[field] += ast.literal_eval(line)
        else:
            raise AssertionError(f"unexpected .po line: {line!r}")
    return [entry for entry in entries if entry["msgid"]]  # the header is the entry with an empty msgid


PO_ENTRIES = read_po(LOCALE / "django.po")


def test_the_committed_mo_is_compiled_from_the_committed_po():
    with (LOCALE / "django.mo").open("rb") as mo:
        catalog = dict(gettext.GNUTranslations(mo)._catalog)
    catalog.pop("", None)  # the header

    assert catalog == {entry["msgid"]: entry["msgstr"] for entry in PO_ENTRIES}, (
        "locale/ko/LC_MESSAGES/django.mo is out of date: run `manage.py compilemessages -l ko` and commit it"
    )


def test_every_message_has_a_korean_translation_that_is_not_fuzzy():
    assert PO_ENTRIES
    for entry in PO_ENTRIES:
        assert re.search(r"[\uac00-\ud7a3]", entry["msgstr"]), entry["msgid"]
        assert "fuzzy" not in entry["flags"], entry["msgid"]


def test_every_translation_keeps_the_placeholders_of_its_message():
    for entry in PO_ENTRIES:
        assert sorted(PLACEHOLDER.findall(entry["msgstr"])) == sorted(PLACEHOLDER.findall(entry["msgid"])), entry


def _messages_in_code() -> dict[str, str]:
    """Each string literal passed to gettext & co. in the project's code (tests excluded) -> where."""
    found = {}
    base = Path(settings.BASE_DIR)
    for path in base.glob("*/**/*.py"):
        relative = path.relative_to(base)
        if relative.parts[0] in (".venv", "var", "staticfiles") or "tests" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in GETTEXT_CALLS and node.args:
                message = node.args[0]
                if isinstance(message, ast.Constant) and isinstance(message.value, str):
                    found[message.value] = f"{relative}:{node.lineno}"
    return found


def test_every_message_in_the_code_is_in_the_po():
    in_po = {entry["msgid"] for entry in PO_ENTRIES}
    missing = {message: where for message, where in _messages_in_code().items() if message not in in_po}

    assert not missing, f"run `manage.py makemessages -l ko`, translate, compilemessages: {missing}"


@pytest.mark.parametrize("message", OVERRIDDEN)
def test_the_drf_messages_translated_anew_are_drfs_own(message):
    drf_catalog = Path(rest_framework.__file__).parent / "locale" / "ko_KR" / "LC_MESSAGES" / "django.mo"
    with drf_catalog.open("rb") as mo:
        assert message in gettext.GNUTranslations(mo)._catalog
