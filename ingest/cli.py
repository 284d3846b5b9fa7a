"""`callmart`: ingest landing files, build the dbt project, or both. Errors are caught here only.

Exit status 0 on success (quarantined records and failed files included, the summary says how
many); 1 with one line on stderr on a fatal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest.build import BuildSummary, DbtOutput, SparkTarget, project_dir, run_dbt_build
from ingest.config import model_vars
from ingest.errors import CallmartError, SecretError, disk_full_error, out_of_memory_error
from ingest.warehouse import connect, held_open, require_warehouse, writing

# The loading commands import the reader, the decoder and the sinks (polars among them) when
# they run, so that `build`, `status` and `report` start without them: 0.4 s of every build, a
# sixteenth of one with nothing new (docs/performance.md, 2026-12-04).
if TYPE_CHECKING:
    from ingest.decode import Decoder
    from ingest.sink import LoadSummary, RetrySummary

SAMPLE_DIR = Path(__file__).parent / "sample"
_SUMMARISED = ("ingest", "build", "run")  # the commands whose --json is a summary for schedulers
SECRET_ENV = "DIALPAD_WEBHOOK_SECRET"
MESSAGEBIRD_KEY_ENV = "MESSAGEBIRD_SIGNING_KEY"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CallmartError as error:
        return _failed(args, error)
    except KeyboardInterrupt:
        _fail("interrupted; nothing from the unfinished command was kept")
        return 130
    except Exception as error:  # a bug or an environment fault: still one line, unless asked
        known = disk_full_error(error, _written_path(args)) or out_of_memory_error(error)
        if known is not None:
            return _failed(args, known)
        if os.environ.get("CALLMART_DEBUG"):
            raise
        reason = " ".join(str(error).split())[:300]
        _fail(f"unexpected {type(error).__name__}: {reason} (CALLMART_DEBUG=1 shows more)")
        return 1


def _failed(args: argparse.Namespace, error: CallmartError) -> int:
    """One line on stderr, and the summary of a failure for schedulers (`--json`)."""
    _fail(f"error: {error}")
    if getattr(args, "json", False) and args.command in _SUMMARISED:
        print(json.dumps({"command": args.command, "ok": False, "error": str(error)}))
    return 1


def _written_path(args: argparse.Namespace) -> Path:
    """Where the command writes: a full disk there is what an OS or DuckDB error reports."""
    lake = getattr(args, "to_parquet", None) or getattr(args, "lake", None)
    if lake:
        return Path(lake).resolve()
    return _db_path(args) if hasattr(args, "db") else Path.cwd()


def _out() -> Console:
    """Standard output for summaries: never wrapped, so paths stay whole."""
    return Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    """One line on stderr, never wrapped."""
    print(f"callmart: {' '.join(message.split())}", file=sys.stderr)


def _version() -> str:
    try:
        return version("callmart")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callmart",
        description="Load Dialpad and MessageBird call payloads into DuckDB; build the call marts.",
    )
    parser.add_argument("--version", action="version", version=f"callmart {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="load landing files into the raw layer")
    _warehouse_options(ingest, writes=True)
    _load_options(ingest)
    _json_option(ingest, summary=True)
    ingest.add_argument(
        "--to-parquet",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the raw rows as Parquet files under DIR (partitioned by event date) instead "
        "of loading the warehouse; loads into one DIR need no coordination, and dbt dedupes",
    )
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help="landing files, folders (recursive) or globs"
    )
    ingest.set_defaults(handler=_ingest)

    build = commands.add_parser("build", help="run the dbt project (models and tests)")
    _warehouse_options(build, writes=True)
    _build_options(build)
    build.add_argument(
        "--target",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="the engine: DuckDB on the --db file (default), or Apache Spark on a Parquet raw "
        "layer (needs the spark extra and Java 17; docs/spark.md)",
    )
    build.add_argument(
        "--raw",
        default=None,
        metavar="PATH",
        help="spark: the Parquet raw layer that `callmart ingest --to-parquet` writes, a folder "
        "or an object-store URL (default: $CALLMART_RAW_PATH)",
    )
    build.add_argument(
        "--spark-warehouse",
        type=Path,
        default=None,
        metavar="DIR",
        help="spark: the folder of the built tables and their catalog (default: "
        "$CALLMART_SPARK_WAREHOUSE, else ./spark-warehouse)",
    )
    build.set_defaults(handler=_build)

    run = commands.add_parser("run", help="ingest, then build (no PATH: the bundled sample)")
    _warehouse_options(run, writes=True)
    _load_options(run)
    _build_options(run)
    run.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="landing files, folders or globs; none loads the sample shipped in the package",
    )
    run.set_defaults(handler=_run)

    status = commands.add_parser(
        "status", help="what the warehouse holds and how healthy the feed is (read-only)"
    )
    _warehouse_options(status, writes=False)
    _json_option(status)
    status.set_defaults(handler=_status)

    quarantine = commands.add_parser(
        "quarantine",
        help="the open quarantine (the dead-letter queue) by reason and file (read-only); "
        "`quarantine retry` decodes it again",
    )
    _warehouse_options(quarantine, writes=False)
    _json_option(quarantine)
    quarantine.set_defaults(handler=_quarantine)
    actions = quarantine.add_subparsers(dest="action", metavar="ACTION")
    retry = actions.add_parser(
        "retry",
        help="decode the open quarantined records again with today's secrets and keys, re-read "
        "failed files that are still there, and load what now decodes",
    )
    _warehouse_options(retry, writes=True)
    _load_options(retry)
    retry.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="R",
        help="only records quarantined for this reason (repeatable; default: every reason)",
    )
    retry.add_argument(
        "--lake",
        type=Path,
        default=None,
        metavar="DIR",
        help="retry the quarantine of a Parquet lake (`ingest --to-parquet DIR`) instead",
    )
    retry.set_defaults(handler=_retry)

    report = commands.add_parser(
        "report", help="write a self-contained HTML report of the contact-center KPIs"
    )
    _warehouse_options(report, writes=False)
    report.add_argument(
        "--out", type=Path, default=Path("callmart_report.html"), help="the HTML file to write"
    )
    report.set_defaults(handler=_report)

    sample = commands.add_parser(
        "sample", help="write simulated Dialpad and MessageBird traffic and its answers"
    )
    sample.add_argument("--events", type=int, default=3000, help="about how many distinct events")
    sample.add_argument("--out", type=Path, required=True, help="folder to write into")
    sample.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    sample.add_argument("--quiet", action="store_true", help="print nothing on success")
    sample.set_defaults(handler=_sample)
    return parser


def _warehouse_options(parser: argparse.ArgumentParser, writes: bool) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the DuckDB warehouse file (default: $CALLMART_DB, else ./warehouse.duckdb)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress; errors only")
    if writes:
        parser.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="while another callmart process writes the warehouse, wait this long for it "
            "(default 0: stop at once, saying the warehouse is busy)",
        )


def _json_option(parser: argparse.ArgumentParser, summary: bool = False) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON summary on stdout for a scheduler (errors too: "
        '{"ok": false, "error": ...})'
        if summary
        else "one JSON document on stdout",
    )


def _load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that decode a big load (default: one per core; 1 decodes in this one)",
    )
    parser.add_argument(
        "--jwt-secret-file",
        type=Path,
        default=None,
        help=f"file holding the HS256 secret of Dialpad JWT payloads (default: ${SECRET_ENV})",
    )
    parser.add_argument(
        "--messagebird-key-file",
        type=Path,
        default=None,
        help="file holding the signing key that verifies MessageBird-Signature-JWT headers "
        f"of captured webhooks (default: ${MESSAGEBIRD_KEY_ENV})",
    )


def _build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )
    parser.add_argument(
        "--vars",
        default=None,
        metavar="YAML",
        help="model settings for this build, e.g. '{reporting_timezone: Europe/Berlin, "
        "service_level_seconds: 30}'; over callmart.yml beside the warehouse (same keys)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show dbt's own line for every model and test"
    )
    _json_option(parser, summary=True)


def _db_path(args: argparse.Namespace) -> Path:
    if args.db is not None:
        return Path(args.db).resolve()
    return Path(os.environ.get("CALLMART_DB") or "warehouse.duckdb").resolve()


def _secret(path: Path | None, env: str) -> bytes | None:
    """A secret from its file when one is named, else from the environment."""
    if path is not None:
        try:
            return path.read_bytes().strip()
        except OSError as error:
            raise SecretError(str(path), error.strerror or str(error)) from error
    value = os.environ.get(env)
    return value.encode() if value else None


def _decoder(args: argparse.Namespace, dialpad_secret_file: Path | None) -> Decoder:
    from ingest.decode import Decoder

    return Decoder(
        _secret(dialpad_secret_file, SECRET_ENV),
        _secret(args.messagebird_key_file, MESSAGEBIRD_KEY_ENV),
    )


@contextmanager
def _writing(args: argparse.Namespace) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, held for writing and open, for the block (docs/contract.md §1, §9)."""
    db = _db_path(args)
    with writing(db, args.wait):
        try:
            con = connect(db)
        except duckdb.IOException as error:
            raise held_open(db, error) from error
        try:
            yield con
        finally:
            con.close()


