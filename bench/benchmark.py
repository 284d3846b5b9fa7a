"""callmart's benchmark: every row of the speed issue's table (#15), anchors from the same run.

    .venv/bin/python bench/benchmark.py --events 1000000 --work /data/bench
    .venv/bin/python bench/benchmark.py --events 50000          # a check in a few minutes
    .venv/bin/python bench/benchmark.py --events-large 5000000  # adds the 5M row (many minutes)

It measures the code of the checkout it lives in (`python -m ingest.cli` with the checkout on
PYTHONPATH). Each step runs as its own process on the same files; its peak RSS is the peak of
the summed RSS of its whole process tree (a load's worker processes, dbt's child), sampled every
50 ms. The steps:

anchors, what a user would compare callmart with:
- DuckDB's own `read_json` of the NDJSON with the schema given (every field the raw layer
  extracts), materialised in memory: the practical parsing limit on this machine;
- pyjwt: plain `jwt.decode(token, secret, algorithms=["HS256"])` over the JWT lines, one
  process: tokens per second of CPU, per core;
- an empty dbt project: dbt-duckdb with one trivial model, `dbt build` run as callmart runs it
  (a child `python -c` of dbt's CLI, JSON log, its log file at info, no unit tests): dbt's
  start-up and a build, once cold (no partial parse) and once warm;
- dlt into DuckDB (`pip install -e '.[bench]'`): the NDJSON read line by line with `json.loads`
  and loaded by a dlt pipeline (Parquet loader files, its faster way into DuckDB); skipped, with
  a note, when dlt is not installed;

callmart:
- `callmart ingest` of the NDJSON, and of the same events as JWT lines (another warehouse);
- `callmart ingest --to-parquet` of the NDJSON: the same load into a Parquet lake, its files
  renamed into place instead of committed to the warehouse;
- `callmart run` of the NDJSON into a fresh warehouse: landing files to marts in one command;
- `callmart build` of the NDJSON warehouse (the full build), then a 1% batch of later events
  (its ingest and its incremental build), then a build with nothing new, then `callmart status`;
- with `--events-large N`: N events (5M in the issue) ingested and built in full;
- with `--json-array-mb N`: the NDJSON's first N MB as one `.json` array, ingested under a
  512 MB memory limit (`CALLMART_MEMORY_LIMIT`): the array is streamed, so peak RSS stays flat.

It prints each step (seconds, events per second, peak RSS), then the issue's table: each
measure, its anchor from this run, the goal and whether it is met. Goals in seconds are the
issue's for 1M and 5M events and are judged only at about those sizes; ratios at any size. Not
a test: a script that reports; docs/performance.md keeps the figures.

The data: simulated Dialpad conversations (`ingest.sample`) in shards, on every core, written
as real feeds look (keys in Dialpad's order, not sorted; an event whose time the capture
layer supplied arrives in an envelope), one NDJSON file and one file of JWT lines. The agents'
status events (docs/contract.md §11: about one for every four call events) are a file of their
own, loaded before every build and `callmart run` (and, for the batch, in the batch file), so
the ingest rows compare call events with the same anchors as before; `--events` counts call
events.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the checkout's, as above
from ingest.build import DBT_BUILD_OPTIONS, DBT_CLI, dbt_environment  # noqa: E402

SECRET = b"benchmark-secret-0123456789abcdef0123456789abcdef"
SHARD_EVENTS = 100_000
BATCH_SHARE = 0.01
PYJWT_TOKENS = 20_000  # enough for a steady rate: pyjwt takes about 90 µs a token
GIB = 1024  # MiB, as peak RSS is counted


@dataclass(frozen=True)
class Step:
    name: str
    count: int  # events (or tokens) the step handled
    seconds: float
    rss_mb: float  # peak RSS of the process tree, MiB
    rate: float | None = None  # a rate the step measured itself (pyjwt), else count / seconds

    @property
    def per_second(self) -> float:
        return self.rate if self.rate is not None else self.count / self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=200_000, help="distinct events to build")
    parser.add_argument(
        "--events-large",
        type=int,
        default=0,
        metavar="N",
        help="also ingest and build N events in full (the issue's 5M row: 5000000; many minutes)",
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for data and warehouses")
    parser.add_argument("--skip-jwt", action="store_true", help="skip the JWT steps")
    parser.add_argument("--skip-dlt", action="store_true", help="skip dlt even when installed")
    parser.add_argument(
        "--json-array-mb", type=int, default=0, help="also ingest a .json array of this size"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="callmart-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    ndjson, jwt_lines, batch = _data(work, args.events)
    status = _status_file(work)
    events = _count_lines(ndjson)
    status_events = _count_lines(status)
    batch_events = _count_lines(batch)
    print(
        f"data: {events} call events (NDJSON {ndjson.stat().st_size / 1e6:.0f} MB) and "
        f"{status_events} agent status events in {work}"
    )
    for stale in work.glob("*.duckdb*"):
        stale.unlink()
    db = work / "ndjson.duckdb"
    steps: dict[str, Step] = {}

    def step(name: str, count: int, command: list[str], **options: object) -> Step:
        steps[name] = _step(name, count, command, **options)  # type: ignore[arg-type]
        return steps[name]

    # anchors
    step("duckdb read_json (schema given)", events, _read_json_command(ndjson))
    if not args.skip_jwt:
        tokens = min(events, PYJWT_TOKENS)
        step("pyjwt jwt.decode, one process", tokens, _pyjwt_command(jwt_lines, tokens), rate=True)
    empty = work / "empty-dbt"
    step("empty dbt project: build, cold", 1, _empty_dbt_project(empty), cwd=empty)
    step("empty dbt project: build, warm", 1, _empty_dbt_project(empty, fresh=False), cwd=empty)
    dlt_note = _dlt_missing(args.skip_dlt)
    if dlt_note is None:
        step("dlt into DuckDB", events, _dlt_command(ndjson, work / "dlt"))

    # callmart
    step("callmart ingest NDJSON", events, _callmart("ingest", db, ndjson))
    lake = work / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    command = _callmart("ingest", lake, ndjson, target="--to-parquet")
    step("callmart ingest NDJSON into a lake", events, command)
    if not args.skip_jwt:
        step(
            "callmart ingest JWT lines", events, _callmart("ingest", work / "jwt.duckdb", jwt_lines)
        )
    command = _callmart("run", work / "run.duckdb", ndjson, status)
    step("callmart run (ingest + build)", events, command)
    step("callmart ingest agent status", status_events, _callmart("ingest", db, status))
    step("callmart build (full)", events, _callmart("build", db))
    step("1% batch: ingest", batch_events, _callmart("ingest", db, batch))
    step("1% batch: build", batch_events, _callmart("build", db))
    step("build, nothing new", 1, _callmart("build", db))
    step("callmart status", 1, _callmart("status", db))
    if args.json_array_mb:
        array, elements = _json_array(work, ndjson, args.json_array_mb << 20)
        name = f"ingest .json array {array.stat().st_size >> 20} MB (512MB limit)"
        command = _callmart("ingest", work / "array.duckdb", array)
        step(name, elements, command, extra_env={"CALLMART_MEMORY_LIMIT": "512MB"})
    large_events = 0
    if args.events_large:
        large = work / f"large-{args.events_large}"
        large.mkdir(exist_ok=True)
        large_ndjson, _, _ = _data(large, args.events_large, jwt=False)
        large_events = _count_lines(large_ndjson)
        large_db = large / "large.duckdb"
        for stale in large.glob("*.duckdb*"):
            stale.unlink()
        step("large: ingest NDJSON", large_events, _callmart("ingest", large_db, large_ndjson))
        large_status = _status_file(large)
        command = _callmart("ingest", large_db, large_status)
        step("large: ingest agent status", _count_lines(large_status), command)
        step("large: build (full)", large_events, _callmart("build", large_db))

    _print_steps(steps)
    _print_goals(steps, events, large_events, dlt_note)


# --- what it prints ----------------------------------------------------------------------


def _print_steps(steps: dict[str, Step]) -> None:
    print(f"\n{'step':38} {'seconds':>8} {'per second':>11} {'peak RSS MB':>12}")
    for step in steps.values():
        rate = f"{step.per_second:11,.0f}" if step.count > 1 else " " * 11
        print(f"{step.name:38} {step.seconds:8.1f} {rate} {step.rss_mb:12.0f}")


def _print_goals(
    steps: dict[str, Step], events: int, large_events: int, dlt_note: str | None
) -> None:
    """The issue's table: measure, callmart, anchor from this run, goal, met."""
    s = steps  # short: every line below reads a step
    read_json = s["duckdb read_json (schema given)"].seconds
    ingest = s["callmart ingest NDJSON"].seconds
    empty_cold = s["empty dbt project: build, cold"].seconds
    empty_warm = s["empty dbt project: build, warm"].seconds
    full = s["callmart build (full)"].seconds
    run = s["callmart run (ingest + build)"]
    rows: list[tuple[str, str, str, str, str]] = []
    ratio = ingest / read_json
    rows.append(
        (
            f"plain NDJSON ingest, {events:,} events",
            f"{ingest:.1f} s ({ratio:.1f}x)",
            f"DuckDB read_json, schema given: {read_json:.1f} s",
            "<= 2x (stretch 1.2x)",
            _met(ratio <= 2, "stretch met" if ratio <= 1.2 else ""),
        )
    )
    if "callmart ingest JWT lines" in s:
        jwt_rate = s["callmart ingest JWT lines"].per_second
        pyjwt = s["pyjwt jwt.decode, one process"].per_second
        rows.append(
            (
                f"JWT lines, {events:,}",
                f"{jwt_rate:,.0f} events/s",
                f"pyjwt: {pyjwt:,.0f}/s per core",
                ">= 50,000/s",
                _met(jwt_rate >= 50_000),
            )
        )
    else:
        rows.append(("JWT lines", "skipped (--skip-jwt)", "", ">= 50,000/s", ""))
    at_1m = _about(events, 1_000_000)
    rows.append(
        (
            f"{events:,} events landing -> marts (callmart run)",
            f"{run.seconds:.1f} s, {run.rss_mb / GIB:.2f} GiB",
            f"read_json + an empty dbt project: {read_json + empty_cold:.1f} s",
            "< 30 s, < 2 GiB at 1M",
            _met(run.seconds < 30 and run.rss_mb < 2 * GIB) if at_1m else "(goal at 1M)",
        )
    )
    if large_events:
        large_ingest, large_build = s["large: ingest NDJSON"], s["large: build (full)"]
        total = large_ingest.seconds + large_build.seconds
        rss = max(large_ingest.rss_mb, large_build.rss_mb)
        rows.append(
            (
                f"{large_events:,} events, ingest + full build",
                f"{large_ingest.seconds:.0f} + {large_build.seconds:.0f} = {total:.0f} s, "
                f"{rss / GIB:.2f} GiB",
                "",
                "< 150 s, < 2 GiB at 5M",
                _met(total < 150 and rss < 2 * GIB)
                if _about(large_events, 5_000_000)
                else "(goal at 5M)",
            )
        )
    else:
        rows.append(("5M events, ingest + full build", "not run", "", "< 150 s, < 2 GiB",
                     "(--events-large 5000000)"))  # fmt: skip
    batch = s["1% batch: build"].seconds
    rows.append(
        (
            f"1% batch on a {events:,} warehouse, build",
            f"{batch:.1f} s = {batch / full:.0%} of a full build",
            f"full build {full:.1f} s",
            "< 5%",
            _met(batch / full < 0.05),
        )
    )
    nothing = s["build, nothing new"].seconds
    rows.append(
        (
            "build with nothing new",
            f"{nothing:.1f} s",
            f"an empty dbt project, warm: {empty_warm:.1f} s",
            "dbt's start-up and little more (<= 2x)",
            _met(nothing <= 2 * empty_warm),
        )
    )
    if dlt_note is None:
        dlt = s["dlt into DuckDB"].seconds
        rows.append(
            (
                f"dlt into DuckDB, {events:,}",
                f"callmart {dlt / ingest:.1f}x faster",
                f"dlt: {dlt:.1f} s",
                "callmart >= 10x faster",
                _met(dlt / ingest >= 10),
            )
        )
    else:
        rows.append(("dlt into DuckDB", dlt_note, "", "callmart >= 10x faster", ""))
    header = ("measure", "callmart", "anchor, same run", "goal", "met")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * width for width in widths), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    peaks = {name: step.rss_mb for name, step in s.items()}
    highest = max(peaks, key=peaks.__getitem__)
    print(f"\nhighest peak RSS of a process tree: {peaks[highest]:.0f} MB ({highest})")


