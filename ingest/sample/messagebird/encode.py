"""MessageBird landing records (docs/contract.md §2 and §8).

Every snapshot that arrives is delivered once, some again (redeliveries are identical
objects: duplicates). Webhooks deliver single objects, bare or in an envelope; API reads
deliver list responses `{"data": [...], "pagination": {...}}` of a call's legs or of several
calls. Records go to their own files (NDJSON, JSON array, gzip) and, as envelopes, into the
webhook capture file shared with Dialpad. A snapshot that `arrives_late` is delivered first
in the late file, after a newer snapshot of its object. A call read from the call history
(`GET /calls`, which carries no legs) arrives in a list response of calls in the API file;
when its legs arrive at all, every copy of them is in the late file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.sample.messagebird.model import MbCall, rfc3339

MIXED_FILE = "webhook_capture_2026-03-04.jsonl.gz"  # the Dialpad capture file
JITTER_MS = 1_800_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class MbFile:
    name: str
    kind: str  # ndjson | array


API_FILE = MbFile("messagebird_api_2026-03-02.ndjson", "ndjson")
EXPORT_FILE = MbFile("messagebird_export_2026-03-03.json.gz", "array")
WEBHOOK_FILE = MbFile("messagebird_webhooks_2026-03-04.ndjson.gz", "ndjson")
LATE_FILE = MbFile("messagebird_late_2026-03-05.jsonl", "ndjson")
MB_FILES = (API_FILE, EXPORT_FILE, WEBHOOK_FILE, LATE_FILE)
CHANNELS = {"webhook": 0.35, "capture": 0.2, "api": 0.2, "export": 0.25}


@dataclass(frozen=True)
class MbObject:
    """One snapshot as the API shows it."""

    kind: str  # call | leg
    call_id: str
    payload: dict[str, Any]
    at: int  # its updatedAt
    late: bool
    late_only: bool = False  # every copy in the late file (the legs of a history call)
    history: bool = False  # a call object read from the call history: first copy in the API file


@dataclass
class MbLanding:
    """Records per file as (about when it arrived, record), plus what was delivered."""

    items: dict[str, list[tuple[int, Any]]] = field(
        default_factory=lambda: {f.name: [] for f in (*MB_FILES, MbFile(MIXED_FILE, "ndjson"))}
    )
    elements: list[dict[str, Any]] = field(default_factory=list)  # every object delivered
    bad: Counter[str] = field(default_factory=Counter)
    stats: Counter[str] = field(default_factory=Counter)


def canonical_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def snapshot_objects(calls: list[MbCall]) -> list[MbObject]:
    """Every snapshot that reaches the files, calls and legs alike."""
    objects = []
    for call in calls:
        history = call.legs_arrive != "yes"
        for snapshot in call.snapshots:
            if snapshot.delivered:
                objects.append(
                    MbObject(
                        "call",
                        call.id,
                        call.as_object(snapshot),
                        snapshot.updated_at,
                        False,
                        history=history,
                    )
                )
        late_legs = call.legs_arrive == "late"
        for leg in call.legs:
            for snapshot in leg.snapshots:
                if snapshot.delivered:
                    objects.append(
                        MbObject(
                            "leg",
                            call.id,
                            leg.as_object(snapshot),
                            snapshot.updated_at,
                            snapshot.arrives_late or late_legs,
                            late_only=late_legs,
                        )
                    )
    return objects


def envelope(payload: dict[str, Any], at: int, rng: random.Random) -> dict[str, Any]:
    received = at + rng.randint(200, 20_000)
    headers = {
        "content-type": "application/json",
        "user-agent": "MessageBird-Voice-Webhooks/1.0",
        "x-request-id": f"{rng.getrandbits(64):016x}",
    }
    stamp: int | str = received if rng.random() < 0.5 else rfc3339(received, with_ms=True)
    return {"received_at": stamp, "payload": payload, "headers": headers}


def list_response(objects: list[MbObject]) -> dict[str, Any]:
    n = len(objects)
    return {
        "data": [o.payload for o in objects],
        "pagination": {"totalCount": n, "pageCount": 1, "currentPage": 1, "perPage": n},
    }


def deliver(objects: list[MbObject], rng: random.Random) -> MbLanding:
    """Each object once by a channel, about 10% again; API reads grouped into list responses."""
    landing = MbLanding()
    polled: dict[str, list[MbObject]] = {API_FILE.name: [], EXPORT_FILE.name: []}
    for obj in objects:
        polled_into: set[str] = set()
        copies = 2 if rng.random() < 0.1 else 1
        for n in range(copies):
            landing.elements.append(obj.payload)
            if obj.late_only or (n == 0 and obj.late):
                channel = "late"
            elif n == 0 and obj.history:
                channel = "api"
            else:
                names = list(CHANNELS) + (["late"] if n else [])
                weights = list(CHANNELS.values()) + ([0.3] if n else [])
                channel = rng.choices(names, weights)[0]
            at = obj.at + (rng.randint(0, DAY_MS) if n else 0)
            if channel == "late":
                at = obj.at + DAY_MS
                record: Any = envelope(obj.payload, at, rng) if rng.random() < 0.5 else obj.payload
                landing.items[LATE_FILE.name].append((at, record))
                landing.stats["late_records"] += 1
            elif channel == "capture":
                landing.items[MIXED_FILE].append((at, envelope(obj.payload, at, rng)))
                landing.stats["envelopes"] += 1
            elif channel == "webhook":
                wrap = rng.random() < 0.6
                record = envelope(obj.payload, at, rng) if wrap else obj.payload
                landing.items[WEBHOOK_FILE.name].append((at, record))
                landing.stats["envelopes" if wrap else "single_objects"] += 1
            else:
                name = API_FILE.name if channel == "api" else EXPORT_FILE.name
                if name in polled_into:  # never twice in one read of the API
                    landing.items[WEBHOOK_FILE.name].append((at, obj.payload))
                    landing.stats["single_objects"] += 1
                    continue
                polled_into.add(name)
                polled[name].append(obj)
    for name, pending in polled.items():
        groups: dict[str, list[MbObject]] = defaultdict(list)
        for obj in pending:
            groups[obj.call_id if obj.kind == "leg" else "calls"].append(obj)
        for key in sorted(groups):
            batch = groups[key]
            while batch:
                size = rng.randint(1, 4)
                chunk, batch = batch[:size], batch[size:]
                at = max(o.at for o in chunk) + rng.randint(60_000, 3_600_000)
                if len(chunk) == 1 and rng.random() < 0.5:
                    landing.items[name].append((at, chunk[0].payload))
                    landing.stats["single_objects"] += 1
                else:
                    landing.items[name].append((at, list_response(chunk)))
                    landing.stats["list_responses"] += 1
                    landing.stats["list_response_elements"] += len(chunk)
    return landing


def add_bad_records(
    landing: MbLanding, objects: list[MbObject], count: int, rng: random.Random
) -> None:
    """Truncated MessageBird lines: not JSON."""
    for _ in range(count):
        obj = rng.choice(objects)
        text = dumps(obj.payload)
        name = rng.choice((API_FILE.name, WEBHOOK_FILE.name, LATE_FILE.name))
        landing.items[name].append((obj.at, text[: len(text) // 2]))
        landing.bad["not_json"] += 1


def record_count(record: Any) -> int:
    """Landing records in one line or array element: a list response counts its elements."""
    if isinstance(record, dict) and isinstance(record.get("data"), list):
        return len(record["data"])
    return 1


def arrival_order(name: str, items: list[tuple[int, Any]], rng: random.Random) -> list[Any]:
    """Plain files: shuffled. Gzipped files: by time give or take half an hour."""
    if not name.endswith(".gz"):
        records = [record for _, record in items]
        rng.shuffle(records)
        return records
    keyed = [(at + rng.randint(0, JITTER_MS), i, record) for i, (at, record) in enumerate(items)]
    return [record for _, _, record in sorted(keyed, key=lambda row: row[:2])]


def write_files(landing: MbLanding, folder: Path, rng: random.Random) -> dict[str, int]:
    """Write the MessageBird-only files; returns landing records per file."""
    written = {}
    for spec in MB_FILES:
        records = arrival_order(spec.name, landing.items[spec.name], rng)
        if spec.kind == "array":
            text = json.dumps(records, indent=None if spec.name.endswith(".gz") else 1) + "\n"
        else:
            text = "".join((r if isinstance(r, str) else dumps(r)) + "\n" for r in records)
        data = text.encode()
        if spec.name.endswith(".gz"):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        (folder / spec.name).write_bytes(data)
        written[spec.name] = sum(record_count(r) for r in records)
    return written


def mixed_items(landing: MbLanding) -> list[tuple[int, str]]:
    """The envelopes bound for the capture file shared with Dialpad, as text lines."""
    return [(at, dumps(record)) for at, record in landing.items[MIXED_FILE]]
