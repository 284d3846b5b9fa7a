"""JSON parsing that keeps every number's text, and the canonical form used for identity.

CONTRACT section 3: two records are one event when the SHA-256 of their canonical JSON (keys
sorted, no whitespace, numbers as their exact text) is equal. The standard library parses (its
integers are exact at any size) and hands each float's text to `orjson.Fragment`, which orjson
writes back verbatim when it serialises with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


class NumberText(float):
    """A JSON float that remembers its source text; it computes as the float it is."""

    text: str

    def __new__(cls, text: str) -> NumberText:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _fragment(value: object) -> orjson.Fragment:
    if isinstance(value, NumberText):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Parse JSON keeping each float's text; raises ValueError when it is not JSON.

    orjson parses first; a value holding a float (whose text orjson would not keep, and
    which is also what orjson makes of an integer beyond 64 bits) is parsed again exactly.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _loads_exact(text)  # lone surrogates and the like; or not JSON at all
    return _loads_exact(text) if _holds_float(value) else value


def _holds_float(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is float:
            return True
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return False


def _loads_exact(text: str) -> Any:
    try:
        return json.loads(text, parse_float=NumberText, parse_constant=_reject_constant)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error


def canonical_json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_SORTED, default=_fragment).decode()
    except TypeError:  # an integer beyond 64 bits: orjson refuses it
        return _dump_exact(value)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _dump_exact(value: Any) -> str:
    if isinstance(value, dict):
        items = (_dumps(k) + ":" + _dump_exact(value[k]) for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump_exact(v) for v in value) + "]"
    if isinstance(value, NumberText):
        return value.text
    return _dumps(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
