"""JSON parsing that keeps every number's text, and the canonical form used for identity.

CONTRACT section 3: two records are one event when the SHA-256 of their canonical JSON (keys
sorted, no whitespace, numbers as their exact text) is equal. orjson does the work whenever that
is exact: every float of the text prints back as its own text and every integer fits 64 bits.
Otherwise the standard library parses, keeping each float's source text verbatim.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

# Floats, `-0`, and integers too long for 64 bits (which orjson would turn into floats).
_RISKY_NUMBER = re.compile(
    rb"-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d+\.\d+|-0(?![\d.eE])|\d{20,}|-\d{19,}"
)
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS


class NumberText(str):
    """A float's source text, written back verbatim by `canonical_json`."""


def loads(text: str) -> Any:
    """Parse JSON; raises ValueError when it is not JSON."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _loads_exact(text)  # integers beyond 64 bits, lone surrogates, or not JSON
    if _floats_print_back(text):
        return value
    return _loads_exact(text)


def canonical_json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:  # a NumberText, or an integer beyond 64 bits
        return _dump_exact(value)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _floats_print_back(text: str) -> bool:
    """Every float-looking token prints back as its own text through orjson, and no integer
    is `-0` or beyond 64 bits.

    Tokens inside strings are checked too: that only sends a record down the exact path.
    """
    for token in _RISKY_NUMBER.findall(text.encode("utf-8", "surrogatepass")):
        if b"." not in token and b"e" not in token.lower():
            return False  # -0, or an integer beyond 64 bits
        if orjson.dumps(float(token)) != token:
            return False
    return True


def _loads_exact(text: str) -> Any:
    try:
        return json.loads(text, parse_float=NumberText)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error


def _dump_exact(value: Any) -> str:
    if isinstance(value, dict):
        items = (_dump_key(k) + ":" + _dump_exact(value[k]) for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump_exact(v) for v in value) + "]"
    if isinstance(value, NumberText):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


def _dump_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)
