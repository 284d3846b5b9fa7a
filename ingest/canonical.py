"""JSON parsing that keeps every number's text, and the canonical form used for identity.

docs/contract.md §3: two records are one event when the SHA-256 of their canonical JSON (keys
sorted, no whitespace, numbers as their exact text) is equal. msgspec does both halves in C:
its decoder hands each float's text to `msgspec.Raw` (integers are exact at any size), and its
encoder writes a `Raw` back verbatim while it sorts keys. Text msgspec refuses but Python's
`json` reads (a lone surrogate escape, say) takes the standard library's path to the same form.

Why msgspec and not orjson: orjson turns every float into a double, so `1.50` and `1.5` would
be one event; keeping their text cost a second, pure-Python-driven parse of every payload
holding a float (about a third of real ones).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import msgspec

Number = msgspec.Raw  # a JSON float, as its exact text
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_DECODER = msgspec.json.Decoder(float_hook=msgspec.Raw)
_ENCODER = msgspec.json.Encoder(order="sorted")


# msgspec alone, for a whole column of lines (`ingest.plain`): bound C methods, so that a `map`
# over a chunk runs no Python per line. They raise where `loads` and `canonical_json` would take
# the standard library's path; a line they refuse is decoded by those.
parse = _DECODER.decode
write = _ENCODER.encode


class TooDeep(ValueError):
    """JSON nested deeper than the parsers go (no real payload is): never loaded as data."""


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping each float's text (as `Number`); raises ValueError when not JSON
    (TooDeep when it nests too deeply to parse)."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return _loads_exact(text)
    except RecursionError as error:
        raise TooDeep("JSON nested too deeply") from error


def _loads_exact(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=_number_text, parse_constant=_reject_constant)
    except RecursionError as error:
        raise TooDeep("JSON nested too deeply") from error


def _number_text(text: str) -> Number:
    return msgspec.Raw(text)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def canonical_json(value: Any) -> str:
    """Keys sorted, no whitespace, every number as its source text.

    A lone surrogate escape (`"\\ud800"`: valid JSON grammar, but no Unicode character) becomes
    U+FFFD, as every UTF-8 writer and DuckDB's JSON type require; two payloads that differ only
    there are one event. Raises TooDeep for a value nested too deeply to write.
    """
    try:
        return _ENCODER.encode(value).decode()
    except UnicodeEncodeError:  # a string holding a lone surrogate
        return _LONE_SURROGATE.sub("\ufffd", _dump_exact(value))
    except RecursionError as error:
        raise TooDeep("JSON nested too deeply") from error


def as_number(value: object) -> float | int | None:
    """A parsed JSON number as a Python number (a `Number` by its text); None otherwise."""
    if isinstance(value, Number):
        return float(bytes(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _dump_exact(value: Any) -> str:
    if isinstance(value, dict):
        items = (_dumps(k) + ":" + _dump_exact(value[k]) for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump_exact(v) for v in value) + "]"
    if isinstance(value, Number):
        return bytes(value).decode()
    return _dumps(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
