"""Plain JSON lines, column-wise: the common case of a line file staged without Python per record.

Most lines of an NDJSON file are one Dialpad call event, a JSON object on its own line; a real
Dialpad feed with a secret set is one HS256 JWT per line instead, its claims that object. For
those, what `ingest.decode` does record by record (verify, parse, classify, canonical JSON,
SHA-256; docs/contract.md §3, "Identity") is done here chunk by chunk: the chunk is split and
stripped as one polars column, the JWT lines are verified together (`Decoder.verify_jwts`),
msgspec parses and writes each object (an object line, or a token's claims) and hashlib hashes
each payload, each a C call mapped over the whole column (the same parser and writer as
`ingest.canonical`, so the same canonical text), and the classification is a polars expression
over the fields the flattening extracts anyway (`is_plain_dialpad_event`; for the objects that
are not one, `is_plain_agent_status_event` over the agent status table's fields). A token's
line keeps its text (the token) as the raw text, and a token the decoder refuses is quarantined
with the reason and detail `Decoder.decode` gives it.

Everything else takes the exact per-record path (`ingest.decode.Decoder`): lines that are not
an object or a JWT (an array, text that is not JSON), a token whose claims are not an object
(not JSON, an array: `malformed_jwt`), lines that are not valid UTF-8, an object msgspec
refuses (a lone surrogate escape, nesting too deep), an envelope, a MessageBird object, an
event whose `call_id` or `state` is anything but plainly there (empty, of another type,
surrounded by spaces), and an agent status event whose `target.id` is. The fast path only takes
what it is sure of: a line it leaves is decoded exactly as before, and
`tests/test_ingest_plain.py` holds both paths to the same rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import methodcaller
from typing import Any

import polars as pl

from ingest import canonical
from ingest.decode import DIALPAD, JWT, Decoder, Rejected
from ingest.errors import QuarantineReason
from ingest.read import Chunk, RawRecord

# JSON's own whitespace: a line that msgspec reads as one object is this, the object, this
_JSON_SPACE = " \t\r\n"
# a line that is a compact JWT as `Decoder.decode` tells one, once JSON's whitespace is stripped
# (Python's strip, which the per-record path applies, then leaves the same token)
_TOKEN = f"^(?:{JWT.pattern})$"
_hexdigest = methodcaller("hexdigest")
_MAX_ROW_INDEX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class PlainLines:
    """A line chunk split in three: JSON objects parsed (`candidates`, `values`: object lines
    and the claims of JWT lines), JWT lines refused (`rejected`) and the rest."""

    candidates: pl.DataFrame  # `ingest.flatten.events_frame`'s columns, one row per object
    values: list[Any]  # each candidate's parsed object, in the frame's order
    rejected: list[Rejected]  # JWT lines that do not verify, as `Decoder.decode` rejects them
    others: list[RawRecord]  # every other record of the chunk, for the per-record path

    def key_sets(self, fast: pl.Series) -> Counter[tuple[str, ...]]:
        """The top-level keys (in payload order) of the candidates `fast` marks, counted."""
        return Counter(map(tuple, compress(self.values, fast.to_list())))


def plain_lines(chunk: Chunk, decoder: Decoder) -> PlainLines | None:
    """The chunk's lines that are JSON objects or JWTs whose claims are one, verified (by
    `decoder`), parsed, hashed and in canonical form; None when the chunk is not line data or
    not UTF-8 (then every record takes the per-record path)."""
    if not isinstance(chunk.data, bytes):
        return None
    try:
        text = chunk.data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    split = text.split("\n")
    if chunk.first_line + len(split) >= _MAX_ROW_INDEX:  # polars numbers rows in 32 bits
        return None
    lines = (
        pl.Series("line", split, dtype=pl.String)
        .to_frame()
        .with_row_index("source_line", offset=chunk.first_line + 1)
        .with_columns(pl.col("line").str.strip_chars(_JSON_SPACE).alias("raw_text"))
    )
    stripped = pl.col("raw_text")
    is_object, is_token = _is_object(stripped), stripped.str.contains(_TOKEN)
    # the other lines as `Chunk.records` makes them: Python's strip, blank lines dropped
    others = [
        RawRecord(line, raw.strip())
        for line, raw in lines.filter(~is_object & ~is_token)
        .select("source_line", "line")
        .iter_rows()
        if raw.strip()
    ]
    tokens = lines.filter(is_token).select("source_line", "raw_text")
    try:
        verdicts = decoder.verify_jwts(tokens.get_column("raw_text"))
    except Exception:  # a token no rule foresaw: the per-record path isolates it
        others, tokens = others + as_records(tokens), tokens.clear()
        verdicts = decoder.verify_jwts(tokens.get_column("raw_text"))
    verdicts = pl.concat([tokens, verdicts], how="horizontal")
    # `Decoder._claims`: whatever refuses a payload JWT, the record tells it is Dialpad's
    rejected = [
        Rejected(line, token, QuarantineReason(reason), detail, DIALPAD)
        for line, token, reason, detail in verdicts.filter(pl.col("reason").is_not_null())
        .select("source_line", "raw_text", "reason", "detail")
        .iter_rows()
    ]
    # a token's claims are read as an object line is; the line's text (the token) stays the
    # raw text. Claims that are not an object are `malformed_jwt`: the per-record path says so
    claims = verdicts.filter(pl.col("reason").is_null()).select(
        "source_line", "raw_text", pl.col("claims").str.strip_chars(_JSON_SPACE).alias("json")
    )
    others += as_records(claims.filter(~_is_object(pl.col("json"))))
    objects = (
        lines.filter(is_object)
        .select("source_line", "raw_text", stripped.alias("json"))
        .merge_sorted(claims.filter(_is_object(pl.col("json"))), "source_line")
    )
    # a stripped object is what Python's strip makes of it: it starts and ends with a bracket,
    # so no other whitespace is left to strip
    values, failed = _each(canonical.parse, objects["json"].to_list())
    objects, values, others = _set_apart(objects, values, failed, others)
    payloads, failed = _each(canonical.write, values)
    objects, values, others = _set_apart(objects, values, failed, others)
    payloads = [payload for payload in payloads if payload is not None] if failed else payloads
    others.sort(key=lambda record: record.line)
    candidates = objects.select(
        pl.Series("event_hash", list(map(_hexdigest, map(hashlib.sha256, payloads))), pl.String),
        pl.Series("payload", payloads, pl.Binary).cast(pl.String),
        pl.lit(None, pl.Int64).alias("received_at_ms"),
        pl.col("source_line").cast(pl.Int64),
        "raw_text",
        pl.lit(False).alias("received_at_implausible"),
    )
    return PlainLines(candidates, values, rejected, others)


def _is_object(stripped: pl.Expr) -> pl.Expr:
    return stripped.str.starts_with("{") & stripped.str.ends_with("}")


def as_records(rows: pl.DataFrame) -> list[RawRecord]:
    """Rows of lines (`source_line`, `raw_text`) as the records the per-record path decodes."""
    return [RawRecord(line, text) for line, text in rows.select(_RECORD_COLUMNS).iter_rows()]


_RECORD_COLUMNS = ("source_line", "raw_text")


def _each(function: Callable[[Any], Any], items: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """`function` mapped over `items` by C (no Python frame per item), and the positions of
    the items it raises on (None in the results), found by halving: failures are rare, and
    one costs a few retries of its part."""
    try:
        return list(map(function, items)), []
    except Exception:
        if len(items) == 1:
            return [None], [0]
    half = len(items) // 2
    first, first_failed = _each(function, items[:half])
    second, second_failed = _each(function, items[half:])
    return first + second, first_failed + [half + at for at in second_failed]


def _set_apart(
    objects: pl.DataFrame, values: list[Any], failed: list[int], others: list[RawRecord]
) -> tuple[pl.DataFrame, list[Any], list[RawRecord]]:
    """The object lines at `failed` positions go to the per-record path, which decodes them
    exactly (the standard library's parser for a lone surrogate, the quarantine for the rest)."""
    if not failed:
        return objects, values, others
    keep = pl.Series(range(objects.height)).is_in(failed).not_()
    others = others + as_records(objects.filter(~keep))
    return objects.filter(keep), list(compress(values, keep.to_list())), others


# docs/contract.md §3 and `ingest.decode.classify`: an object with `call_id` or `state` and no
# `callId` is a Dialpad event when both are non-empty and `state` is text. The test is on the
# text `json_transform` extracted; kept only where that text settles it:
_WHOLE_NUMBER = r"^-?[1-9][0-9]*$"  # an integer, or a string of one, that is not 0: not empty
_STATE = r"^[a-z_]+$"  # a state's name: text (true/false are the JSON literals, not text)


# docs/contract.md §11 and `ingest.decode.classify`: an object with `target` and `on_duty_status`
# or `availability_status` and no `call_id` (nor `callId`) is an agent status event, loaded when
# `target.id` is not empty. Kept only where the extracted text settles it: a target id that is
# plainly a whole number, a status present, and none of the keys that make an object something
# else (an envelope's `payload`/`body`, a list response's `data`) anywhere in the payload's text
_NOT_AGENT_STATUS = ('"call_id":', '"callId":', '"payload":', '"body":', '"data":')


def is_plain_agent_status_event() -> pl.Expr:
    """Over the agent status table's extracted fields beside the canonical payload: a plain
    Dialpad agent status event, decoded the same by both paths. Anything else is left to the
    per-record path."""
    payload = pl.col("payload")
    return (
        pl.all_horizontal(~payload.str.contains(key, literal=True) for key in _NOT_AGENT_STATUS)
        & pl.col("target_id").str.contains(_WHOLE_NUMBER).fill_null(False)
        & (pl.col("on_duty_status").is_not_null() | pl.col("availability_status").is_not_null())
    )


def is_plain_dialpad_event() -> pl.Expr:
    """Over extracted fields beside the canonical payload: a plain Dialpad event, decoded the
    same by both paths. Anything else is left to the per-record path."""
    state = pl.col("state")
    return (
        ~pl.col("payload").str.contains('"callId":', literal=True)
        & pl.col("call_id").str.contains(_WHOLE_NUMBER).fill_null(False)
        & state.str.contains(_STATE).fill_null(False)
        & ~state.is_in(["true", "false", "null"])
    )