def _met(met: bool, note: str = "") -> str:
    return ("yes" if met else "no") + (f", {note}" if note else "")


def _about(count: int, size: int) -> bool:
    """Whether `count` events is about the size a goal is set for (the simulator's 1M is
    990,722 events)."""
    return abs(count - size) <= size // 10


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))


# --- data -----------------------------------------------------------------------------------


def _data(work: Path, events: int, jwt: bool = True) -> tuple[Path, Path, Path]:
    """NDJSON and JWT lines of about `events` events, and a 1% batch of later conversations
    (`jwt=False`: no JWT lines, for the large run)."""
    ndjson, jwt_lines, batch = work / "events.ndjson", work / "events.jwt", work / "batch.ndjson"
    marker = work / f"data-{events}-with-agent-status.done"
    # a run without JWT lines leaves their file empty: a later run that wants them writes again
    if marker.exists() and (not jwt or jwt_lines.exists() and jwt_lines.stat().st_size > 0):
        return ndjson, jwt_lines, batch
    shards = max(1, -(-events // SHARD_EVENTS))
    per_shard = events // shards
    started = time.perf_counter()
    with ProcessPoolExecutor() as pool:
        jobs = [(work, seed, per_shard, jwt) for seed in range(shards)]
        parts = list(pool.map(_write_shard, jobs))
    status = _status_file(work)
    with (
        ndjson.open("wb") as plain,
        jwt_lines.open("wb") as signed,
        batch.open("wb") as later,
        status.open("wb") as statuses,
    ):
        for shard in parts:
            for part, out in zip(shard, (plain, signed, later, statuses), strict=True):
                out.write(part.read_bytes())
                part.unlink()
    marker.touch()
    print(f"data written in {time.perf_counter() - started:.0f} s", flush=True)
    return ndjson, jwt_lines, batch


def _status_file(work: Path) -> Path:
    """The agent status events of the data in `work` (the batch's are in the batch file)."""
    return work / "agent_status.ndjson"


def _write_shard(job: tuple[Path, int, int, bool]) -> tuple[Path, Path, Path, Path]:
    """One shard: its own seed, so its ids are its own; the last 1% of conversations apart;
    the agents' status events of the bulk in a file of their own."""
    from ingest.sample.agents import build_statuses, status_payload
    from ingest.sample.directory import Ids, build_directory
    from ingest.sample.encode import GoodEvent
    from ingest.sample.model import TimeSource
    from ingest.sample.scenarios import Sim
    from ingest.sample.simulate import WINDOW_START_MS, build_conversations, good_events

    work, seed, events, jwt = job
    rng = random.Random(1000 + seed)
    ids = Ids(rng)
    sim = Sim(rng, ids, build_directory(rng, ids))
    conversations = build_conversations(sim, events)
    cut = len(conversations) - max(1, round(len(conversations) * BATCH_SHARE))
    parts = [
        good_events(part, sim, Counter()) for part in (conversations[:cut], conversations[cut:])
    ]
    # the agents' status events: those before the batch's first event go with the bulk
    bulk_statuses: list[GoodEvent] = []
    status_rng = random.Random(f"agent-status-{1000 + seed}")
    watermark = max(good.at for part in parts for good in part)
    batch_from = min((good.at for good in parts[1]), default=watermark + 1)
    for status in build_statuses(
        status_rng, sim.directory, conversations, watermark, WINDOW_START_MS
    ).events:
        good = GoodEvent(status_payload(status, status_rng, Counter()), status.event_at,
                         TimeSource.EVENT)  # fmt: skip
        (bulk_statuses if good.at < batch_from else parts[1]).append(good)
    paths = (
        work / f"shard-{seed}.ndjson",
        work / f"shard-{seed}.jwt",
        work / f"shard-{seed}.batch",
        work / f"shard-{seed}.status",
    )
    paths[3].write_text("".join(json.dumps(good.payload) + "\n" for good in bulk_statuses))
    with paths[0].open("w") as plain, paths[1].open("w") as signed, paths[2].open("w") as later:
        for index, part in enumerate(parts):
            for good in part:
                envelope = good.time_source is TimeSource.RECEIVED
                text = json.dumps(good.payload)
                if index == 1:
                    later.write(_enveloped(text, good.at) if envelope else text)
                    later.write("\n")
                    continue
                plain.write((_enveloped(text, good.at) if envelope else text) + "\n")
                if jwt:
                    token = _sign(text)
                    signed.write(
                        (_enveloped(json.dumps(token), good.at) if envelope else token) + "\n"
                    )
    return paths


def _enveloped(payload: str, received_at: int) -> str:
    return f'{{"received_at": {received_at}, "payload": {payload}}}'


_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def _sign(claims: str) -> str:
    """A compact HS256 JWT of `claims` (pyjwt's output, without its cost per token)."""
    body = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=")
    signing_input = _HEADER + b"." + body
    signature = hmac.new(SECRET, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


# --- steps ----------------------------------------------------------------------------------


def _read_json_command(ndjson: Path) -> list[str]:
    """DuckDB's read_json with the raw layer's whole schema given, materialised in memory."""
    from ingest.raw_tables import DIALPAD_CALL_EVENTS

    columns = {key: "VARCHAR" for key in sorted(DIALPAD_CALL_EVENTS.payload_keys)}
    sources = [column.source or "" for column in DIALPAD_CALL_EVENTS.fields]
    parties = {source.split(".")[0] for source in sources if "." in source}
    columns.update({party: "JSON" for party in sorted(parties)})
    columns.update(
        {key: "JSON" for key in ("recording_details", "labels", "recording_url", "payload")}
    )
    script = (
        "import duckdb; c = duckdb.connect(); "
        f"c.execute(\"create table t as select * from read_json('{ndjson}', "
        f"format='newline_delimited', columns={columns!r})\"); "
        "print(c.execute('select count(*) from t').fetchone())"
    )
    return [sys.executable, "-c", script]


def _pyjwt_command(jwt_lines: Path, tokens: int) -> list[str]:
    """pyjwt's own verification of the first `tokens` JWT lines (an envelope's token
    included): it prints tokens per second of CPU, one process."""
    script = textwrap.dedent(
        f"""
        import json, time, jwt
        tokens = []
        with open({str(jwt_lines)!r}) as lines:
            for line in lines:
                line = line.strip()
                tokens.append(json.loads(line)["payload"] if line.startswith("{{") else line)
                if len(tokens) == {tokens}:
                    break
        started = time.process_time()
        for token in tokens:
            jwt.decode(token, {SECRET!r}, algorithms=["HS256"])
        print(len(tokens) / (time.process_time() - started))
        """
    )
    return [sys.executable, "-c", script]


def _empty_dbt_project(folder: Path, fresh: bool = True) -> list[str]:
    """A dbt-duckdb project with one trivial model, and the command that builds it the way
    callmart builds its own (ingest/build.py), to be run in `folder`."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: empty\nversion: '1.0'\nprofile: empty\nmodel-paths: [models]\n"
    )
    (folder / "profiles.yml").write_text(
        "empty:\n  target: duckdb\n  outputs:\n"
        "    duckdb: {type: duckdb, path: empty.duckdb, threads: 2}\n"
    )
    (folder / "models" / "trivial.sql").write_text("select 1 as one\n")
    if fresh:  # cold: no partial parse to reuse, no warehouse
        for state in ("target", "logs"):
            shutil.rmtree(folder / state, ignore_errors=True)
        for stale in folder.glob("empty.duckdb*"):
            stale.unlink()
    project = ["--project-dir", str(folder), "--profiles-dir", str(folder)]
    return [sys.executable, "-c", DBT_CLI, "build", *project, *DBT_BUILD_OPTIONS]


def _dlt_missing(skip: bool) -> str | None:
    """Why the dlt row is skipped, or None when dlt is installed."""
    if skip:
        return "skipped (--skip-dlt)"
    if importlib.util.find_spec("dlt") is None:
        return "skipped: dlt is not installed (pip install -e '.[bench]')"
    return None


def _dlt_command(ndjson: Path, folder: Path) -> list[str]:
    """dlt loading the NDJSON into a DuckDB file (nested fields flattened, lists as child
    tables), the events read as a user would: `json.loads`, in pages. Its Parquet loader files:
    dlt's default for DuckDB, SQL INSERT statements, took 327 s and 6.9 GB for 50k events on
    this machine (Parquet: about 40 s, 220 MB), so the default would not reach 1M."""
    script = textwrap.dedent(
        f"""
        import json, shutil, dlt

        shutil.rmtree({str(folder)!r}, ignore_errors=True)

        @dlt.resource(name="dialpad_call_events")
        def events():
            page = []
            with open({str(ndjson)!r}, "rb") as lines:
                for line in lines:
                    page.append(json.loads(line))
                    if len(page) == 10_000:
                        yield page
                        page = []
            yield page

        pipeline = dlt.pipeline(
            pipeline_name="bench",
            pipelines_dir={str(folder / "pipelines")!r},
            destination=dlt.destinations.duckdb({str(folder / "dlt.duckdb")!r}),
            dataset_name="raw",
        )
        pipeline.run(events(), loader_file_format="parquet")
        """
    )
    return [sys.executable, "-c", script]


def _callmart(command: str, db: Path, *paths: Path, target: str = "--db") -> list[str]:
    """A callmart command of this checkout (not whichever callmart is installed), on the
    warehouse `db` (or the lake, `target="--to-parquet"`)."""
    return [
        sys.executable,
        "-m",
        "ingest.cli",
        command,
        "--quiet",
        target,
        str(db),
        *map(str, paths),
    ]


def _json_array(work: Path, ndjson: Path, size: int) -> tuple[Path, int]:
    """The NDJSON's first lines, up to `size` bytes, as one pretty-printed JSON array."""
    array = work / f"array-{size >> 20}mb.json"
    elements = 0
    with ndjson.open("rb") as lines, array.open("wb") as out:
        out.write(b"[\n")
        written = 2
        for line in lines:
            if written + len(line) > size:
                break
            out.write((b",\n  " if elements else b"  ") + line.rstrip(b"\n"))
            written += len(line) + 4
            elements += 1
        out.write(b"\n]\n")
    for stale in work.glob("array.duckdb*"):
        stale.unlink()
    return array, elements


def _step(
    name: str,
    count: int,
    command: list[str],
    extra_env: dict[str, str] | None = None,
    cwd: Path | None = None,
    rate: bool = False,
) -> Step:
    """Run one step as its own process; `rate`: the step prints its own rate (per second)."""
    env = {
        **dbt_environment(),  # dbt's own settings as callmart runs it (ingest/build.py)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DIALPAD_WEBHOOK_SECRET": SECRET.decode(),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **(extra_env or {}),
    }
    started = time.perf_counter()
    output = subprocess.PIPE if rate else subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, text=True)
    peak = _PeakRss(process.pid)
    peak.start()
    printed, _ = process.communicate()
    seconds = time.perf_counter() - started
    peak.stop()
    if process.returncode != 0:
        raise SystemExit(f"{name} failed (exit status {process.returncode})")
    measured = Step(name, count, seconds, peak.mb, float(printed.split()[-1]) if rate else None)
    shown = f", {measured.per_second:,.0f}/s" if rate else ""
    print(f"  {name}: {seconds:.1f} s{shown}, peak RSS {peak.mb:.0f} MB", flush=True)
    return measured


class _PeakRss(threading.Thread):
    """The peak, over time, of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._done = threading.Event()
        self.mb = 0.0

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.mb = max(self.mb, sum(_rss_kb(pid) for pid in _tree(self._pid)) / 1024)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
