"""Landing files (docs/contract.md §2): NDJSON, JSON arrays and JWT lines, some gzipped.

Every distinct event is written once, some are redelivered one or two more times (raw,
as a JWT or in an envelope, possibly in another file), and a few bad records are mixed
in. Records are shuffled within and across files: arrival order carries no meaning.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from ingest.sample.model import TimeSource

OTHER_SECRET = "not-the-webhook-secret-but-just-as-long-0123456789abcdefghijklmnop"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
JITTER_MS = 1_800_000

# The seed's recording sample that carries recap_summary, on one line, trailing comma kept.
SEED_RECAP_NOT_JSON = (
    '{"master_call_id": null, "date_ended": 1620694975723, "internal_number": "+16010123456", '
    '"duration": 23263.819000000003, "total_duration": 34673.775000000001, '
    '"entry_point_target": {}, "proxy_target": {}, "call_dispositions": null, '
    '"entry_point_call_id": null, "operator_call_id": null, "call_id": 4978137078431744, '
    '"state": "recording", "date_started": 1620694942713, "transcription_text": null, '
    '"direction": "inbound", "date_connected": 1620694952459, "voicemail_link": null, '
    '"is_transferred": false, "was_recorded": true, "recording_url": '
    '["https://dialpad.com/r/6086754856781234", "https://dialpad.com/r/6086754856787890"], '
    '"date_rang": null, "group_id": null, "external_number": "+16043111111", '
    '"mos_score": 4.5, "labels": [], "recap_summary": "Connor and Victoria greet each other '
    'and exchange pleasantries about their day.",}'
)


class Reason:
    """Quarantine reason codes."""

    NOT_JSON = "not_json"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ALGORITHM = "wrong_algorithm"
    MISSING_CALL_ID = "missing_call_id"
    MISSING_STATE = "missing_state"
    ALL = (NOT_JSON, BAD_SIGNATURE, WRONG_ALGORITHM, MISSING_CALL_ID, MISSING_STATE)


@dataclass(frozen=True)
class GoodEvent:
    """One distinct event: its payload, its time and how the warehouse will read it."""

    payload: dict[str, Any]
    at: int
    time_source: TimeSource


@dataclass(frozen=True)
class FileSpec:
    name: str
    kind: str  # ndjson | array | jwt
    weight: float  # share of first deliveries
    redelivery_weight: float
    envelope_share: float = 0.0
    compact: bool = True


FILES = (
    FileSpec("dialpad_events_2026-03-02.ndjson", "ndjson", 0.006, 0.01, 0.3),
    FileSpec("dialpad_events_2026-03-03.jsonl.gz", "ndjson", 0.492, 0.16, 0.2, compact=False),
    FileSpec("webhook_capture_2026-03-04.jsonl.gz", "ndjson", 0.22, 0.20, 0.9),
    FileSpec("dialpad_export_2026-03-02.json", "array", 0.006, 0.01, 0.1),
    FileSpec("dialpad_export_backfill.json.gz", "array", 0.18, 0.08, 0.3),
    FileSpec("dialpad_webhook_2026-03-03.jwt", "jwt", 0.006, 0.02),
    FileSpec("dialpad_webhook_2026-03-04.jwt.gz", "jwt", 0.09, 0.12),
    FileSpec("dialpad_redelivery_2026-03-05.ndjson.gz", "ndjson", 0.0, 0.40, 0.6),
)
# Agent status events (docs/contract.md §11) come in files of their own: the same shapes as
# call events (raw objects, envelopes, JWT lines), drawn from their own random source.
STATUS_FILES = (
    FileSpec("dialpad_agent_status_2026-03-02.ndjson", "ndjson", 0.03, 0.15, 0.3),
    FileSpec("dialpad_agent_status_2026-03-03.jsonl.gz", "ndjson", 0.89, 0.45, 0.15),
    FileSpec("dialpad_agent_status_2026-03-04.jwt.gz", "jwt", 0.08, 0.40),
)


@dataclass
class Landing:
    """The records of each landing file, in memory, before shuffling and writing."""

    items: dict[str, list[tuple[int, Any]]] = field(
        default_factory=lambda: {f.name: [] for f in FILES}
    )  # (about when it arrived, record)
    stats: Counter[str] = field(default_factory=Counter)


def iso(ms: int, rng: random.Random) -> str:
    stamp = EPOCH + timedelta(milliseconds=ms)
    suffix = rng.choice(("Z", "+00:00"))
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{suffix}"


def dumps(value: Any, compact: bool = True) -> str:
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(value, separators=separators, ensure_ascii=False)


def sign(payload: dict[str, Any], secret: str, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def unsigned_token(payload: dict[str, Any]) -> str:
    """A JWT with alg "none" and an empty signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def envelope(inner: Any, received_at: int, rng: random.Random, jwt_inner: bool) -> dict[str, Any]:
    received: int | str = received_at if rng.random() < 0.6 else iso(received_at, rng)
    headers = {
        "content-type": "application/jwt" if jwt_inner else "application/json",
        "user-agent": "Dialpad-Webhooks/1.0",
        "x-request-id": f"{rng.getrandbits(64):016x}",
    }
    return {"received_at": received, "payload": inner, "headers": headers}


