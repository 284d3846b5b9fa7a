"""Payloads to typed rows of raw.dialpad_call_events.

Two steps, both column-wise: DuckDB's `json_transform` pulls every documented field out of the
canonical payload JSON as text in one parse (lenient: a value of an unexpected shape becomes
text, never an error), then pure polars expressions type and normalise the text (CONTRACT
section 3: empty values, ids without a float round-trip, string booleans, event time). A row
whose field cannot be typed is returned apart, for quarantine, with the fields named.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import polars as pl

from ingest.decode import Event, TimeWindow

ID_FIELDS = ("call_id", "master_call_id", "entry_point_call_id", "operator_call_id")
DATE_FIELDS = (
    "event_timestamp",
    "date_started",
    "date_rang",
    "date_first_rang",
    "date_queued",
    "date_connected",
    "date_ended",
)
MEASURE_FIELDS = ("duration", "total_duration", "hold_time", "talk_time", "mos_score")
BOOLEAN_FIELDS = ("is_transferred", "is_transfer", "was_recorded")
TEXT_FIELDS = (
    "state",
    "direction",
    "internal_number",
    "external_number",
    "group_id",
    "csat_score",
    "pcsat_score",
    "custom_data",
    "transcription_text",
    "voicemail_link",
    "recap_summary",
    "recap_outcome",
)
LIST_FIELDS = (
    "csat_recording_urls",
    "csat_transcriptions",
    "recording_url",
    "call_recording_ids",
    "screen_recording_urls",
    "labels",
    "recap_purposes",
    "recap_action_items",
)
JSON_FIELDS = ("call_dispositions", "routing_breadcrumbs", "transferred_from", "ai_playbook")
_TARGET_FIELDS = ("id", "type", "name", "email", "phone", "office_id")
PARTY_FIELDS = {
    "target": _TARGET_FIELDS,
    "contact": ("id", "type", "name", "email", "phone"),  # contact.id may be a URL
    "entry_point_target": _TARGET_FIELDS,
    "proxy_target": _TARGET_FIELDS,
}
RECORDING_DETAIL_FIELDS = ("id", "url", "duration", "start_time", "recording_type")

# CONTRACT section 3, "Event time": the state's own date when no better time is known.
STATE_DATE = {
    "calling": "date_started",
    "preanswer": "date_started",
    "ringing": "date_rang",
    "queued": "date_queued",
    "connected": "date_connected",
    "hangup": "date_ended",
    "missed": "date_ended",
    "blocked": "date_ended",
}
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


def extract_fields(con: duckdb.DuckDBPyConnection, events: pl.DataFrame) -> pl.DataFrame:
    """Every documented field as text (lists as lists of text), beside the lineage columns.

    Only the payload goes through DuckDB; its rows come back in order (DuckDB preserves
    insertion order), so the lineage columns are set beside them.
    """
    con.register("_events_to_extract", events.select("payload"))
    try:
        fields = con.sql(_EXTRACT_SQL).pl()
    finally:
        con.unregister("_events_to_extract")
    return pl.concat([events, fields], how="horizontal")


def _extract_sql() -> str:
    structure: dict[str, object] = {}
    for name in (*ID_FIELDS, *DATE_FIELDS, *MEASURE_FIELDS, *BOOLEAN_FIELDS, *TEXT_FIELDS):
        structure[name] = "VARCHAR"
    for name in (*LIST_FIELDS, *JSON_FIELDS, "recording_details"):
        structure[name] = "JSON"
    for party, fields in PARTY_FIELDS.items():
        structure[party] = {field: "VARCHAR" for field in fields}
    details = json.dumps([{field: "VARCHAR" for field in RECORDING_DETAIL_FIELDS}])
    scalars = [
        f"f.{name}"
        for name in (*ID_FIELDS, *DATE_FIELDS, *MEASURE_FIELDS, *BOOLEAN_FIELDS, *TEXT_FIELDS)
    ]
    parties = [
        f"f.{party}.{field} as {party}_{field}"
        for party, fields in PARTY_FIELDS.items()
        for field in fields
    ]
    lists = [
        f"""case json_type(f.{name})
                when 'ARRAY' then json_transform(f.{name}, '["VARCHAR"]')
                when 'VARCHAR' then [f.{name} ->> '$']
            end as {name}"""
        for name in LIST_FIELDS
    ]
    documents = [f"f.{name}::varchar as {name}" for name in JSON_FIELDS]
    columns = ",\n            ".join(
        [
            *scalars,
            *parties,
            *lists,
            *documents,
            f"""case json_type(f.recording_details)
                when 'ARRAY' then json_transform(f.recording_details, '{details}')
            end as recording_details""",
        ]
    )
    return f"""
        with extracted as (
            select *, json_transform(payload, '{json.dumps(structure)}') as f
            from _events_to_extract
        )
        select
            {columns}
        from extracted
    """


_EXTRACT_SQL = _extract_sql()


def _blank_to_null(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text.is_in(_EMPTY_TEXT)).then(None).otherwise(text)


def _checked(column: str, typed: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(the typed value, a flag that is true where non-empty text did not type)."""
    return typed.alias(column), (_blank_to_null(column).is_not_null() & typed.is_null())