def _ingest(args: argparse.Namespace) -> int:
    from ingest.read import expand_paths

    decoder = _decoder(args, args.jwt_secret_file)
    files = expand_paths(args.paths)  # a bad path stops before anything is created
    if args.to_parquet:
        summary, target = _lake_paths(args, files, decoder), args.to_parquet.resolve()
    else:
        with _writing(args) as con:
            summary, target = _ingest_paths(args, con, files, decoder), _db_path(args)
    if args.json:
        print(json.dumps({"command": "ingest", "ok": True, "ingest": summary.as_json(target)}))
    return 0


def _build(args: argparse.Namespace) -> int:
    if args.target == "spark":
        spark = _spark_target(args)
        settings = model_vars(spark.warehouse.parent, args.vars, project_dir())
        with _dbt_output(args) as output:
            summary = run_dbt_build(
                _db_path(args), args.full_refresh, settings=settings, output=output, spark=spark
            )
    else:
        db = _db_path(args)
        require_warehouse(db)
        settings = model_vars(db.parent, args.vars, project_dir())
        with writing(db, args.wait), _dbt_output(args) as output:
            summary = run_dbt_build(db, args.full_refresh, settings=settings, output=output)
    _report_build(args, summary)
    if args.json:
        print(json.dumps({"command": "build", "ok": True, "build": summary.as_json()}))
    return 0


