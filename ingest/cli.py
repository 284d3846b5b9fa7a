"""`callmart`: ingest landing files, build the dbt project, or both. Errors are caught here only.

Exit status 0 on success (quarantined records included, the summary says how many); 1 with one
line on stderr on a fatal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ingest.build import BuildSummary, SparkTarget, run_dbt_build
from ingest.decode import Decoder
from ingest.errors import CallmartError, SecretError
from ingest.lake import export_files
from ingest.load import LoadSummary, connect, load_files
from ingest.read import expand_paths

SAMPLE_DIR = Path(__file__).parent / "sample"
SECRET_ENV = "DIALPAD_WEBHOOK_SECRET"
MESSAGEBIRD_KEY_ENV = "MESSAGEBIRD_SIGNING_KEY"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CallmartError as error:
        _fail(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        _fail("interrupted; nothing from the unfinished load was kept")
        return 130
    except Exception as error:  # a bug or an environment fault: still one line, unless asked
        if os.environ.get("CALLMART_DEBUG"):
            raise
        reason = " ".join(str(error).split())[:300]
        _fail(f"unexpected {type(error).__name__}: {reason} (CALLMART_DEBUG=1 shows more)")
        return 1


def _out() -> Console:
    """Standard output for summaries: never wrapped, so paths stay whole."""
    return Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    """One line on stderr, never wrapped."""
    print(f"callmart: {' '.join(message.split())}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callmart",
        description="Load Dialpad and MessageBird call payloads into DuckDB; build the call marts.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="load landing files into the raw layer")
    _warehouse_options(ingest)
    _load_options(ingest)
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
    _warehouse_options(build)
    _full_refresh_option(build)
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
    _warehouse_options(run)
    _load_options(run)
    _full_refresh_option(run)
    run.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="landing files, folders or globs; none loads the sample shipped in the package",
    )
    run.set_defaults(handler=_run)

    report = commands.add_parser(
        "report", help="write a self-contained HTML report of the contact-center KPIs"
    )
    _warehouse_options(report)
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


def _warehouse_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the DuckDB warehouse file (default: $CALLMART_DB, else ./warehouse.duckdb)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress; errors only")


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


def _full_refresh_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )


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
    return Decoder(
        _secret(dialpad_secret_file, SECRET_ENV),
        _secret(args.messagebird_key_file, MESSAGEBIRD_KEY_ENV),
    )


def _ingest(args: argparse.Namespace) -> int:
    _ingest_paths(args, args.paths, _decoder(args, args.jwt_secret_file))
    return 0


def _build(args: argparse.Namespace) -> int:
    spark = _spark_target(args) if args.target == "spark" else None
    summary = run_dbt_build(_db_path(args), args.full_refresh, quiet=args.quiet, spark=spark)
    _report_build(args, summary)
    return 0


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
    paths = args.paths
    secret_file = args.jwt_secret_file
    if not paths:
        paths = [str(SAMPLE_DIR / "landing")]
        if secret_file is None and not os.environ.get(SECRET_ENV):
            secret_file = SAMPLE_DIR / "jwt_secret.txt"  # the sample's own, sample-only secret
    _ingest_paths(args, paths, _decoder(args, secret_file))
    _report_build(args, run_dbt_build(_db_path(args), args.full_refresh, quiet=args.quiet))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ingest.report import write_report

    out = write_report(_db_path(args), args.out)
    if not args.quiet:
        _out().print(f"report: wrote {out}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from ingest.sample.simulate import write_sample

    summary = write_sample(args.out, events=args.events, seed=args.seed)
    if not args.quiet:
        _out().print(
            f"wrote {summary['records']} records ({summary['distinct_events']} distinct events, "
            f"{summary['conversations']} conversations) to {args.out}",
            highlight=False,
        )
    return 0


def _ingest_paths(args: argparse.Namespace, given: Sequence[str], decoder: Decoder) -> None:
    files = expand_paths(given)
    lake = getattr(args, "to_parquet", None)
    target = lake.resolve() if lake else _db_path(args)
    total = sum(p.stat().st_size for p in files)
    with _progress(args.quiet or total < 5_000_000) as progress:
        task = progress.add_task("load", total=total)

        def advance(consumed: int) -> None:
            progress.advance(task, consumed)

        if lake:
            summary = export_files(files, decoder, target, advance, args.workers)
        else:
            con = connect(target)
            try:
                summary = load_files(con, target, files, decoder, advance, args.workers)
            finally:
                con.close()
    if not args.quiet:
        _report_load(summary, target)


def _progress(disable: bool) -> Progress:
    return Progress(
        TextColumn("loading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=disable,
        transient=True,
    )


def _report_load(summary: LoadSummary, target: Path) -> None:
    out = _out()
    skipped = sum(1 for f in summary.files if f.skipped)
    read, loaded = summary.total("read"), summary.total("loaded")
    duplicates, quarantined = summary.total("duplicates"), summary.total("quarantined")
    out.print(
        f"ingest: {len(summary.files)} files ({skipped} unchanged, skipped) into {target}\n"
        f"  read {read} = loaded {loaded} + duplicates {duplicates} + quarantined {quarantined}"
    )
    if summary.quarantined_by_reason:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.quarantined_by_reason.items()))
        out.print(f"  quarantined by reason: {reasons} (see raw.quarantine)")
    if summary.unknown_keys:
        keys = ", ".join(f"{k} {v}" for k, v in summary.unknown_keys.items())
        out.print(f"  payload fields with no raw column (kept in payload): {keys}")


def _report_build(args: argparse.Namespace, summary: BuildSummary) -> None:
    if args.quiet:
        return
    out = _out()
    out.print(
        f"build: {summary.models} models, {summary.tests_passed} tests passed, "
        f"{len(summary.warnings)} warnings; marts published to {summary.published}"
    )
    for warning in summary.warnings:
        out.print(f"  warn: {warning}")


if __name__ == "__main__":
    sys.exit(main())
