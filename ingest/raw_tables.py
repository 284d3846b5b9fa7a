"""The raw tables that payloads flatten into, declared once: each column's name, type and source.

One `RawTable` per table (`raw.dialpad_call_events`, `raw.dialpad_agent_status_events`,
`raw.messagebird_calls`, `raw.messagebird_legs`), its columns in the tables' own order. From it come
- the flattening (`ingest.flatten`): which payload field each column reads (`source`, a dotted
  path for an object's field) and how that field's text is typed (`kind`);
- the DDL (`ddl`): each CREATE TABLE's column list, and an `alter table ... add column if not
  exists` for each column added after the first release, so that a warehouse created before
  gets it too (at the end of the table, as it did then). The quarantine and the load log, which
  no payload fills, keep their DDL in `sql/raw_tables.sql`;
- the dbt sources' column lists (`tests/test_ingest_raw_tables.py` holds them to it).

This module is plain data, imported by the simulator (`STATE_DATE`) as well as the ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources

# How a field's text becomes a column value (ingest.flatten types each kind). Checked kinds
# quarantine a record whose non-empty text does not type (`unparseable_field`).
ID = "id"  # a whole number, never through a float (ids can exceed 2^53); checked
UNIX_MS = "unix_ms"  # unix ms as delivered (any number, floored); checked; plausible times only
MEASURE = "measure"  # a number; empty text is null, 0 stays 0; checked
BOOLEAN = "boolean"  # true/false/1/0, as JSON or as text in any case; checked
TEXT = "text"  # text; empty values (docs/contract.md §3) are null
LIST = "list"  # a list of texts (a lone text is a list of one), empty items dropped
DOCUMENT = "document"  # a JSON document kept whole; an empty one is null
RECORDINGS = "recordings"  # Dialpad's recording_details: a list of typed structs
STATUS = "status"  # a MessageBird leg status: lowercased, its two spellings normalised
LOWERCASE = "lowercase"  # text, lowercased
INSTANT = "instant"  # an RFC 3339 time as a UTC timestamp; checked; plausible times only
WHOLE = "whole"  # a number floored to a whole one; checked


@dataclass(frozen=True)
class Column:
    """One column of a raw table. `source` is None for a column the ingest sets itself."""

    name: str
    type: str  # DuckDB's
    source: str | None = None  # the payload field, a dotted path for an object's field
    kind: str | None = None  # how its text is typed (above); with `source`
    aliases: tuple[str, ...] = ()  # other fields meaning the same (BOOLEAN: true if any is)
    not_null: bool = False
    added: bool = False  # after the first release: `alter table ... add column if not exists`
    note: str = ""  # a comment in the DDL

    def ddl(self, last: bool = False) -> str:
        """Its line in a CREATE TABLE."""
        null = " not null" if self.not_null else ""
        note = f"  -- {self.note}" if self.note else ""
        return f"    {self.name:<26} {self.type}{null}{'' if last else ','}{note}"


@dataclass(frozen=True)
class RawTable:
    """A raw table good records of one kind go to: its columns, identity and provider."""

    name: str
    provider: str
    key: str  # the identity hash column
    columns: tuple[Column, ...]
    kept_with_copy: tuple[str, ...] = ()  # what the earliest-received copy of an event rewrites
    event_time: bool = False  # event_at/event_at_source by docs/contract.md §3 "Event time"
    # with `event_time`: the columns whose latest is the `fallback` event time (after the
    # state's own date, `STATE_DATE`, where the table has `state`)
    fallback_dates: tuple[str, ...] = ()
    reject_by_source: bool = False  # an unparseable field is named by its source, not column
    dbt_source_name: str = "raw"  # the dbt source that declares it (models/staging/<provider>/)

    @property
    def folder(self) -> str:
        """The staging sub-folder (and lake folder) of this table's Parquet files."""
        return self.name.removeprefix("raw.")

    @property
    def dbt_source(self) -> str:
        """The table as dbt's node selection names it."""
        return f"source:{self.dbt_source_name}.{self.folder}"

    @cached_property
    def fields(self) -> tuple[Column, ...]:
        """The columns read from the payload."""
        return tuple(column for column in self.columns if column.source is not None)

    @cached_property
    def payload_keys(self) -> frozenset[str]:
        """The payload's top-level keys its columns hold."""
        return frozenset(
            source.split(".")[0]
            for column in self.fields
            for source in (column.source or "", *column.aliases)
        )

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def ddl(self) -> str:
        """CREATE TABLE (first-release columns) and ALTER TABLE (later ones)."""
        first = [column for column in self.columns if not column.added]
        lines = [column.ddl(last=column is first[-1]) for column in first]
        create = "\n".join([f"create table if not exists {self.name} (", *lines, ");"])
        alters = [
            f"alter table {self.name} add column if not exists {column.name} {column.type};"
            + (f"  -- {column.note}" if column.note else "")
            for column in self.columns
            if column.added
        ]
        return "\n".join([create, *alters])


