"""Payloads to typed rows of a raw table, by that table's spec (`ingest.raw_tables`).

Two steps, both column-wise: DuckDB's `json_transform` pulls every field the spec names out of
the canonical payload JSON as text in one parse (lenient: a value of an unexpected shape becomes
text, never an error), then pure polars expressions type and normalise the text by each
column's `kind` (docs/contract.md §3: empty values, ids without a float round-trip, string
booleans; section 8: MessageBird statuses and RFC 3339 times), null the times outside the
plausible window, and, for Dialpad, compute the event time. A row whose field cannot be typed
is returned apart, for quarantine, with the fields named.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import duckdb
import polars as pl

from ingest.decode import Event, TimeWindow
from ingest.raw_tables import (
    BOOLEAN,
    DOCUMENT,
    ID,
    INSTANT,
    LIST,
    LOWERCASE,
    MEASURE,
    RECORDINGS,
    STATE_DATE,
    STATUS,
    TEXT,
    UNIX_MS,
    WHOLE,
    Column,
    RawTable,
)

_EMPTY_TEXT = ("", "0", "{}", "[]")


def events_frame(events: Sequence[Event]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_hash": [e.event_hash for e in events],
            "payload": [e.payload for e in events],
            "received_at_ms": [e.received_at_ms for e in events],
            "source_line": [e.line for e in events],
            "raw_text": [e.raw_text for e in events],
            "received_at_implausible": [e.received_at_implausible for e in events],
        },
        schema={
            "event_hash": pl.String,
            "payload": pl.String,
            "received_at_ms": pl.Int64,
            "source_line": pl.Int64,
            "raw_text": pl.String,
            "received_at_implausible": pl.Boolean,
        },
    )


def extract_fields(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, table: RawTable
) -> pl.DataFrame:
    """Every field `table` reads, as text (lists as lists of text), beside the lineage columns.

    Only the payload goes through DuckDB; its rows come back in order (DuckDB preserves
    insertion order), so the lineage columns are set beside them.
    """
    con.register("_events_to_extract", events.select("payload"))
    try:
        fields = con.sql(_extract_sql(table)).pl()
    finally:
        con.unregister("_events_to_extract")
    return pl.concat([events, fields], how="horizontal")


# The JSON a field is pulled out as, by kind: text, or the JSON itself (lists, documents).
_EXTRACTED_AS_JSON = (LIST, DOCUMENT, RECORDINGS)
_RECORDING_DETAIL_FIELDS = ("id", "url", "duration", "start_time", "recording_type")


def _extract_sql(table: RawTable) -> str:
    """One `json_transform` of the payload to the structure of `table`'s fields."""
    structure: dict[str, object] = {}
    for column in table.fields:
        *objects, key = _path(column)
        level = structure
        for name in objects:
            level = level.setdefault(name, {})  # type: ignore[assignment]
        level[key] = "JSON" if column.kind in _EXTRACTED_AS_JSON else "VARCHAR"
        for alias in column.aliases:
            structure[alias] = level[key]
    columns = [_extracted(column, f"f.{'.'.join(_path(column))}") for column in table.fields]
    columns += [
        _extracted(column, f"f.{alias}", alias)
        for column in table.fields
        for alias in column.aliases
    ]
    select_list = ",\n            ".join(columns)
    return f"""
        with extracted as (
            select *, json_transform(payload, '{json.dumps(structure)}') as f
            from _events_to_extract
        )
        select
            {select_list}
        from extracted
    """


def _path(column: Column) -> list[str]:
    assert column.source is not None
    return column.source.split(".")


def _extracted(column: Column, field: str, name: str | None = None) -> str:
    """The select-list item of one field: text, or a list of texts, or JSON text."""
    name = name or column.name
    if column.kind == LIST:
        return f"""case json_type({field})
                when 'ARRAY' then json_transform({field}, '["VARCHAR"]')
                when 'VARCHAR' then [{field} ->> '$']
            end as {name}"""
    if column.kind == DOCUMENT:
        return f"{field}::varchar as {name}"
    if column.kind == RECORDINGS:
        details = json.dumps([{key: "VARCHAR" for key in _RECORDING_DETAIL_FIELDS}])
        return f"""case json_type({field})
                when 'ARRAY' then json_transform({field}, '{details}')
            end as {name}"""
    return f"{field} as {name}"


def flatten(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, window: TimeWindow, table: RawTable
) -> pl.DataFrame:
    """Rows for `table` (docs/contract.md §7 and §8), the lineage columns kept, plus
    `reject_reason`/`reject_detail` for rows that cannot be loaded."""
    return type_fields(extract_fields(con, events, table), window, table)