def _as_id(column: str) -> tuple[pl.Expr, pl.Expr]:
    return _checked(column, _blank_to_null(column).str.to_integer(strict=False))


def _as_unix_ms(column: str) -> tuple[pl.Expr, pl.Expr]:
    """Unix ms as an integer; any number (`1e16` included) types, text that is none does not."""
    text = _blank_to_null(column)
    whole = text.str.to_integer(strict=False)
    fractional = text.cast(pl.Float64, strict=False)
    number = pl.coalesce(whole, fractional.floor().cast(pl.Int64, strict=False))
    return number.alias(column), text.is_not_null() & fractional.is_null() & whole.is_null()


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


def _as_measure(column: str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(column).str.strip_chars()
    typed = pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=False)
    return typed.alias(column), (text.is_not_null() & (text != "") & typed.is_null())


def _as_boolean(column: str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(column).str.strip_chars().str.to_lowercase()
    typed = (
        pl.when(text.is_in(["true", "1"]))
        .then(True)
        .when(text.is_in(["false", "0"]))
        .then(False)
        .otherwise(None)
    )
    return typed.alias(column), (text.is_not_null() & (text != "") & typed.is_null())


def _list_without_empties(column: str) -> pl.Expr:
    items = pl.col(column).list.eval(pl.element().filter(~pl.element().is_in(_EMPTY_TEXT)))
    return pl.when(items.list.len() > 0).then(items).otherwise(None).alias(column)


def _typed_columns() -> tuple[list[pl.Expr], list[tuple[str, pl.Expr]]]:
    """(the typed column expressions, (field name, unparseable flag) pairs)."""
    typed: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr]] = []

    def add(column: str, pair: tuple[pl.Expr, pl.Expr]) -> None:
        typed.append(pair[0])
        checks.append((column, pair[1]))

    for column in ID_FIELDS:
        add(column, _as_id(column))
    for column in DATE_FIELDS:
        add(column, _as_unix_ms(column))
    for column in MEASURE_FIELDS:
        add(column, _as_measure(column))
    for column in BOOLEAN_FIELDS:
        add(column, _as_boolean(column))
    typed.extend(_blank_to_null(column).alias(column) for column in TEXT_FIELDS)
    for party, fields in PARTY_FIELDS.items():
        for field in fields:
            column = f"{party}_{field}"
            numeric = field == "office_id" or (field == "id" and party != "contact")
            if numeric:
                add(column, _as_id(column))
            else:
                typed.append(_blank_to_null(column).alias(column))
    typed.extend(_list_without_empties(column) for column in LIST_FIELDS)
    empty_json = ["{}", "[]", '""', "null"]
    typed.extend(
        pl.when(pl.col(c).is_in(empty_json)).then(None).otherwise(pl.col(c)).alias(c)
        for c in JSON_FIELDS
    )
    return typed, checks