def _fields(kind: str, *names: str) -> tuple[Column, ...]:
    """Columns named as their top-level payload field."""
    types = {ID: "bigint", UNIX_MS: "bigint", MEASURE: "double", BOOLEAN: "boolean",
             TEXT: "varchar", LIST: "varchar[]", DOCUMENT: "json"}  # fmt: skip
    return tuple(Column(name, types[kind], name, kind) for name in names)


def _party(party: str, office: bool = True, text_id: bool = False) -> tuple[Column, ...]:
    """The columns of a party object (`target`, `contact`, ...): `<party>_<field>`."""
    columns = [
        Column(f"{party}_id", "varchar" if text_id else "bigint", f"{party}.id",
               TEXT if text_id else ID),
        *(Column(f"{party}_{field}", "varchar", f"{party}.{field}", TEXT)
          for field in ("type", "name", "email", "phone")),
    ]  # fmt: skip
    if office:
        columns.append(Column(f"{party}_office_id", "bigint", f"{party}.office_id", ID))
    return tuple(columns)


_LINEAGE = (
    Column("source_file", "varchar", not_null=True),
    Column("source_line", "bigint", not_null=True),
    Column("load_id", "varchar", not_null=True),
    Column("loaded_at", "timestamp", not_null=True),
)
_IMPLAUSIBLE = Column(
    "implausible_time_fields",
    "varchar[]",
    added=True,
    note="times nulled as outside the plausible window (docs/ingest.md)",
)
_RECORDING_DETAIL = (
    "struct(\n"
    "                                   id varchar,\n"
    "                                   url varchar,\n"
    "                                   duration double,\n"
    "                                   start_time bigint,\n"
    "                                   recording_type varchar\n"
    "                               )[]"
)

DIALPAD_CALL_EVENTS = RawTable(
    name="raw.dialpad_call_events",
    provider="dialpad",
    key="event_hash",
    kept_with_copy=("event_at", "event_at_source"),
    event_time=True,
    fallback_dates=("date_started", "date_rang", "date_first_rang", "date_queued",
                    "date_connected", "date_ended"),
    columns=(
        Column("event_hash", "varchar", not_null=True,
               note="sha256 of the canonical payload JSON"),
        Column("call_id", "bigint", "call_id", ID, not_null=True),
        Column("state", "varchar", "state", TEXT, not_null=True),
        *_fields(TEXT, "direction"),
        *_fields(ID, "master_call_id", "entry_point_call_id", "operator_call_id"),
        *_fields(UNIX_MS, "event_timestamp", "date_started", "date_rang", "date_first_rang",
                 "date_queued", "date_connected", "date_ended"),
        *_fields(MEASURE, "duration", "total_duration", "hold_time", "talk_time", "mos_score"),
        *_fields(TEXT, "internal_number", "external_number", "group_id"),
        Column("is_transferred", "boolean", "is_transferred", BOOLEAN, aliases=("is_transfer",)),
        *_fields(BOOLEAN, "was_recorded"),
        *_party("target"),
        *_party("contact", office=False, text_id=True),  # contact.id may be a URL
        *_party("entry_point_target"),
        *_party("proxy_target"),
        *_fields(TEXT, "csat_score", "pcsat_score"),
        *_fields(LIST, "csat_recording_urls", "csat_transcriptions"),
        *_fields(TEXT, "custom_data", "transcription_text", "voicemail_link"),
        *_fields(LIST, "recording_url"),
        Column("recording_details", _RECORDING_DETAIL, "recording_details", RECORDINGS),
        *_fields(LIST, "call_recording_ids", "screen_recording_urls", "labels"),
        *_fields(TEXT, "recap_summary", "recap_outcome"),
        *_fields(LIST, "recap_purposes", "recap_action_items"),
        *_fields(DOCUMENT, "call_dispositions", "routing_breadcrumbs", "transferred_from",
                 "ai_playbook"),
        Column("received_at", "timestamp", note="the envelope's received_at (UTC), if any"),
        Column("event_at", "timestamp", not_null=True),
        Column("event_at_source", "varchar", not_null=True,
               note="event | received | fallback"),
        Column("payload", "json", not_null=True, note="the decoded payload, canonical"),
        *_LINEAGE,
        _IMPLAUSIBLE,
    ),
)  # fmt: skip