def type_fields(text: pl.DataFrame, window: TimeWindow, table: RawTable) -> pl.DataFrame:
    """`flatten`'s second step: the fields `extract_fields` pulled out, typed."""
    if table.key != "event_hash":
        text = text.rename({"event_hash": table.key})
    typed, checks = _typed_columns(table)
    flags = [pl.when(flag).then(pl.lit(name)) for name, flag in checks]
    times = {c.name: c.kind == INSTANT for c in table.fields if c.kind in (UNIX_MS, INSTANT)}
    rows = (
        text.lazy()
        .with_columns(pl.concat_list(flags).list.drop_nulls().alias("unparseable"))
        .with_columns(*typed)
        .with_columns(_without_implausible(times, window))
    )
    for column in table.fields:
        for alias in column.aliases:  # BOOLEAN: true if either says so
            rows = rows.with_columns(
                pl.when(pl.col(column.name) | pl.col(alias))
                .then(True)
                .otherwise(pl.coalesce(column.name, alias))
                .alias(column.name)
            ).drop(alias)
    instants: tuple[str, ...] = ("received_at",)  # unix ms columns (`<name>_ms`) as timestamps
    if table.event_time:
        rows = rows.with_columns(_event_time(table)).with_columns(_no_event_time(table))
        instants = ("received_at", "event_at")
    else:
        rows = rows.with_columns(_rejection(pl.lit(False), pl.lit(None), pl.lit(None)))
    return (
        rows.with_columns(
            pl.from_epoch(f"{name}_ms", time_unit="ms").alias(name) for name in instants
        )
        .drop(*(f"{name}_ms" for name in instants), "unparseable", "received_at_implausible")
        .collect()
    )


# --- typing text by kind: (the typed value, a flag true where non-empty text did not type) --

Typed = tuple[pl.Expr, pl.Expr | None]  # no flag: every text types


def _typed_columns(table: RawTable) -> tuple[list[pl.Expr], list[tuple[str, pl.Expr]]]:
    """(the typed column expressions, (field name, unparseable flag) pairs), in column order.

    A field is named by its column, or by its payload key where `table.reject_by_source`."""
    typed: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr]] = []
    for column in table.fields:
        assert column.kind is not None and column.source is not None
        for name in (column.name, *column.aliases):
            value, flag = _TYPES[column.kind](name)
            typed.append(value)
            if flag is not None:
                by_source = table.reject_by_source and name == column.name
                checks.append((column.source if by_source else name, flag))
    return typed, checks


def _blank_to_null(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text.is_in(_EMPTY_TEXT)).then(None).otherwise(text)


def _checked(column: str, typed: pl.Expr) -> Typed:
    return typed.alias(column), (_blank_to_null(column).is_not_null() & typed.is_null())


def _as_id(column: str) -> Typed:
    return _checked(column, _blank_to_null(column).str.to_integer(strict=False))


def _as_unix_ms(column: str) -> Typed:
    """Unix ms as an integer; any number (`1e16` included) types, text that is none does not."""
    text = _blank_to_null(column)
    whole = text.str.to_integer(strict=False)
    fractional = text.cast(pl.Float64, strict=False)
    number = pl.coalesce(whole, fractional.floor().cast(pl.Int64, strict=False))
    return number.alias(column), text.is_not_null() & fractional.is_null() & whole.is_null()


def _as_measure(column: str) -> Typed:
    text = pl.col(column).str.strip_chars()
    typed = pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=False)
    return typed.alias(column), (text.is_not_null() & (text != "") & typed.is_null())


def _as_boolean(column: str) -> Typed:
    text = pl.col(column).str.strip_chars().str.to_lowercase()
    typed = (
        pl.when(text.is_in(["true", "1"]))
        .then(True)
        .when(text.is_in(["false", "0"]))
        .then(False)
        .otherwise(None)
    )
    return typed.alias(column), (text.is_not_null() & (text != "") & typed.is_null())


def _as_text(column: str) -> Typed:
    return _blank_to_null(column).alias(column), None


def _as_list(column: str) -> Typed:
    items = pl.col(column).list.eval(pl.element().filter(~pl.element().is_in(_EMPTY_TEXT)))
    return pl.when(items.list.len() > 0).then(items).otherwise(None).alias(column), None


def _as_document(column: str) -> Typed:
    empty = ["{}", "[]", '""', "null"]
    return pl.when(pl.col(column).is_in(empty)).then(None).otherwise(pl.col(column)).alias(
        column
    ), None


def _as_recordings(column: str) -> Typed:
    detail = pl.element().struct
    recordings = pl.col(column).list.eval(
        pl.struct(
            detail.field("id").alias("id"),
            detail.field("url").alias("url"),
            detail.field("duration").cast(pl.Float64, strict=False).alias("duration"),
            detail.field("start_time").cast(pl.Int64, strict=False).alias("start_time"),
            detail.field("recording_type").alias("recording_type"),
        )
    )
    return recordings.alias(column), None


# A leg's two spellings (docs/contract.md §8): `no-answer` is `no_answer`, `completed` is
# `hangup`. A call's statuses (queued, starting, ongoing, ended) are only lowercased.
_STATUS_SPELLINGS = {"no-answer": "no_answer", "completed": "hangup"}
_RFC3339 = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _as_status(column: str) -> Typed:
    status = _blank_to_null(column).str.to_lowercase()
    for spelling, status_name in _STATUS_SPELLINGS.items():
        status = pl.when(status == spelling).then(pl.lit(status_name)).otherwise(status)
    return status.alias(column), None


def _as_lowercase(column: str) -> Typed:
    return _blank_to_null(column).str.to_lowercase().alias(column), None