def _without_implausible(
    columns: Sequence[str], window: TimeWindow, instants: bool = False
) -> list[pl.Expr]:
    """`implausible_time_fields` (the envelope's received_at and the `columns` outside the
    window, or null when none is), then each of those times nulled."""
    outside = {c: _implausible(pl.col(c), window, instants) for c in columns}
    flags = [
        pl.when(pl.col("received_at_implausible")).then(pl.lit("received_at")),
        *(pl.when(flag).then(pl.lit(c)) for c, flag in outside.items()),
    ]
    fields = pl.concat_list(flags).list.drop_nulls()
    return [
        pl.when(fields.list.len() > 0).then(fields).alias("implausible_time_fields"),
        *(pl.when(flag).then(None).otherwise(pl.col(c)).alias(c) for c, flag in outside.items()),
    ]


def _recording_details() -> pl.Expr:
    detail = pl.element().struct
    return (
        pl.col("recording_details")
        .list.eval(
            pl.struct(
                detail.field("id").alias("id"),
                detail.field("url").alias("url"),
                detail.field("duration").cast(pl.Float64, strict=False).alias("duration"),
                detail.field("start_time").cast(pl.Int64, strict=False).alias("start_time"),
                detail.field("recording_type").alias("recording_type"),
            )
        )
        .alias("recording_details")
    )


def _event_time() -> list[pl.Expr]:
    """event_at (unix ms) and event_at_source, per CONTRACT section 3 "Event time"."""
    own_date = pl.lit(None, dtype=pl.Int64)
    for state, column in STATE_DATE.items():
        own_date = pl.when(pl.col("state") == state).then(pl.col(column)).otherwise(own_date)
    latest_date = pl.max_horizontal([pl.col(c) for c in DATE_FIELDS if c != "event_timestamp"])
    fallback = pl.coalesce(own_date, latest_date)
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


