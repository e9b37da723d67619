"""JSON bodies that Python can read but the rest of the site cannot handle are refused at parsing."""

from __future__ import annotations

import json
import re
import reprlib

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

from .strokes import MAX_POINTS, MAX_STROKES, POINT_RANGES

# The API's objects have a handful of keys. A body of a million would cost seconds of CPU and an
# answer of megabytes, naming every unknown field.
MAX_OBJECT_KEYS = 64
# No number the API takes has more digits. Python's own limit (4,300) is worded for programmers.
MAX_INTEGER_DIGITS = 30
# Each value in an array or object but the first follows a comma, and each array or object opens
# with a bracket. The largest drawing the API takes, MAX_POINTS points of four numbers in
# MAX_STROKES strokes, has about 20,200; a body of six megabytes of zeros has three million, whose
# parsing alone costs a second of CPU before the strokes are refused.
MAX_VALUES = (len(POINT_RANGES) + 1) * MAX_POINTS + 4 * MAX_STROKES + MAX_OBJECT_KEYS
# Only an image's data URL makes a body larger than this, and base64 is ASCII: a larger body holding any
# other character is refused before it is decoded. One emoji made a 14 MiB body a 56 MB string, copied
# three times over by the parsing and its checks.
MAX_NON_ASCII_BYTES = 1 << 20
SURROGATE = re.compile("[\ud800-\udfff]")


def _object(pairs: list) -> dict:
    if len(pairs) > MAX_OBJECT_KEYS:
        raise ValueError(f"an object has {len(pairs):,} keys; the limit is {MAX_OBJECT_KEYS}")
    named = dict(pairs)
    if len(named) < len(pairs):
        # Python keeps the last of the two, another reader (a proxy, a log's parser) may take the first: what
        # was checked would not be what was meant.
        keys = [key for key, _ in pairs]
        twice = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise ValueError(f"an object names {reprlib.repr(twice)} twice; send each key once")
    return named


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise ValueError(f"a number has {digits:,} digits; the limit is {MAX_INTEGER_DIGITS}")
    return int(text)


def _constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def bounded_load(text: str):
    """json.loads within the bounds above; every refusal is a ValueError, nesting too deep included."""
    values = text.count(",") + text.count("[") + text.count("{")
    if values > MAX_VALUES:
        raise ValueError(f"the body holds about {values:,} values; the limit is {MAX_VALUES:,}")
    try:
        return json.loads(text, object_pairs_hook=_object, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise ValueError("the document is nested too deeply") from None


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, bounded: it also answers 400 for objects of too many keys or naming one twice, integers
    of too many digits, nesting too deep for Python's parser and strings that are not unicode (a lone
    surrogate such as "\\ud800" cannot be stored or echoed)."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        if len(body) > MAX_NON_ASCII_BYTES and not body.isascii():
            raise ParseError(f"JSON parse error - a body over {MAX_NON_ASCII_BYTES:,} bytes must be ASCII; send "
                             "other characters as \\u escapes")
        try:
            data = bounded_load(body.decode(get_encoding(parser_context or {})))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if holds_a_surrogate(data):
            raise ParseError("JSON parse error - a string holds an unpaired surrogate, which is not unicode")
        return data


def holds_a_surrogate(data) -> bool:
    """Whether a string in parsed JSON holds a surrogate, as only a lone one's escape leaves there; the
    strings are searched in place, where encoding them all copied the largest body twice."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not value.isascii() and SURROGATE.search(value):
            return True
    return False