def _as_instant(column: str) -> Typed:
    instant = (
        _blank_to_null(column)
        .str.to_datetime(_RFC3339, time_zone="UTC", time_unit="ms", strict=False)
        .dt.replace_time_zone(None)
    )
    return _checked(column, instant)


def _as_whole(column: str) -> Typed:
    text = pl.col(column).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    whole = pl.when(text == "").then(None).otherwise(number.floor().cast(pl.Int64, strict=False))
    return whole.alias(column), (text.is_not_null() & (text != "") & number.is_null())


_TYPES: dict[str, Callable[[str], Typed]] = {
    ID: _as_id,
    UNIX_MS: _as_unix_ms,
    MEASURE: _as_measure,
    BOOLEAN: _as_boolean,
    TEXT: _as_text,
    LIST: _as_list,
    DOCUMENT: _as_document,
    RECORDINGS: _as_recordings,
    STATUS: _as_status,
    LOWERCASE: _as_lowercase,
    INSTANT: _as_instant,
    WHOLE: _as_whole,
}


# --- times ------------------------------------------------------------------------------------


def _implausible(column: pl.Expr, window: TimeWindow, instants: bool) -> pl.Expr:
    """A time that was given but lies outside the window (`instants`: a datetime column;
    otherwise unix ms)."""
    if instants:
        earliest, latest = (
            datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
            for ms in (window.earliest_ms, window.latest_ms)
        )
        return column.is_not_null() & ~column.is_between(pl.lit(earliest), pl.lit(latest))
    return column.is_not_null() & ~column.is_between(window.earliest_ms, window.latest_ms)


def _without_implausible(times: dict[str, bool], window: TimeWindow) -> list[pl.Expr]:
    """`implausible_time_fields` (the envelope's received_at and the `times` outside the
    window, or null when none is), then each of those times nulled. `times`: column -> whether
    it is a datetime (else unix ms)."""
    outside = {c: _implausible(pl.col(c), window, instants) for c, instants in times.items()}
    flags = [
        pl.when(pl.col("received_at_implausible")).then(pl.lit("received_at")),
        *(pl.when(flag).then(pl.lit(c)) for c, flag in outside.items()),
    ]
    fields = pl.concat_list(flags).list.drop_nulls()
    return [
        pl.when(fields.list.len() > 0).then(fields).alias("implausible_time_fields"),
        *(pl.when(flag).then(None).otherwise(pl.col(c)).alias(c) for c, flag in outside.items()),
    ]


def _event_time(table: RawTable) -> list[pl.Expr]:
    """event_at_ms and event_at_source, per docs/contract.md §3 "Event time" (and §11: an
    agent status event falls back to its `date`): the fallback is the state's own date where
    the table has `state`, else the latest of `table.fallback_dates`."""
    own_date = pl.lit(None, dtype=pl.Int64)
    if "state" in table.column_names():
        for state, column in STATE_DATE.items():
            own_date = pl.when(pl.col("state") == state).then(pl.col(column)).otherwise(own_date)
    dates = [pl.col(name) for name in table.fallback_dates]
    fallback = pl.coalesce(own_date, pl.max_horizontal(dates)) if dates else own_date
    return [
        pl.coalesce(pl.col("event_timestamp"), pl.col("received_at_ms"), fallback).alias(
            "event_at_ms"
        ),
        pl.when(pl.col("event_timestamp").is_not_null())
        .then(pl.lit("event"))
        .when(pl.col("received_at_ms").is_not_null())
        .then(pl.lit("received"))
        .when(fallback.is_not_null())
        .then(pl.lit("fallback"))
        .alias("event_at_source"),
    ]


def _no_event_time(table: RawTable) -> list[pl.Expr]:
    """A Dialpad event without a plausible event time cannot be loaded."""
    implausible = pl.col("implausible_time_fields").is_not_null()
    sources = {column.name: column.source for column in table.fields}
    dates = [sources[name] or name for name in table.fallback_dates]
    named = "date_*" if len(dates) > 1 else ", ".join(dates)
    return _rejection(
        pl.col("event_at_ms").is_null(),
        pl.when(implausible).then(pl.lit("implausible_time")).otherwise(pl.lit("no_event_time")),
        pl.when(implausible)
        .then(
            pl.lit("no plausible event time: ")
            + pl.col("implausible_time_fields").list.join(", ")
            + pl.lit(" outside 2000-01-01 .. a day after the load")
        )
        .otherwise(pl.lit(f"no event_timestamp, received_at or {named} field")),
    )


def _rejection(extra: pl.Expr, extra_reason: pl.Expr, extra_detail: pl.Expr) -> list[pl.Expr]:
    """reject_reason/reject_detail: an unparseable field first, then the caller's own check."""
    unparseable = pl.col("unparseable").list.len() > 0
    return [
        pl.when(unparseable)
        .then(pl.lit("unparseable_field"))
        .when(extra)
        .then(extra_reason)
        .alias("reject_reason"),
        pl.when(unparseable)
        .then(pl.col("unparseable").list.join(", "))
        .when(extra)
        .then(extra_detail)
        .alias("reject_detail"),
    ]