def type_fields(text: pl.DataFrame, window: TimeWindow) -> pl.DataFrame:
    """Typed columns, plus `reject_reason`/`reject_detail` for rows that cannot be loaded."""
    typed, checks = _typed_columns()
    flags = [pl.when(flag).then(pl.lit(name)) for name, flag in checks]
    return (
        text.lazy()
        .with_columns(pl.concat_list(flags).list.drop_nulls().alias("unparseable"))
        .with_columns(*typed, _recording_details())
        .with_columns(_without_implausible(DATE_FIELDS, window))
        .with_columns(
            pl.when(pl.col("is_transferred") | pl.col("is_transfer"))
            .then(True)
            .otherwise(pl.coalesce("is_transferred", "is_transfer"))
            .alias("is_transferred")
        )
        .drop("is_transfer")
        .with_columns(_event_time())
        .with_columns(
            _rejection(
                pl.col("event_at_ms").is_null(),
                pl.when(pl.col("implausible_time_fields").is_not_null())
                .then(pl.lit("implausible_time"))
                .otherwise(pl.lit("no_event_time")),
                pl.when(pl.col("implausible_time_fields").is_not_null())
                .then(
                    pl.lit("no plausible event time: ")
                    + pl.col("implausible_time_fields").list.join(", ")
                    + pl.lit(" outside 2000-01-01 .. a day after the load")
                )
                .otherwise(pl.lit("no event_timestamp, received_at or date_* field")),
            )
        )
        .with_columns(
            pl.from_epoch("received_at_ms", time_unit="ms").alias("received_at"),
            pl.from_epoch("event_at_ms", time_unit="ms").alias("event_at"),
        )
        .drop("received_at_ms", "event_at_ms", "unparseable", "received_at_implausible")
        .collect()
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


DIALPAD_KEYS = frozenset(
    (
        *ID_FIELDS,
        *DATE_FIELDS,
        *MEASURE_FIELDS,
        *BOOLEAN_FIELDS,
        *TEXT_FIELDS,
        *LIST_FIELDS,
        *JSON_FIELDS,
        *PARTY_FIELDS,
        "recording_details",
    )
)


def flatten_dialpad(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, window: TimeWindow
) -> pl.DataFrame:
    """Rows for raw.dialpad_call_events (CONTRACT section 7)."""
    return type_fields(extract_fields(con, events), window)


# MessageBird Voice API objects (CONTRACT section 8): column -> (JSON key, type).
MESSAGEBIRD_CALL_FIELDS = {
    "call_id": ("id", "text"),
    "status": ("status", "call_status"),
    "source": ("source", "text"),
    "destination": ("destination", "text"),
    "number_id": ("numberId", "text"),
    "created_at": ("createdAt", "instant"),
    "updated_at": ("updatedAt", "instant"),
    "ended_at": ("endedAt", "instant"),
}
MESSAGEBIRD_LEG_FIELDS = {
    "leg_id": ("id", "text"),
    "call_id": ("callId", "text"),
    "source": ("source", "text"),
    "destination": ("destination", "text"),
    "status": ("status", "status"),
    "direction": ("direction", "text"),
    "cost": ("cost", "measure"),
    "currency": ("currency", "text"),
    "duration": ("duration", "whole"),
    "created_at": ("createdAt", "instant"),
    "updated_at": ("updatedAt", "instant"),
    "answered_at": ("answeredAt", "instant"),
    "ended_at": ("endedAt", "instant"),
}
# A leg's two spellings (CONTRACT section 8): `no-answer` is `no_answer`, `completed` is
# `hangup`. A call's statuses (queued, starting, ongoing, ended) are only lowercased.
_STATUS_SPELLINGS = {"no-answer": "no_answer", "completed": "hangup"}
_RFC3339 = "%Y-%m-%dT%H:%M:%S%.f%#z"


def flatten_messagebird(
    con: duckdb.DuckDBPyConnection,
    objects: pl.DataFrame,
    window: TimeWindow,
    fields: dict[str, tuple[str, str]],
) -> pl.DataFrame:
    """Rows for raw.messagebird_calls or raw.messagebird_legs, by `fields`."""
    structure = json.dumps({key: "VARCHAR" for key, _ in fields.values()})
    columns = ", ".join(f"f.{key} as {column}" for column, (key, _) in fields.items())
    con.register("_objects_to_extract", objects.select("payload"))
    try:
        text = con.sql(
            f"select {columns} from (select json_transform(payload, '{structure}') as f "
            "from _objects_to_extract)"
        ).pl()
    finally:
        con.unregister("_objects_to_extract")
    typed: list[pl.Expr] = []
    checks: list[pl.Expr] = []
    instants = [column for column, (_, kind) in fields.items() if kind == "instant"]
    for column, (key, kind) in fields.items():
        value, flag = _MESSAGEBIRD_TYPES[kind](column)
        typed.append(value)
        checks.append(pl.when(flag).then(pl.lit(key)))
    return (
        pl.concat([objects.rename({"event_hash": "object_hash"}), text], how="horizontal")
        .lazy()
        .with_columns(pl.concat_list(checks).list.drop_nulls().alias("unparseable"))
        .with_columns(*typed)
        .with_columns(_without_implausible(instants, window, instants=True))
        .with_columns(_rejection(pl.lit(False), pl.lit(None), pl.lit(None)))
        .with_columns(pl.from_epoch("received_at_ms", time_unit="ms").alias("received_at"))
        .drop("received_at_ms", "unparseable", "received_at_implausible")
        .collect()
    )


def _as_text(column: str) -> tuple[pl.Expr, pl.Expr]:
    return _blank_to_null(column).alias(column), pl.lit(False)


def _as_status(column: str) -> tuple[pl.Expr, pl.Expr]:
    status = _blank_to_null(column).str.to_lowercase()
    for spelling, status_name in _STATUS_SPELLINGS.items():
        status = pl.when(status == spelling).then(pl.lit(status_name)).otherwise(status)
    return status.alias(column), pl.lit(False)


def _as_lowercase(column: str) -> tuple[pl.Expr, pl.Expr]:
    return _blank_to_null(column).str.to_lowercase().alias(column), pl.lit(False)


def _as_instant(column: str) -> tuple[pl.Expr, pl.Expr]:
    instant = (
        _blank_to_null(column)
        .str.to_datetime(_RFC3339, time_zone="UTC", time_unit="ms", strict=False)
        .dt.replace_time_zone(None)
    )
    return _checked(column, instant)


def _as_whole(column: str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(column).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    whole = pl.when(text == "").then(None).otherwise(number.floor().cast(pl.Int64, strict=False))
    return whole.alias(column), (text.is_not_null() & (text != "") & number.is_null())


_MESSAGEBIRD_TYPES = {
    "text": _as_text,
    "status": _as_status,
    "call_status": _as_lowercase,
    "instant": _as_instant,
    "measure": _as_measure,
    "whole": _as_whole,
}
