"""The JSON parser of every API view: DRF's, plus limits a hostile body could otherwise break.

- Nesting deeper than MAX_JSON_DEPTH levels is a 400 `parse_error` (100,000 nested arrays made
  Python's decoder raise RecursionError, a 500).
- A NUL character in any string, key or value, is a 400 `invalid`: PostgreSQL text cannot hold it,
  so it would otherwise fail later as a database error (500) wherever the value reaches a query.
- So is an unpaired surrogate (`"\ud800"`), which has no UTF-8 form: DRF's CharField refuses it, but
  inside a free-form object (a partner's `initial_data`) it reached a jsonb column and answered 500.
- A number too large for a double (`1e999`, which Python reads as infinity) is a 400 `parse_error`:
  JSON has no infinity, so PostgreSQL refused it as jsonb (search filters answered 500).

`json_text_value` applies the same rules to JSON carried as text inside a form field.
"""

import math
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_JSON_DEPTH = 64
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # characters PostgreSQL text cannot hold


class JsonTooDeepError(ParseError):
    def __init__(self):
        super().__init__(_("JSON parse error - nested deeper than %(depth)d levels.") % {"depth": MAX_JSON_DEPTH})


class NulCharacterError(ParseError):
    default_detail = gettext_lazy("JSON strings must not contain NUL (\\u0000) characters.")
    default_code = "invalid"


class SurrogateCharacterError(ParseError):
    default_detail = gettext_lazy("JSON strings must not contain unpaired surrogates (\\ud800-\\udfff).")
    default_code = "invalid"


class NumberOutOfRangeError(ParseError):
    default_detail = gettext_lazy("JSON parse error - a number is too large to be represented.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise JsonTooDeepError() from None
        check_json_value(data)
        return data


def json_text_value(text: str):
    """The value of a JSON document given as text (a form field's), with the parser's limits; ValueError when
    it is not JSON."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise JsonTooDeepError() from None
    check_json_value(data)
    return data


def check_json_value(data) -> None:
    """Raise JsonTooDeepError when `data` nests deeper than MAX_JSON_DEPTH, NulCharacterError when a string holds NUL,
    SurrogateCharacterError when it holds an unpaired surrogate, NumberOutOfRangeError when a number overflowed to
    infinity.

    Iterative (an explicit stack), so a deep document cannot exhaust the interpreter's stack here.
    """
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if unstorable := _UNSTORABLE.search(value):
                raise NulCharacterError() if unstorable.group() == "\x00" else SurrogateCharacterError()
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise NumberOutOfRangeError()
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeepError()
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        else:
            stack.extend((item, depth + 1) for item in value)
