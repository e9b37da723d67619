"""JSON bodies that Python can read but the rest of the site cannot handle are refused at parsing."""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """DRF's JSON parser that also answers 400 for nesting too deep for Python's parser and for
    strings that are not unicode (a lone surrogate such as "\\ud800" cannot be stored or echoed)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply") from None
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - a string holds an unpaired surrogate, which is not unicode") from None
        return data