@contextmanager
def _dbt_output(args: argparse.Namespace) -> Iterator[DbtOutput]:
    """dbt's own lines with --verbose (on stderr when stdout carries the --json summary);
    otherwise a progress bar over dbt's nodes, on stderr and only on a terminal."""
    if args.verbose:
        yield DbtOutput(verbose=True, echo=sys.stderr if args.json else sys.stdout)
        return
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("building"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet or not console.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task("build", total=None)
        yield DbtOutput(
            progress=lambda done, total: progress.update(task, completed=done, total=total)
        )


def _spark_target(args: argparse.Namespace) -> SparkTarget:
    raw = args.raw or os.environ.get("CALLMART_RAW_PATH")
    if not raw:
        raise CallmartError(
            "--target spark reads a Parquet raw layer: give --raw PATH (or set CALLMART_RAW_PATH)"
        )
    if "://" not in raw:
        folder = Path(raw).resolve()
        if not folder.is_dir():
            raise CallmartError(f"--raw {raw}: no such folder (callmart ingest --to-parquet DIR)")
        raw = str(folder)
    warehouse = args.spark_warehouse or Path(
        os.environ.get("CALLMART_SPARK_WAREHOUSE") or "spark-warehouse"
    )
    return SparkTarget(raw_path=raw, warehouse=warehouse.resolve())


def _run(args: argparse.Namespace) -> int:
    from ingest.read import expand_paths

    paths = args.paths
    secret_file = args.jwt_secret_file
    if not paths:
        paths = [str(SAMPLE_DIR / "landing")]
        # the sample's JWTs are signed with its own, sample-only secret: a secret set for a
        # real feed would quarantine them all
        secret_file = SAMPLE_DIR / "jwt_secret.txt"
    decoder = _decoder(args, secret_file)
    db = _db_path(args)
    # a bad path or setting stops before anything is loaded or created
    files = expand_paths(paths)
    settings = model_vars(db.parent, args.vars, project_dir())
    with writing(db, args.wait):  # one hold for the load and the build: no writer in between
        try:
            con = connect(db)
        except duckdb.IOException as error:
            raise held_open(db, error) from error
        try:
            loaded = _ingest_paths(args, con, files, decoder)
        finally:
            con.close()
        with _dbt_output(args) as output:
            built = run_dbt_build(db, args.full_refresh, settings=settings, output=output)
    _report_build(args, built)
    if args.json:
        document = {"ingest": loaded.as_json(db), "build": built.as_json()}
        print(json.dumps({"command": "run", "ok": True, **document}))
    return 0


def _status(args: argparse.Namespace) -> int:
    from ingest.status import read_status

    status = read_status(_db_path(args))
    if args.json:
        print(json.dumps(status.as_json(), indent=2))
        return 0
    out = _out()
    out.print(f"callmart status: {status.warehouse}")
    if status.feed_health:
        built = max(str(row["last_built_at"]) for row in status.feed_health)
        out.print(f"feed health as of the last build ({built} UTC, in {status.published.name}):")
        for row in status.feed_health:
            out.print(_health_lines(row))
    else:
        out.print("feed health: no build has published marts yet (callmart build)")
    live = status.live
    if live is None:
        out.print(
            "the warehouse is being written now (a load, build or retry): loads since the last "
            "build are not shown; run status again when it ends"
        )
        return 0
    out.print(f"now: last load finished {_when(live.last_loaded_at)} UTC")
    if live.open_by_reason:
        reasons = ", ".join(f"{reason} {count}" for reason, count in live.open_by_reason.items())
        out.print(f"  open quarantine: {live.open_quarantine_count} ({reasons})")
    else:
        out.print("  open quarantine: none")
    for failed in live.failed_files:
        out.print(
            f"  failed file: {failed['path']} ({failed['reason']}: {failed['detail']}; "
            f"since {_when(failed['since'])})"
        )
    for pending in live.pending:
        out.print(
            f"  pending: {pending['path']} ends in an unfinished line (loaded up to line "
            f"{pending['lines_loaded']}; the next load reads the rest)"
        )
    if live.open_by_reason:
        out.print(
            "  next: `callmart quarantine` lists them by file; fix the cause (a secret, a key, "
            "a file) and run `callmart quarantine retry` (docs/operations.md)"
        )
    return 0


_HEALTH_FIGURES = (
    ("event_count", "events"),
    ("conversation_count", "conversations"),
    ("open_leg_count", "open legs"),
    ("end_inferred_leg_count", "end-inferred legs"),
    ("reference_only_leg_count", "reference-only legs"),
    ("estimated_time_interval_count", "estimated intervals"),
    ("negative_duration_count", "negative durations"),
    ("implausible_time_count", "implausible times"),
    ("open_quarantine_count", "open quarantine"),
    ("failed_file_count", "failed files"),
    ("pending_line_count", "pending lines"),
)


def _health_lines(row: dict[str, Any]) -> str:
    figures = "  ".join(
        f"{label} {row[name]:,}" for name, label in _HEALTH_FIGURES if row.get(name) is not None
    )
    return (
        f"  {row['provider']}: data up to {_when(row.get('data_watermark_at'))}, last loaded "
        f"{_when(row.get('last_loaded_at'))}\n    {figures}"
    )


def _when(value: object) -> str:
    return "never" if value is None else str(value)[:19]


def _quarantine(args: argparse.Namespace) -> int:
    from ingest.status import open_quarantine

    rows = open_quarantine(_db_path(args))
    if args.json:
        print(json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], indent=2))
        return 0
    out = _out()
    if not rows:
        out.print("open quarantine: none")
        return 0
    records = sum(row["records"] for row in rows)
    files = len({row["source_file"] for row in rows})
    out.print(f"open quarantine: {records} records from {files} files")
    for row in rows:
        lines = (
            "the whole file"
            if row["first_line"] == 0
            else f"lines {row['first_line']}-{row['last_line']}"
        )
        out.print(
            f"  {row['reason']:<22} {row['records']:>7}  {row['source_file']} ({lines}; "
            f"e.g. {row['detail'] or '-'})"
        )
    out.print(
        "fix the cause (set the secret or key, replace the file), then: callmart quarantine retry "
        "[--reason R] (docs/operations.md)"
    )
    return 0