# Dialpad agent status events (docs/contract.md §11): one row per distinct event, the identity
# and envelope rules of call events. `date` (when the status changed) is `status_date`: `date`
# is a reserved word in SQL. Event time: `event_timestamp`, else the envelope's `received_at`,
# else `date` (the only date field).
DIALPAD_AGENT_STATUS_EVENTS = RawTable(
    name="raw.dialpad_agent_status_events",
    provider="dialpad",
    key="event_hash",
    kept_with_copy=("event_at", "event_at_source"),
    event_time=True,
    fallback_dates=("status_date",),
    columns=(
        Column("event_hash", "varchar", not_null=True,
               note="sha256 of the canonical payload JSON"),
        Column("target_id", "bigint", "target.id", ID, not_null=True, note="the agent"),
        *(Column(f"target_{field}", "varchar", f"target.{field}", TEXT)
          for field in ("type", "name", "email", "phone_number")),
        *_fields(TEXT, "on_duty_status", "on_duty_status_reason", "availability_status"),
        *_fields(LIST, "call_center_ids"),
        Column("status_date", "bigint", "date", UNIX_MS, note="`date`: when the status changed"),
        *_fields(UNIX_MS, "event_timestamp"),
        *_fields(BOOLEAN, "powerdialer_mode"),
        Column("received_at", "timestamp", note="the envelope's received_at (UTC), if any"),
        Column("event_at", "timestamp", not_null=True),
        Column("event_at_source", "varchar", not_null=True,
               note="event | received | fallback (`date`)"),
        Column("payload", "json", not_null=True, note="the decoded payload, canonical"),
        *_LINEAGE,
        _IMPLAUSIBLE,
    ),
)  # fmt: skip

# MessageBird Voice API objects (docs/contract.md §8): one row per distinct snapshot (an
# identical snapshot delivered twice is one row); staging keeps the latest per object.
# Statuses are normalised: `no-answer` -> `no_answer`, `completed` -> `hangup`.
_SNAPSHOT = (  # the columns after an object's fields
    Column("received_at", "timestamp"),
    Column("payload", "json", not_null=True),
    *_LINEAGE,
    _IMPLAUSIBLE,
)
MESSAGEBIRD_CALLS = RawTable(
    name="raw.messagebird_calls",
    provider="messagebird",
    dbt_source_name="raw_messagebird",
    key="object_hash",
    reject_by_source=True,
    columns=(
        Column("object_hash", "varchar", not_null=True,
               note="sha256 of the canonical object JSON"),
        Column("call_id", "varchar", "id", TEXT, not_null=True, note="the call's `id`"),
        Column("status", "varchar", "status", LOWERCASE),
        Column("source", "varchar", "source", TEXT),
        Column("destination", "varchar", "destination", TEXT),
        Column("number_id", "varchar", "numberId", TEXT),
        Column("created_at", "timestamp", "createdAt", INSTANT),
        Column("updated_at", "timestamp", "updatedAt", INSTANT),
        Column("ended_at", "timestamp", "endedAt", INSTANT),
        *_SNAPSHOT,
    ),
)  # fmt: skip

MESSAGEBIRD_LEGS = RawTable(
    name="raw.messagebird_legs",
    provider="messagebird",
    dbt_source_name="raw_messagebird",
    key="object_hash",
    reject_by_source=True,
    columns=(
        Column("object_hash", "varchar", not_null=True),
        Column("leg_id", "varchar", "id", TEXT, not_null=True, note="the leg's `id`"),
        Column("call_id", "varchar", "callId", TEXT, not_null=True, note="its `callId`"),
        Column("source", "varchar", "source", TEXT),
        Column("destination", "varchar", "destination", TEXT),
        Column("status", "varchar", "status", STATUS),
        Column("direction", "varchar", "direction", TEXT,
               note="incoming | outgoing, as delivered"),
        Column("cost", "double", "cost", MEASURE),
        Column("currency", "varchar", "currency", TEXT),
        Column("duration", "bigint", "duration", WHOLE, note="seconds"),
        Column("created_at", "timestamp", "createdAt", INSTANT),
        Column("updated_at", "timestamp", "updatedAt", INSTANT),
        Column("answered_at", "timestamp", "answeredAt", INSTANT),
        Column("ended_at", "timestamp", "endedAt", INSTANT),
        *_SNAPSHOT,
    ),
)  # fmt: skip

RAW_TABLES = (
    DIALPAD_CALL_EVENTS, DIALPAD_AGENT_STATUS_EVENTS, MESSAGEBIRD_CALLS, MESSAGEBIRD_LEGS,
)  # fmt: skip

# docs/contract.md §3, "Event time": the state's own date when no better time is known (then
# the latest date_* field present). The simulator and the tests import it from here.
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


def ddl() -> str:
    """The whole raw layer's DDL: `sql/raw_tables.sql` (schema, quarantine, load log), then
    the tables above. Idempotent: every statement creates or adds only what is missing."""
    fixed = resources.files("ingest").joinpath("sql/raw_tables.sql").read_text()
    return "\n\n".join([fixed, *(table.ddl() for table in RAW_TABLES)]) + "\n"
