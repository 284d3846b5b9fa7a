"""`not_null_columns` (tests/dbt/generic/not_null_columns.sql): one data test per model for all
of its never-null columns. It fails when any of them holds a null, with one row per such
column and its number of nulls, and passes on the sample, whose columns are all filled.

Run as `dbt test` on a copy of the sample's warehouse, with dbt's `--store-failures` so that
the rows it returns can be read back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from test_dbt_unit_tests import dbt_command


def _dbt_test(db: Path, *args: str) -> tuple[int, dict[str, dict[str, object]]]:
    """`dbt test` on `db`: its exit status and its results by test name."""
    status, results = dbt_command("duckdb", {"CALLMART_DB": str(db)}, "test", *args)
    return status, {str(result["unique_id"]).split(".")[2]: result for result in results}


def test_a_null_in_any_listed_column_fails_and_names_the_column(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, db)

    status, results = _dbt_test(db, "--select", "feed_health")
    assert status == 0
    [name] = [name for name in results if name.startswith("not_null_columns_feed_health_")]
    assert results[name]["status"] == "pass"

    # feed_health, a table tested whole: two rows lose their conversation count, one of them
    # its event count too
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update marts.feed_health set conversation_count = null "
            "where provider in ('dialpad', 'messagebird')"
        )
        con.execute("update marts.feed_health set event_count = null where provider = 'dialpad'")

    status, results = _dbt_test(db, "--select", "feed_health", "--store-failures")
    assert status == 1
    assert results[name]["status"] == "fail"
    assert results[name]["failures"] == 2  # two columns hold nulls
    with duckdb.connect(str(db), read_only=True) as con:
        [(schema, table)] = con.execute(  # dbt's audit schema holds what the test returned
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name like '%dbt_test__audit' and table_name like 'not_null_columns_%'"
        ).fetchall()
        rows = con.execute(f'select * from "{schema}"."{table}" order by column_name').fetchall()
    assert rows == [("conversation_count", 2), ("event_count", 1)]
