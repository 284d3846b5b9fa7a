"""callmart's benchmark: builds its own data with the simulator and prints its figures.

    .venv/bin/python bench/benchmark.py --events 200000 [--work DIR]

Each step runs as its own process (so its peak RSS is its own), on the same files:
1. DuckDB's own `read_json` of the NDJSON, with the schema given: the practical parsing limit;
2. `callmart ingest` of the NDJSON (plain JSON payloads);
3. `callmart ingest` of the same events as JWT lines;
4. the full build (`callmart build`) on the NDJSON warehouse;
5. a 1% batch of new events ingested and built on top of it.
It prints seconds, events per second and peak RSS for each, and the ratios ingest/read_json
and (1% batch)/(full build). Not a test: a script that reports; docs/performance.md keeps the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret-0123456789abcdef0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="distinct events to build")
    parser.add_argument("--work", type=Path, default=None, help="folder for data and warehouses")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="callmart-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    ndjson, jwt_lines, batch, events = _data(work, args.events)
    print(f"data: {events} events, NDJSON {ndjson.stat().st_size / 1e6:.0f} MB in {work}")
    rows = []
    read_json = _step("duckdb read_json (schema given)", events, _read_json_command(ndjson))
    rows.append(read_json)
    db = work / "ndjson.duckdb"
    ingest = _step("callmart ingest NDJSON", events, _callmart("ingest", db, ndjson))
    rows.append(ingest)
    rows.append(
        _step(
            "callmart ingest JWT lines", events, _callmart("ingest", work / "jwt.duckdb", jwt_lines)
        )
    )
    full = _step("callmart build (full)", events, _callmart("build", db))
    rows.append(full)
    batch_events = sum(1 for _ in batch.open())
    rows.append(_step("1% batch: ingest", batch_events, _callmart("ingest", db, batch)))
    incremental = _step("1% batch: build", batch_events, _callmart("build", db))
    rows.append(incremental)

    print(f"\n{'step':38} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>12}")
    for name, count, seconds, rss in rows:
        print(f"{name:38} {seconds:8.1f} {count / seconds:10.0f} {rss:12.0f}")
    print(f"\ningest NDJSON / read_json: {ingest[2] / read_json[2]:.1f}x")
    print(f"1% batch build / full build: {incremental[2] / full[2]:.0%}")


def _data(work: Path, events: int) -> tuple[Path, Path, Path, int]:
    """Simulated Dialpad payloads as NDJSON and as JWT lines, plus a 1% batch of new ones."""
    ndjson, jwt_lines, batch = work / "events.ndjson", work / "events.jwt", work / "batch.ndjson"
    if ndjson.exists() and jwt_lines.exists() and batch.exists():
        return ndjson, jwt_lines, batch, sum(1 for _ in ndjson.open())
    sys.path.insert(0, str(ROOT))
    from ingest.decode import Decoder, Event, Kind
    from ingest.read import expand_paths, read_chunks
    from ingest.sample import write_sample

    traffic = work / "traffic"
    write_sample(traffic, events=int(events * 1.01), seed=99)
    decoder = Decoder((traffic / "jwt_secret.txt").read_bytes())
    payloads: dict[str, str] = {}
    for path in expand_paths([str(traffic / "landing")]):
        for chunk in read_chunks(path):
            for record in chunk.records:
                for outcome in decoder.decode(record):
                    if isinstance(outcome, Event) and outcome.kind is Kind.DIALPAD_EVENT:
                        payloads.setdefault(outcome.event_hash, outcome.payload)
    texts = sorted(payloads.values())
    cut = len(texts) - max(1, len(texts) // 101)
    with ndjson.open("w") as plain, jwt_lines.open("w") as signed:
        for text in texts[:cut]:
            plain.write(text + "\n")
            signed.write(jwt.encode(json.loads(text), SECRET, algorithm="HS256") + "\n")
    batch.write_text("".join(text + "\n" for text in texts[cut:]))
    return ndjson, jwt_lines, batch, cut


def _read_json_command(ndjson: Path) -> list[str]:
    columns = {
        "call_id": "VARCHAR",
        "state": "VARCHAR",
        "direction": "VARCHAR",
        "master_call_id": "VARCHAR",
        "entry_point_call_id": "VARCHAR",
        "operator_call_id": "VARCHAR",
        "event_timestamp": "VARCHAR",
        "date_started": "VARCHAR",
        "date_rang": "VARCHAR",
        "date_connected": "VARCHAR",
        "date_ended": "VARCHAR",
        "target": "JSON",
        "contact": "JSON",
        "is_transferred": "VARCHAR",
    }
    script = (
        "import duckdb, sys; c = duckdb.connect(); "
        f"print(c.execute(\"select count(*) from read_json('{ndjson}', format='newline_delimited', "
        f'columns={columns!r})").fetchone())'
    )
    return [sys.executable, "-c", script]


def _callmart(command: str, db: Path, *paths: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "callmart"),
        command,
        "--quiet",
        "--db",
        str(db),
        *map(str, paths),
    ]


def _step(name: str, count: int, command: list[str]) -> tuple[str, int, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    env = {**os.environ, "DIALPAD_WEBHOOK_SECRET": SECRET}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: report it only when this step raised it.
    rss_mb = max(peak, before) / 1024 if peak > before else float("nan")
    print(f"  {name}: {seconds:.1f} s", flush=True)
    return name, count, seconds, rss_mb


if __name__ == "__main__":
    main()
