"""callmart's benchmark: builds its own data with the simulator and prints its figures.

    .venv/bin/python bench/benchmark.py --events 1000000 [--work DIR] [--skip-jwt]
        [--json-array-mb 300]

Each step runs as its own process on the same files, and its peak RSS is the peak of the sum
over its whole process tree (the load's worker processes included), sampled every 50 ms:
1. DuckDB's own `read_json` of the NDJSON with the schema given (every field the raw layer
   extracts): the practical parsing limit on this machine;
2. `callmart ingest` of the NDJSON;
3. `callmart ingest` of the same events as JWT lines (into a second warehouse);
4. the full build (`callmart build`) of the NDJSON warehouse;
5. a 1% batch of new events: its ingest and its incremental build on top of the warehouse;
6. `callmart status` on that warehouse (what a scheduler's health check costs);
7. with `--json-array-mb N`: the NDJSON's first N MB as one `.json` array, ingested under a
   512 MB memory limit (`CALLMART_MEMORY_LIMIT`): the array is streamed, so peak RSS stays
   flat however big the document.
It prints seconds, events per second and peak RSS for each, and the ratios ingest/read_json
and (1% batch build)/(full build). Not a test: a script that reports; docs/performance.md
keeps the figures.

The data: simulated Dialpad conversations (`ingest.sample`) in shards, on every core, written
as real feeds look (keys in Dialpad's order, not sorted; an event whose time the capture
layer supplied arrives in an envelope), one NDJSON file and one file of JWT lines.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = b"benchmark-secret-0123456789abcdef0123456789abcdef"
SHARD_EVENTS = 100_000
BATCH_SHARE = 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="distinct events to build")
    parser.add_argument("--work", type=Path, default=None, help="folder for data and warehouses")
    parser.add_argument("--skip-jwt", action="store_true", help="skip the JWT ingest step")
    parser.add_argument(
        "--json-array-mb", type=int, default=0, help="also ingest a .json array of this size"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="callmart-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    ndjson, jwt_lines, batch = _data(work, args.events)
    events = _count_lines(ndjson)
    batch_events = _count_lines(batch)
    print(f"data: {events} events, NDJSON {ndjson.stat().st_size / 1e6:.0f} MB in {work}")
    for stale in work.glob("*.duckdb*"):
        stale.unlink()
    db = work / "ndjson.duckdb"
    rows = [_step("duckdb read_json (schema given)", events, _read_json_command(ndjson))]
    rows.append(_step("callmart ingest NDJSON", events, _callmart("ingest", db, ndjson)))
    if not args.skip_jwt:
        signed = _callmart("ingest", work / "jwt.duckdb", jwt_lines)
        rows.append(_step("callmart ingest JWT lines", events, signed))
    rows.append(_step("callmart build (full)", events, _callmart("build", db)))
    rows.append(_step("1% batch: ingest", batch_events, _callmart("ingest", db, batch)))
    rows.append(_step("1% batch: build", batch_events, _callmart("build", db)))
    rows.append(_step("callmart status", 1, _callmart("status", db)))
    if args.json_array_mb:
        array, elements = _json_array(work, ndjson, args.json_array_mb << 20)
        name = f"ingest .json array {array.stat().st_size >> 20} MB (512MB limit)"
        command = _callmart("ingest", work / "array.duckdb", array)
        rows.append(_step(name, elements, command, {"CALLMART_MEMORY_LIMIT": "512MB"}))

    print(f"\n{'step':34} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>12}")
    for name, count, seconds, rss in rows:
        print(f"{name:34} {seconds:8.1f} {count / seconds:10.0f} {rss:12.0f}")
    figures = {name: seconds for name, _, seconds, _ in rows}
    read_json = figures["duckdb read_json (schema given)"]
    print(f"\ningest NDJSON / read_json: {figures['callmart ingest NDJSON'] / read_json:.1f}x")
    total = figures["callmart ingest NDJSON"] + figures["callmart build (full)"]
    print(f"ingest NDJSON + full build: {total:.1f} s")
    incremental = figures["1% batch: build"] / figures["callmart build (full)"]
    print(f"1% batch build / full build: {incremental:.0%}")


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))


# --- data -----------------------------------------------------------------------------------


def _data(work: Path, events: int) -> tuple[Path, Path, Path]:
    """NDJSON and JWT lines of about `events` events, and a 1% batch of later conversations."""
    ndjson, jwt_lines, batch = work / "events.ndjson", work / "events.jwt", work / "batch.ndjson"
    marker = work / f"data-{events}.done"
    if marker.exists():
        return ndjson, jwt_lines, batch
    shards = max(1, -(-events // SHARD_EVENTS))
    per_shard = events // shards
    started = time.perf_counter()
    with ProcessPoolExecutor() as pool:
        parts = list(pool.map(_write_shard, [(work, seed, per_shard) for seed in range(shards)]))
    with ndjson.open("wb") as plain, jwt_lines.open("wb") as signed, batch.open("wb") as later:
        for part_plain, part_signed, part_batch in parts:
            for part, out in ((part_plain, plain), (part_signed, signed), (part_batch, later)):
                out.write(part.read_bytes())
                part.unlink()
    marker.touch()
    print(f"data written in {time.perf_counter() - started:.0f} s", flush=True)
    return ndjson, jwt_lines, batch


def _write_shard(job: tuple[Path, int, int]) -> tuple[Path, Path, Path]:
    """One shard: its own seed, so its ids are its own; the last 1% of conversations apart."""
    from ingest.sample.directory import Ids, build_directory
    from ingest.sample.model import TimeSource
    from ingest.sample.scenarios import Sim
    from ingest.sample.simulate import build_conversations, good_events

    work, seed, events = job
    rng = random.Random(1000 + seed)
    ids = Ids(rng)
    sim = Sim(rng, ids, build_directory(rng, ids))
    conversations = build_conversations(sim, events)
    cut = len(conversations) - max(1, round(len(conversations) * BATCH_SHARE))
    paths = tuple(work / f"shard-{seed}.{kind}" for kind in ("ndjson", "jwt", "batch"))
    with paths[0].open("w") as plain, paths[1].open("w") as signed, paths[2].open("w") as later:
        for index, part in enumerate((conversations[:cut], conversations[cut:])):
            for good in good_events(part, sim, Counter()):
                envelope = good.time_source is TimeSource.RECEIVED
                text = json.dumps(good.payload)
                if index == 1:
                    later.write(_enveloped(text, good.at) if envelope else text)
                    later.write("\n")
                    continue
                token = _sign(text)
                plain.write((_enveloped(text, good.at) if envelope else text) + "\n")
                signed.write((_enveloped(json.dumps(token), good.at) if envelope else token) + "\n")
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


def _callmart(command: str, db: Path, *paths: Path) -> list[str]:
    callmart = Path(sys.executable).parent / "callmart"
    return [str(callmart), command, "--quiet", "--db", str(db), *map(str, paths)]


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
    name: str, count: int, command: list[str], extra_env: dict[str, str] | None = None
) -> tuple[str, int, float, float]:
    env = {**os.environ, "DIALPAD_WEBHOOK_SECRET": SECRET.decode(), **(extra_env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = _PeakRss(process.pid)
    peak.start()
    if process.wait() != 0:
        raise SystemExit(f"{name} failed (exit status {process.returncode})")
    seconds = time.perf_counter() - started
    peak.stop()
    print(f"  {name}: {seconds:.1f} s, peak RSS {peak.mb:.0f} MB", flush=True)
    return name, count, seconds, peak.mb


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