def _plain(value: object) -> object:
    return str(value) if value is not None and not isinstance(value, int | str) else value


def _retry(args: argparse.Namespace) -> int:
    from ingest.lake import retry_lake_quarantine
    from ingest.load import retry_quarantine

    decoder = _decoder(args, args.jwt_secret_file)
    if args.lake:
        summary = retry_lake_quarantine(
            args.lake.resolve(), decoder, args.reason, workers=args.workers
        )
    else:
        with _writing(args) as con:
            summary = retry_quarantine(
                con, _db_path(args), decoder, args.reason, workers=args.workers
            )
    if not args.quiet:
        _report_retry(summary)
    return 0


def _report_retry(summary: RetrySummary) -> None:
    load = summary.load
    out = _out()
    out.print(
        f"quarantine retry: retried {summary.retried} = loaded {load.total('loaded')} + "
        f"duplicates {load.total('duplicates')} + still quarantined {summary.still_quarantined}; "
        f"{load.released} quarantine rows released"
    )
    if load.quarantined_by_reason:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(load.quarantined_by_reason.items()))
        out.print(f"  still quarantined by reason: {reasons}")
    for path in summary.missing_files:
        out.print(f"  failed file no longer there (its row stays open): {path}")


def _report(args: argparse.Namespace) -> int:
    from ingest.report import write_report

    db = _db_path(args)
    require_warehouse(db)
    out = write_report(db, args.out)
    if not args.quiet:
        _out().print(f"report: wrote {out}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from ingest.sample.simulate import write_sample

    if args.events < 1:
        raise CallmartError(
            f"--events {args.events}: give 1 or more (every scenario is written at least once, "
            "about 100 events, whatever the number)"
        )
    out = args.out.resolve()
    summary = write_sample(out, events=args.events, seed=args.seed)
    if not args.quiet:
        _out().print(
            f"sample: wrote {summary['records']} records ({summary['distinct_events']} distinct "
            f"events, {summary['conversations']} conversations)\n"
            f"  landing files:    {out / 'landing'}\n"
            f"  expected results: {out / '_expected'} (what the marts must hold; a folder "
            "`callmart ingest` skips)\n"
            f"next: callmart run --db {out / 'warehouse.duckdb'} "
            f"--jwt-secret-file {out / 'jwt_secret.txt'} {out / 'landing'}"
        )
    return 0


def _ingest_paths(
    args: argparse.Namespace,
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    decoder: Decoder,
) -> LoadSummary:
    from ingest.load import load_files

    db = _db_path(args)
    with _progress(args.quiet, files) as advance:
        summary = load_files(con, db, files, decoder, advance, args.workers)
    if not (args.quiet or args.json):
        _report_load(summary, db)
    return summary


def _lake_paths(args: argparse.Namespace, files: Sequence[Path], decoder: Decoder) -> LoadSummary:
    from ingest.lake import export_files

    lake = args.to_parquet.resolve()
    with _progress(args.quiet, files) as advance:
        summary = export_files(files, decoder, lake, advance, args.workers)
    if not (args.quiet or args.json):
        _report_load(summary, lake)
    return summary


@contextmanager
def _progress(quiet: bool, files: Sequence[Path]) -> Iterator[Callable[[int], None]]:
    """A progress bar over the bytes of `files` (on stderr, for loads of 5 MB or more)."""
    total = 0
    for path in files:
        with suppress(OSError):  # an unreadable file fails in the load, not here
            total += path.stat().st_size
    progress = Progress(
        TextColumn("loading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet or total < 5_000_000,
        transient=True,
    )
    with progress:
        task = progress.add_task("load", total=total)
        yield lambda consumed: progress.advance(task, consumed)


def _report_load(summary: LoadSummary, target: Path) -> None:
    out = _out()
    skipped = sum(1 for f in summary.files if f.skipped and not f.failed)
    read, loaded = summary.total("read"), summary.total("loaded")
    duplicates, quarantined = summary.total("duplicates"), summary.total("quarantined")
    pending = summary.total("pending")
    failed = summary.failed
    failed_note = f"; {len(failed)} failed" if failed else ""
    out.print(
        f"ingest: {_count(len(summary.files), 'file')} ({skipped} unchanged, skipped{failed_note}) "
        f"into {target}\n"
        f"  read {read} = loaded {loaded} + duplicates {duplicates} + quarantined {quarantined}"
        f" + pending {pending}"
    )
    if summary.quarantined_by_reason:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.quarantined_by_reason.items()))
        out.print(f"  quarantined by reason: {reasons} (callmart quarantine lists them)")
    for file in failed:
        state = "still failing, unchanged" if file.skipped else "quarantined whole"
        out.print(f"  failed file: {file.path} ({file.failed}: {file.detail}; {state})")
    for file in summary.files:
        if file.pending:
            out.print(f"  pending: {file.path} ends in an unfinished line (read by the next load)")
    if summary.released:
        out.print(f"  released {summary.released} quarantine rows: what they held is loaded now")
    if summary.unknown_keys:
        keys = ", ".join(f"{k} {v}" for k, v in summary.unknown_keys.items())
        out.print(f"  payload fields with no raw column (kept in payload): {keys}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _report_build(args: argparse.Namespace, summary: BuildSummary) -> None:
    if args.quiet or args.json:
        return
    out = _out()
    out.print(
        f"build: {_count(summary.models, 'model')}, {_count(summary.tests_passed, 'test')} passed, "
        f"{len(summary.warnings)} warnings; marts published to {summary.published}"
    )
    if summary.nothing_new:
        out.print("  nothing new since the last build: marts.feed_health rebuilt, the rest kept")
    elif summary.unchanged_sources:
        out.print(
            f"  nothing new in {', '.join(summary.unchanged_sources)} since the last build: "
            "the models only they feed kept"
        )
    if summary.rebuilt_in_full:
        out.print("  models' columns changed since the last build (an upgrade): rebuilt in full")
    for warning in summary.warnings:
        out.print(f"  warn: {warning}")


if __name__ == "__main__":
    sys.exit(main())
