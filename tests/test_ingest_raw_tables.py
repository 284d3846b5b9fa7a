"""The raw tables' spec (ingest/raw_tables.py) is the one list: DDL, flattening, dbt sources."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from ingest import raw_tables
from ingest.raw_tables import (
    DIALPAD_CALL_EVENTS,
    MESSAGEBIRD_CALLS,
    MESSAGEBIRD_LEGS,
    RAW_TABLES,
    STATE_DATE,
    RawTable,
)

ROOT = Path(__file__).resolve().parents[1]


def _source_columns() -> dict[str, list[str]]:
    """The column names each dbt source table lists, wherever its YAML lives under models/."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        for source in document.get("sources") or []:
            for table in source.get("tables") or []:
                name = f"{source.get('schema', source['name'])}.{table['name']}"
                found[name] = [column["name"] for column in table.get("columns") or []]
    return found


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.name)
def test_the_sources_yaml_lists_the_spec_columns_in_order(table: RawTable) -> None:
    assert _source_columns()[table.name] == table.column_names()


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.name)
def test_each_table_names_the_dbt_source_that_declares_it(table: RawTable) -> None:
    # a build selects the models of the tables that got rows by it (ingest/build_inputs.py)
    declared = {
        f"source:{source['name']}.{declared['name']}": f"{source.get('schema')}.{declared['name']}"
        for path in sorted((ROOT / "models").rglob("*.yml"))
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources") or []
        for declared in source.get("tables") or []
    }
    assert declared[table.dbt_source] == table.name


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    schema, name = table.split(".")
    return con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()


def test_the_ddl_makes_the_spec_columns() -> None:
    with duckdb.connect() as con:
        con.execute(raw_tables.ddl())
        assert _columns(con, "raw.messagebird_legs") == [
            ("object_hash", "VARCHAR", False),
            ("leg_id", "VARCHAR", False),
            ("call_id", "VARCHAR", False),
            ("source", "VARCHAR", True),
            ("destination", "VARCHAR", True),
            ("status", "VARCHAR", True),
            ("direction", "VARCHAR", True),
            ("cost", "DOUBLE", True),
            ("currency", "VARCHAR", True),
            ("duration", "BIGINT", True),
            ("created_at", "TIMESTAMP", True),
            ("updated_at", "TIMESTAMP", True),
            ("answered_at", "TIMESTAMP", True),
            ("ended_at", "TIMESTAMP", True),
            ("received_at", "TIMESTAMP", True),
            ("payload", "JSON", False),
            ("source_file", "VARCHAR", False),
            ("source_line", "BIGINT", False),
            ("load_id", "VARCHAR", False),
            ("loaded_at", "TIMESTAMP", False),
            ("implausible_time_fields", "VARCHAR[]", True),
        ]
        dialpad = _columns(con, "raw.dialpad_call_events")
        assert len(dialpad) == 76
        assert dialpad[:4] == [
            ("event_hash", "VARCHAR", False),
            ("call_id", "BIGINT", False),
            ("state", "VARCHAR", False),
            ("direction", "VARCHAR", True),
        ]
        assert ("contact_id", "VARCHAR", True) in dialpad  # contact.id may be a URL
        assert ("target_id", "BIGINT", True) in dialpad
        assert dialpad[-1] == ("implausible_time_fields", "VARCHAR[]", True)
        for table in ("raw.quarantine", "raw.load_log"):  # from sql/raw_tables.sql
            assert _columns(con, table)
        con.execute(raw_tables.ddl())  # idempotent


def test_a_warehouse_of_the_first_release_gets_the_later_columns_at_the_end() -> None:
    with duckdb.connect() as con:
        con.execute("create schema raw")
        for table in RAW_TABLES:
            first = [c for c in table.columns if not c.added]
            con.execute(
                f"create table {table.name} ("
                + ", ".join(f"{c.name} {c.type}{' not null' if c.not_null else ''}" for c in first)
                + ")"
            )
        con.execute(raw_tables.ddl())
        for table in RAW_TABLES:
            assert [name for name, _, _ in _columns(con, table.name)] == table.column_names()


def test_payload_keys_are_the_top_level_fields_the_columns_read() -> None:
    assert MESSAGEBIRD_CALLS.payload_keys == {
        "id", "status", "source", "destination", "numberId", "createdAt", "updatedAt", "endedAt"
    }  # fmt: skip
    assert MESSAGEBIRD_LEGS.payload_keys >= {"callId", "answeredAt", "cost", "duration"}
    keys = DIALPAD_CALL_EVENTS.payload_keys
    assert {"target", "contact", "entry_point_target", "proxy_target"} <= keys
    assert {"is_transfer", "is_transferred", "recording_details"} <= keys
    assert "target_id" not in keys and "event_at" not in keys and "payload" not in keys


def test_every_state_date_is_a_date_column() -> None:
    dates = {c.name for c in DIALPAD_CALL_EVENTS.fields if c.kind == raw_tables.UNIX_MS}
    assert set(STATE_DATE.values()) <= dates
    assert STATE_DATE["ringing"] == "date_rang" and STATE_DATE["missed"] == "date_ended"