def pick_file(
    rng: random.Random, event: GoodEvent, redelivery: bool, files: Sequence[FileSpec] = FILES
) -> FileSpec:
    specs = [f for f in files if not (f.kind == "jwt" and event.time_source is TimeSource.RECEIVED)]
    weights = [f.redelivery_weight if redelivery else f.weight for f in specs]
    return rng.choices(specs, weights)[0]


def encode_copy(
    event: GoodEvent,
    spec: FileSpec,
    first: bool,
    rng: random.Random,
    secret: str,
    stats: Counter[str],
) -> Any:
    """One delivery of `event` in the shape `spec` holds."""
    if spec.kind == "jwt":
        stats["jwt_lines"] += 1
        return sign(event.payload, secret)
    wrap = event.time_source is TimeSource.RECEIVED or (
        event.time_source is TimeSource.EVENT and rng.random() < spec.envelope_share
    )
    if not wrap:
        stats["raw_objects"] += 1
        return event.payload if spec.kind == "array" else dumps(event.payload, spec.compact)
    jwt_inner = rng.random() < 0.25
    stats["envelopes_with_jwt" if jwt_inner else "envelopes_with_object"] += 1
    inner = sign(event.payload, secret) if jwt_inner else event.payload
    late = event.time_source is not TimeSource.RECEIVED or not first
    received_at = event.at + (rng.randint(1_000, 900_000) if late else 0)
    wrapped = envelope(inner, received_at, rng, jwt_inner)
    return wrapped if spec.kind == "array" else dumps(wrapped, spec.compact)


def deliver(
    events: list[GoodEvent], rng: random.Random, secret: str, files: Sequence[FileSpec] = FILES
) -> Landing:
    """Every event once, about 8% of them again (once or twice more), into `files`."""
    landing = Landing({f.name: [] for f in files})
    for event in events:
        copies = 1
        if rng.random() < 0.08:
            copies += rng.choice((1, 1, 2))
        for n in range(copies):
            spec = pick_file(rng, event, n > 0, files)
            item = encode_copy(event, spec, n == 0, rng, secret, landing.stats)
            landing.items[spec.name].append((event.at + n * rng.randint(0, DAY_MS), item))
    return landing


# -- bad records --------------------------------------------------------------------------


def poisoned(payload: dict[str, Any], rng: random.Random, ghost_call_id: int) -> dict[str, Any]:
    """A forged variant of a real payload: loading it would change a mart."""
    forged = copy.deepcopy(payload)
    choice = rng.choice(("ghost_call", "late_hangup", "csat"))
    if choice == "ghost_call":
        forged["call_id"] = ghost_call_id
    elif choice == "late_hangup":
        forged["state"] = "hangup"
        forged["date_ended"] = payload["date_started"] + 86_400_000
        forged["event_timestamp"] = forged["date_ended"]
    else:
        forged["state"] = "csat"
        forged["csat_score"] = 1
        forged["event_timestamp"] = (
            payload.get("date_ended") or payload["date_started"]
        ) + 3_600_000
    return forged


def bad_record(
    reason: str, base: dict[str, Any], ghost: int, rng: random.Random, secret: str
) -> tuple[str, Any]:
    """(file kind, record) for one quarantine case with `reason`."""
    if reason == Reason.NOT_JSON:
        text = dumps(base)
        return "ndjson", rng.choice((SEED_RECAP_NOT_JSON, text[: len(text) // 2]))
    if reason in (Reason.BAD_SIGNATURE, Reason.WRONG_ALGORITHM):
        forged = poisoned(base, rng, ghost)
        if reason == Reason.BAD_SIGNATURE:
            token = sign(forged, OTHER_SECRET)
        elif rng.random() < 0.5:
            token = unsigned_token(forged)
        else:
            token = sign(forged, secret, "HS512")
        return _as_jwt_record(token, base, rng)
    stripped = {k: v for k, v in base.items() if k != reason.removeprefix("missing_")}
    shape = rng.choice(("raw", "raw", "jwt", "envelope"))
    if shape == "jwt":
        return "jwt", sign(stripped, secret)
    if shape == "envelope":
        received = base.get("event_timestamp") or base["date_started"]
        return "ndjson", dumps(envelope(stripped, received, rng, False))
    return rng.choice(("ndjson", "array")), stripped if rng.random() < 0.5 else dumps(stripped)


def _as_jwt_record(token: str, base: dict[str, Any], rng: random.Random) -> tuple[str, Any]:
    if rng.random() < 0.5:
        return "jwt", token
    received = (base.get("event_timestamp") or base.get("date_started") or 0) + 500
    return "ndjson", dumps(envelope(token, received, rng, True))


def add_bad_records(
    landing: Landing,
    events: list[GoodEvent],
    ghosts: list[int],
    per_reason: int,
    rng: random.Random,
    secret: str,
) -> Counter[str]:
    """Mix `per_reason` bad records of each reason into the files; returns their counts."""
    counts: Counter[str] = Counter()
    for reason in Reason.ALL:
        for _ in range(per_reason):
            base = rng.choice(events).payload
            kind, record = bad_record(reason, base, ghosts.pop(), rng, secret)
            if kind == "array" and isinstance(record, str):
                kind = "ndjson"
            spec = rng.choice([f for f in FILES if f.kind == kind])
            landing.items[spec.name].append((rng.choice(events).at, record))
            counts[reason] += 1
    return counts


# -- writing ------------------------------------------------------------------------------


def render(spec: FileSpec, items: list[Any]) -> bytes:
    if spec.kind == "array":
        text = json.dumps(items, indent=1 if not spec.name.endswith(".gz") else None)
        return (text + "\n").encode()
    lines = [item if isinstance(item, str) else dumps(item, spec.compact) for item in items]
    return "".join(line + "\n" for line in lines).encode()


def arrival_order(
    spec: FileSpec,
    items: list[tuple[int, Any]],
    rng: random.Random,
    others: Sequence[tuple[int, str]] = (),
    others_rng: random.Random | None = None,
) -> list[Any]:
    """Plain files: shuffled. Gzipped files: by time give or take half an hour (a leg's events
    still arrive out of order, and the file compresses much better).

    `others` are another provider's records mixed into the file, placed with their own
    random source, so this provider's records keep their order and draws."""
    if not spec.name.endswith(".gz"):
        records = [record for _, record in items]
        rng.shuffle(records)
        for _, record in others:
            assert others_rng is not None
            records.insert(others_rng.randint(0, len(records)), record)
        return records
    keyed = [(at + rng.randint(0, JITTER_MS), i, record) for i, (at, record) in enumerate(items)]
    if others:
        assert others_rng is not None
        keyed += [
            (at + others_rng.randint(0, JITTER_MS), len(items) + i, record)
            for i, (at, record) in enumerate(others)
        ]
    return [record for _, _, record in sorted(keyed, key=lambda row: row[:2])]


def write_landing(
    landing: Landing,
    folder: Path,
    rng: random.Random,
    others: dict[str, list[tuple[int, str]]] | None = None,
    others_rng: random.Random | None = None,
    files: Sequence[FileSpec] = FILES,
) -> dict[str, int]:
    """Write `files` in arrival order, with `others` (another provider's records, as text
    lines) mixed into the files they name; returns records per file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for spec in files:
        mixed = (others or {}).get(spec.name, [])
        items = arrival_order(spec, landing.items[spec.name], rng, mixed, others_rng)
        data = render(spec, items)
        if spec.name.endswith(".gz"):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        (folder / spec.name).write_bytes(data)
        written[spec.name] = len(items)
    return written
