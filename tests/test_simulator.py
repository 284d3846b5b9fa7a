"""Tests of the traffic simulator (ingest.sample), not of the warehouse.

Besides the summary's arithmetic and the contract's invariants on the expected values,
the landing files are read back here with a deliberately small reader (docs/contract.md
§2-§4 and §8: decode, verify, dedupe, event time, call graph, leg roles, MessageBird
snapshots), so that the payloads are shown to say what the expected files claim.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from ingest.raw_tables import STATE_DATE
from ingest.sample import SAMPLE_SECRET, write_sample
from ingest.sample.agents import Block, Status, StatusEvent, Timeline
from ingest.sample.directory import TWO_53, Ids, build_directory
from ingest.sample.expected import (
    agent_interval_rows,
    expected_conversation,
    expected_legs,
    leg_acw,
    status_intervals,
    union_length,
)
from ingest.sample.messagebird.expected import expected_conversation as mb_expected_conversation
from ingest.sample.messagebird.expected import expected_legs as mb_expected_legs
from ingest.sample.messagebird.model import MbCall, MbLeg
from ingest.sample.messagebird.model import ScenarioError as MbScenarioError
from ingest.sample.messagebird.scenarios import MB_FLOWS, MB_IN_PROGRESS_FLOWS, MB_ONCE_FLOWS
from ingest.sample.model import (
    LIVE_STATES,
    Contact,
    Conversation,
    Leg,
    Role,
    ScenarioError,
    Target,
    TimeSource,
)
from ingest.sample.scenarios import FLOWS, IN_PROGRESS_FLOWS, Sim, call_center_hop

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "ingest" / "sample"
EMPTY: tuple[Any, ...] = (None, "", "0", 0, {}, [])
LIVE_ORDER = (
    "preanswer", "calling", "ringing", "queued", "connected", "hold", "parked", "merged",
    "monitor", "barge", "takeover", "voicemail", "eavesdrop", "admin", "missed", "blocked",
    "hangup",
)  # fmt: skip
STATE_RANK = {state: rank for rank, state in enumerate(LIVE_ORDER, start=1)}


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, events=3000, seed=7)
    return out


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def all_conversations(sample: Path) -> list[dict[str, Any]]:
    return read_ndjson(sample / "_expected" / "conversations.ndjson")


@pytest.fixture(scope="module")
def all_legs(sample: Path) -> list[dict[str, Any]]:
    return read_ndjson(sample / "_expected" / "legs.ndjson")


@pytest.fixture(scope="module")
def conversations(all_conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dialpad's expected conversations."""
    return [c for c in all_conversations if c["provider"] == "dialpad"]


@pytest.fixture(scope="module")
def legs(all_legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dialpad's expected legs."""
    return [leg for leg in all_legs if leg["provider"] == "dialpad"]


@pytest.fixture(scope="module")
def mb_conversations(all_conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in all_conversations if c["provider"] == "messagebird"]


@pytest.fixture(scope="module")
def mb_legs(all_legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [leg for leg in all_legs if leg["provider"] == "messagebird"]


@pytest.fixture(scope="module")
def summary(sample: Path) -> dict[str, Any]:
    return json.loads((sample / "_expected" / "summary.json").read_text())


# -- a small reader of the landing files ------------------------------------------------


@dataclass
class Loaded:
    records: int
    copies: int
    events: dict[str, tuple[dict[str, Any], int | None]]  # hash -> (payload, received_at)
    quarantined: Counter[str]
    mb_copies: int = 0
    mb_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # hash -> object
    status_copies: int = 0
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # hash -> agent status
    mb_sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def file_records(path: Path) -> list[Any]:
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode()
    if ".json" in path.suffixes and ".jsonl" not in path.name and ".ndjson" not in path.name:
        return list(json.loads(text))
    return text.splitlines()


def decode_token(token: str, secret: str) -> dict[str, Any] | str:
    """The claims, or the quarantine reason."""
    try:
        if jwt.get_unverified_header(token).get("alg") != "HS256":
            return "wrong_algorithm"
        return jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return "bad_signature"


def received_ms(value: int | str) -> int:
    if isinstance(value, int):
        return value
    return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def decode_record(record: Any, secret: str, jwt_line: bool) -> tuple[Any, int | None]:
    """(payload or reason, received_at) for one line or array element."""
    if isinstance(record, str):
        if jwt_line:
            return decode_token(record, secret), None
        try:
            record = json.loads(record)
        except json.JSONDecodeError:
            return "not_json", None
    received = None
    if isinstance(record, dict) and "received_at" in record and "payload" in record:
        received = received_ms(record["received_at"])
        record = record["payload"]
        if isinstance(record, str):
            return decode_token(record, secret), received
    return record, received


def canonical_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def is_messagebird(payload: dict[str, Any]) -> bool:
    """docs/contract.md §8: a leg has callId; a call has an id and call fields, no call_id."""
    return "callId" in payload or ("id" in payload and "call_id" not in payload)


def load(folder: Path, secret: str) -> Loaded:
    loaded = Loaded(0, 0, {}, Counter())
    for path in sorted(folder.iterdir()):
        for record in file_records(path):
            payload, received = decode_record(record, secret, ".jwt" in path.name)
            if isinstance(payload, dict) and isinstance(payload.get("data"), list):
                elements = payload["data"]  # a MessageBird list response: one record each
                loaded.records += len(elements)
                for element in elements:
                    add_messagebird(loaded, element, f"{path.name}:list")
                continue
            loaded.records += 1
            if isinstance(payload, str):
                loaded.quarantined[payload] += 1
                continue
            if is_messagebird(payload):
                shape = "envelope" if received is not None else "object"
                add_messagebird(loaded, payload, f"{path.name}:{shape}")
                continue
            if is_agent_status(payload):
                loaded.status_copies += 1
                loaded.statuses[canonical_hash(payload)] = payload
                continue
            if "call_id" not in payload or "state" not in payload:
                loaded.quarantined[
                    "missing_call_id" if "call_id" not in payload else "missing_state"
                ] += 1
                continue
            loaded.copies += 1
            digest = canonical_hash(payload)
            _, kept = loaded.events.get(digest, (payload, None))
            if received is not None and (kept is None or received < kept):
                kept = received
            loaded.events[digest] = (payload, kept)
    return loaded


def is_agent_status(payload: dict[str, Any]) -> bool:
    """docs/contract.md §11: `target`, an on-duty or availability status, no `call_id`."""
    return (
        "target" in payload
        and ("on_duty_status" in payload or "availability_status" in payload)
        and "call_id" not in payload
    )


def add_messagebird(loaded: Loaded, payload: dict[str, Any], source: str) -> None:
    loaded.mb_copies += 1
    digest = canonical_hash(payload)
    loaded.mb_objects[digest] = payload
    loaded.mb_sources[digest].add(source)


def ident(value: Any) -> int | None:
    return None if value in EMPTY else int(value)


def event_at(payload: dict[str, Any], received: int | None) -> tuple[int, str]:
    if payload.get("event_timestamp") not in EMPTY:
        return int(payload["event_timestamp"]), "event"
    if received is not None:
        return received, "received"
    own = STATE_DATE.get(payload["state"])
    if own and payload.get(own) not in EMPTY:
        return int(payload[own]), "fallback"
    dates = [int(v) for k, v in payload.items() if k.startswith("date_") and v not in EMPTY]
    return max(dates), "fallback"


@dataclass
class ReadLeg:
    call_id: int
    events: list[tuple[int, str, dict[str, Any]]]  # (event_at, source, payload), in order

    @property
    def live(self) -> list[tuple[int, str, dict[str, Any]]]:
        return [e for e in self.events if e[2]["state"] in LIVE_STATES]

    def entry_point(self) -> int | None:
        refs = self.refs("entry_point_call_id")
        assert len(refs) <= 1
        return next(iter(refs), None)

    def carries(self, key: str) -> bool:
        return any(p.get(key) not in EMPTY for _, _, p in self.events)

    def refs(self, key: str) -> set[int]:
        return {v for _, _, p in self.events if (v := ident(p.get(key))) and v != self.call_id}

    def date(self, key: str, pick: Any) -> int | None:
        values = [int(p[key]) for _, _, p in self.live if p.get(key) not in EMPTY]
        return pick(values) if values else None

    def has(self, *states: str) -> bool:
        return any(p["state"] in states for _, _, p in self.events)

    def flag(self, key: str) -> bool:
        truthy = (True, "TRUE", "true", "True")
        return any(
            p.get(key) in truthy or p.get("is_transfer") in truthy for _, _, p in self.events
        )

    @property
    def target(self) -> dict[str, Any]:
        return [p["target"] for _, _, p in self.live if p.get("target")][-1]


def read_legs(loaded: Loaded) -> dict[int, ReadLeg]:
    """Each leg's events in contract order: event time, state rank, identity hash."""
    by_leg: dict[int, list[tuple[int, int, str, str, dict[str, Any]]]] = defaultdict(list)
    for digest, (payload, received) in loaded.events.items():
        at, source = event_at(payload, received)
        rank = STATE_RANK.get(payload["state"], 99)
        by_leg[int(payload["call_id"])].append((at, rank, digest, source, payload))
    legs = {}
    for call_id, rows in by_leg.items():
        rows.sort(key=lambda row: row[:3])
        legs[call_id] = ReadLeg(call_id, [(at, source, p) for at, _, _, source, p in rows])
    return legs


def components(legs: dict[int, ReadLeg]) -> dict[int, int]:
    """call_id -> a representative of its connected component (union-find)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for leg in legs.values():
        find(leg.call_id)
        for key in ("master_call_id", "entry_point_call_id", "operator_call_id"):
            for other in leg.refs(key):
                parent[find(other)] = find(leg.call_id)
    return {call_id: find(call_id) for call_id in parent}


def roles(legs: dict[int, ReadLeg]) -> dict[int, str]:
    """docs/contract.md §4 "Leg roles", in its order."""
    named_operators = {op for leg in legs.values() for op in leg.refs("operator_call_id")}
    named_entry_points = {ep for leg in legs.values() for ep in leg.refs("entry_point_call_id")}
    chosen: dict[int, int] = {}
    for leg in sorted(
        legs.values(), key=lambda leg: (leg.date("date_connected", min) or 0, leg.call_id)
    ):
        entry_point = leg.entry_point()
        if entry_point is None or leg.date("date_connected", min) is None:
            continue
        if leg.has("monitor", "barge", "takeover") or leg.call_id in named_operators:
            continue
        ep_leg = legs.get(entry_point)
        if (ep_leg is None or not ep_leg.refs("operator_call_id")) and entry_point not in chosen:
            chosen[entry_point] = leg.call_id
    result = {}
    for leg in legs.values():
        entry_point = leg.entry_point()
        if leg.call_id in named_operators:
            result[leg.call_id] = "operator"
        elif leg.has("monitor", "barge", "takeover"):
            result[leg.call_id] = "monitor"
        elif entry_point is not None and chosen.get(entry_point) == leg.call_id:
            result[leg.call_id] = "operator"
        elif entry_point is not None and leg.date("date_connected", min) is not None:
            result[leg.call_id] = "monitor"
        elif entry_point is not None:
            result[leg.call_id] = "ring_attempt"
        elif (
            leg.call_id in named_entry_points
            or leg.refs("operator_call_id")
            or leg.carries("group_id")
            or leg.date("date_queued", min) is not None
            or leg.has("queued")
        ):
            result[leg.call_id] = "entry_point"
        else:
            result[leg.call_id] = "direct"
    return result


def leg_holds(leg: ReadLeg, end: int) -> tuple[list[tuple[int, int]], bool]:
    live = leg.live
    intervals, unknown = [], False
    for i, (at, source, payload) in enumerate(live):
        if payload["state"] == "hold":
            intervals.append((at, live[i + 1][0] if i + 1 < len(live) else end))
            unknown = unknown or source == "fallback"
    return intervals, unknown


@pytest.fixture(scope="module")
def read_back(sample: Path) -> tuple[Loaded, dict[int, ReadLeg]]:
    secret = (sample / "jwt_secret.txt").read_text()
    loaded = load(sample / "landing", secret)
    return loaded, read_legs(loaded)


# -- the sample as a whole ----------------------------------------------------------------


def test_summary_counts_add_up(
    summary: dict[str, Any],
    all_legs: list[dict[str, Any]],
    all_conversations: list[dict[str, Any]],
) -> None:
    assert summary["records"] == (
        summary["distinct_events"] + summary["duplicates"] + summary["quarantined"]
    )
    assert summary["quarantined"] == sum(summary["quarantined_by_reason"].values())
    assert summary["records"] == sum(summary["files"].values())
    assert summary["legs"] == len(all_legs)
    assert summary["conversations"] == len(all_conversations)
    dialpad, messagebird = summary["providers"]["dialpad"], summary["providers"]["messagebird"]
    assert summary["distinct_events"] == (
        dialpad["distinct_events"]
        + dialpad["agent_status"]["distinct_events"]
        + messagebird["distinct_objects"]
    )
    assert summary["legs"] == dialpad["legs"] + messagebird["legs"]
    assert summary["duplicates"] > 0
    assert set(summary["quarantined_by_reason"]) == {
        "not_json", "bad_signature", "wrong_algorithm", "missing_call_id", "missing_state"
    }  # fmt: skip
    assert all(count > 0 for count in summary["quarantined_by_reason"].values())
    assert 2700 <= dialpad["distinct_events"] <= 3300
    assert 0.12 <= messagebird["conversations"] / summary["conversations"] <= 0.2


def test_landing_files_read_back_to_the_summary(
    summary: dict[str, Any], read_back: tuple[Loaded, dict[int, ReadLeg]]
) -> None:
    loaded, _ = read_back
    assert loaded.records == summary["records"]
    assert len(loaded.events) == summary["providers"]["dialpad"]["distinct_events"]
    assert len(loaded.mb_objects) == summary["providers"]["messagebird"]["distinct_objects"]
    statuses = summary["providers"]["dialpad"]["agent_status"]["distinct_events"]
    assert len(loaded.statuses) == statuses
    assert len(loaded.events) + len(loaded.mb_objects) + statuses == summary["distinct_events"]
    copies = loaded.copies + loaded.mb_copies + loaded.status_copies
    assert copies - summary["distinct_events"] == summary["duplicates"]
    assert dict(loaded.quarantined) == summary["quarantined_by_reason"]


def test_landing_mixes_formats(sample: Path) -> None:
    names = [path.name for path in (sample / "landing").iterdir()]
    for ending in (".ndjson", ".jsonl.gz", ".json", ".json.gz", ".jwt", ".jwt.gz"):
        assert any(name.endswith(ending) for name in names), ending
    capture = file_records(sample / "landing" / "webhook_capture_2026-03-04.jsonl.gz")
    envelopes = [json.loads(line) for line in capture if line.startswith('{"received_at"')]
    assert any(isinstance(e["received_at"], str) for e in envelopes)
    assert any(isinstance(e["received_at"], int) for e in envelopes)
    assert any(isinstance(e["payload"], str) for e in envelopes)
    assert any(isinstance(e["payload"], dict) for e in envelopes)


def test_every_flow_appears(summary: dict[str, Any]) -> None:
    assert set(summary["flows"]) == (
        set(FLOWS)
        | set(IN_PROGRESS_FLOWS)
        | set(MB_FLOWS)
        | set(MB_IN_PROGRESS_FLOWS)
        | set(MB_ONCE_FLOWS)
    )
    for quirk in (
        "operator_events_missing", "operator_without_entry_point_ref",
        "entry_point_names_no_operator", "unknown_hold", "monitor", "barge",
        "ids_as_strings", "booleans_as_strings", "is_transfer_alias", "empty_id_spelled",
        "recording_details", "recording_url_only", "post_call_conflicting_history",
        "call_ids_sharing_a_double",
    ):  # fmt: skip
        assert summary["quirks"].get(quirk, 0) > 0, quirk
    assert set(summary["event_time_sources"]) == {"event", "received", "fallback"}


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert write_sample(first, events=400, seed=3) == write_sample(second, events=400, seed=3)
    write_sample(other, events=400, seed=4)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "_expected" / "conversations.ndjson").read_bytes() != (
        other / "_expected" / "conversations.ndjson"
    ).read_bytes()


def test_bundled_sample_is_current(sample: Path) -> None:
    """The shipped files are exactly what write_sample(events=3000, seed=7) writes."""
    for path in sorted(sample.rglob("*")):
        if path.is_file():
            bundled = SAMPLE_DIR / path.relative_to(sample)
            assert bundled.exists(), bundled
            assert bundled.read_bytes() == path.read_bytes(), bundled
    assert (SAMPLE_DIR / "jwt_secret.txt").read_text() == SAMPLE_SECRET


def test_bundled_landing_is_small() -> None:
    size = sum(path.stat().st_size for path in (SAMPLE_DIR / "landing").iterdir())
    assert size < 700_000


def test_ids_are_big_and_sometimes_beyond_doubles(legs: list[dict[str, Any]]) -> None:
    ids = [int(leg["leg_id"]) for leg in legs]
    assert all(10**15 <= i < 10**16 for i in ids)
    assert any(i > TWO_53 for i in ids)
    assert len({float(i) for i in ids}) < len(ids)  # some ids share a double


# -- the payloads say what the expected files say ---------------------------------------


def test_call_graph_components_match(
    read_back: tuple[Loaded, dict[int, ReadLeg]], legs: list[dict[str, Any]]
) -> None:
    _, read = read_back
    component = components(read)
    members: dict[int, set[int]] = defaultdict(set)
    for call_id, root in component.items():
        members[root].add(call_id)
    by_conversation: dict[str, set[int]] = defaultdict(set)
    for leg in legs:
        by_conversation[leg["conversation_id"]].add(int(leg["leg_id"]))
    for conversation_id, leg_ids in by_conversation.items():
        with_events = members[component[int(conversation_id)]] & set(read)
        assert with_events == leg_ids, conversation_id


def test_leg_roles_follow_the_contract(
    read_back: tuple[Loaded, dict[int, ReadLeg]], legs: list[dict[str, Any]]
) -> None:
    _, read = read_back
    found = roles(read)
    assert {leg["leg_id"]: leg["leg_role"] for leg in legs} == {
        str(call_id): role for call_id, role in found.items()
    }


def test_leg_times_follow_from_payloads(
    read_back: tuple[Loaded, dict[int, ReadLeg]], legs: list[dict[str, Any]]
) -> None:
    _, read = read_back
    for row in legs:
        leg = read[int(row["leg_id"])]
        assert leg.date("date_started", min) == row["started_at"], row
        assert leg.date("date_rang", min) == row["rang_at"], row
        assert leg.date("date_connected", min) == row["connected_at"], row
        assert leg.date("date_ended", max) == row["ended_at"], row
        assert leg.flag("is_transferred") == row["is_transferred"], row
        assert leg.live[-1][2]["state"] == row["last_live_state"], row
        assert str(leg.target["id"]) == row["target_id"], row


def test_hold_and_talk_follow_from_payloads(
    read_back: tuple[Loaded, dict[int, ReadLeg]], legs: list[dict[str, Any]]
) -> None:
    _, read = read_back
    roles_by_id = {int(row["leg_id"]): row["leg_role"] for row in legs}
    operated = {
        op: leg.call_id
        for leg in read.values()
        if roles_by_id[leg.call_id] == "entry_point"
        for op in leg.refs("operator_call_id")
    }
    unknown_holds = 0
    for row in legs:
        leg = read[int(row["leg_id"])]
        if row["hold_ms"] is None and row["talk_ms"] is not None:
            unknown_holds += 1
            assert leg_holds(leg, row["ended_at"])[1], row  # a hold at a fallback time
            assert row["talk_ms"] == row["ended_at"] - row["connected_at"], row
        if row["hold_ms"] is None or row["ended_at"] is None:
            continue
        intervals, unknown = leg_holds(leg, row["ended_at"])
        if int(row["leg_id"]) in operated:
            entry_point = read[operated[int(row["leg_id"])]]
            more, more_unknown = leg_holds(entry_point, entry_point.date("date_ended", max) or 0)
            intervals, unknown = intervals + more, unknown or more_unknown
        start, end = row["connected_at"], row["ended_at"]
        clipped = [
            (max(a, start), min(b, end)) for a, b in intervals if min(b, end) > max(a, start)
        ]
        assert not unknown
        assert union_length(clipped) == row["hold_ms"], row
        assert row["talk_ms"] == end - start - row["hold_ms"], row
    assert unknown_holds > 0


def test_in_progress_calls_are_recent(
    read_back: tuple[Loaded, dict[int, ReadLeg]],
    all_conversations: list[dict[str, Any]],
    legs: list[dict[str, Any]],
    summary: dict[str, Any],
) -> None:
    _, read = read_back
    watermark = max(at for leg in read.values() for at, _, _ in leg.events)
    assert watermark == summary["watermark_at"]
    open_legs = [row for row in legs if row["ended_at"] is None]
    assert open_legs
    for row in open_legs:
        latest = read[int(row["leg_id"])].live[-1][0]
        assert watermark - latest < 12 * 3_600_000
        assert not read[int(row["leg_id"])].has("voicemail_uploaded", "recording", "csat")
    assert (
        sum(not c["is_complete"] for c in all_conversations)
        == (summary["in_progress_conversations"])
    )


# -- invariants of the expected values ----------------------------------------------------


def test_conversation_invariants(
    conversations: list[dict[str, Any]], legs: list[dict[str, Any]]
) -> None:
    legs_by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for leg in legs:
        legs_by_conversation[leg["conversation_id"]].append(leg)
    assert len({c["conversation_id"] for c in conversations}) == len(conversations)
    for c in conversations:
        own = [
            leg
            for leg in legs_by_conversation[c["conversation_id"]]
            if leg["leg_role"] != "monitor"
        ]
        assert c["leg_count"] == len(own) >= 1
        starts = [leg["started_at"] for leg in own]
        assert len(set(starts)) == len(starts), c  # no ties for the tie-break rules to settle
        answers = [leg["connected_at"] for leg in own if leg["talk_ms"] is not None]
        assert len(set(answers)) == len(answers), c
        assert c["started_at"] == min(leg["started_at"] for leg in own)
        assert c["is_complete"] == all(leg["ended_at"] is not None for leg in own)
        assert (c["ended_at"] is None) == (not c["is_complete"])
        if c["ended_at"] is not None:
            assert c["ended_at"] >= c["started_at"]
        talk, hold = c["talk_ms"], c["hold_ms"]
        acw = c["acw_ms"] or 0  # docs/contract.md §5: handle = talk + hold + ACW
        assert c["handle_ms"] == (None if talk is None else talk + (hold or 0) + acw)
        if c["wait_ms"] is not None:
            assert c["direction"] == "inbound" and c["is_complete"]
            assert 0 <= c["wait_ms"] <= c["ended_at"] - c["started_at"]
        elif c["direction"] == "inbound" and c["is_complete"]:
            pytest.fail(f"wait_ms missing: {c}")
        assert (c["answered_at"] is None) == (c["outcome"] != "answered")
        if c["answered_at"] is not None:
            assert c["answered_at"] >= c["started_at"]
            assert c["time_to_answer_ms"] == c["answered_at"] - c["started_at"]
        assert (c["first_agent_id"] is None) == (c["agent_count"] == 0)
        assert c["agent_count"] <= c["leg_count"]
        assert c["queue_ms"] >= 0
        assert c["outcome"] in {
            "answered",
            "in_progress",
            "voicemail",
            "blocked",
            "missed",
            "no_answer",
        }
        assert c["has_voicemail"] == (c["outcome"] == "voicemail") or c["outcome"] == "answered"
        assert c["is_recorded"] == (c["recording_count"] > 0)
        assert c["was_queued"] or c["queue_ms"] == 0


def test_outcomes_and_spreads(conversations: list[dict[str, Any]]) -> None:
    outcomes = Counter(c["outcome"] for c in conversations)
    assert set(outcomes) == {
        "answered",
        "in_progress",
        "voicemail",
        "blocked",
        "missed",
        "no_answer",
    }
    assert any(c["hold_ms"] is None for c in conversations)
    assert any(c["transfer_count"] >= 2 for c in conversations)
    assert any(c["agent_count"] >= 2 for c in conversations)
    assert any(c["queue_ms"] > 0 for c in conversations)
    assert any(c["csat_score"] is not None for c in conversations)
    assert any(c["recap_summary"] for c in conversations)
    hours = {c["started_at"] // 3_600_000 % 24 for c in conversations}
    assert len(hours) >= 12
    days = {c["started_at"] // 86_400_000 for c in conversations}
    assert len(days) >= 2
    assert any(
        c["ended_at"] and c["started_at"] // 86_400_000 != c["ended_at"] // 86_400_000
        for c in conversations
    )  # some span midnight


# -- small cases, checked by hand -------------------------------------------------------

USER = Target("user", 5908860123456789, "Sample User", "sample@x.test", "+16010123456", 1)
USER2 = Target("user", 5908860123456790, "Other User", "other@x.test", "+16010123457", 1)
CC = Target("callcenter", 6000000000000001, "Support", "support@x.test", "+16010000000", 1)
CALLER = Contact("+16043111111", "local", 7000000000000001, "Caller", "")
T0 = 1_772_409_600_000


def test_direct_inbound_by_hand() -> None:
    conv = Conversation("direct_inbound")
    leg = conv.add(Leg(4978137078431744, Role.DIRECT, "inbound", USER, CALLER))
    leg.start(T0)
    leg.ring(T0 + 500)
    leg.connect(T0 + 10_000)
    leg.hold(T0 + 40_000)
    leg.connect(T0 + 70_000)  # resume
    leg.hang_up(T0 + 130_000)
    row = expected_conversation(conv)
    assert row["conversation_id"] == "4978137078431744"
    assert row["hold_ms"] == 30_000
    assert row["talk_ms"] == 90_000  # 120 s connected, 30 s of it on hold
    assert row["handle_ms"] == 120_000
    assert row["answered_at"] == T0 + 10_000 and row["time_to_answer_ms"] == 10_000
    assert row["wait_ms"] == 10_000
    assert row["outcome"] == "answered" and row["leg_count"] == 1 and row["agent_count"] == 1
    assert row["first_agent_id"] == row["last_agent_id"] == str(USER.id)
    assert row["transfer_count"] == 0 and row["queue_ms"] == 0 and not row["was_queued"]
    [leg_row] = expected_legs(conv)
    assert leg_row["hold_ms"] == 30_000 and leg_row["talk_ms"] == 90_000


def test_unanswered_outbound_by_hand() -> None:
    conv = Conversation("outbound_unanswered")
    leg = conv.add(Leg(5000000000000001, Role.DIRECT, "outbound", USER, CALLER))
    leg.start(T0)
    leg.hang_up(T0 + 20_000)
    row = expected_conversation(conv)
    assert row["outcome"] == "no_answer" and row["wait_ms"] is None
    assert (row["talk_ms"], row["hold_ms"], row["handle_ms"]) == (None, None, None)
    assert [e.state for e in leg.events] == ["calling", "hangup"]


def test_unknown_hold_by_hand() -> None:
    conv = Conversation("direct_inbound")
    leg = conv.add(Leg(5000000000000002, Role.DIRECT, "inbound", USER, CALLER))
    leg.start(T0)
    leg.ring(T0 + 500)
    leg.connect(T0 + 5_000)
    leg.hold(T0 + 20_000).time_source = TimeSource.FALLBACK
    leg.connect(T0 + 50_000)
    leg.hang_up(T0 + 65_000)
    row = expected_conversation(conv)
    assert row["hold_ms"] is None
    assert row["talk_ms"] == row["handle_ms"] == 60_000


def operator_conversation() -> tuple[Conversation, Leg, Leg]:
    """Entry point + operator; holds on both legs a little apart, the last runs to the end."""
    conv = Conversation("operator")
    ep = conv.add(
        Leg(6000000000000010, Role.ENTRY_POINT, "inbound", CC, CALLER, group_id=CC.group_id)
    )
    op = conv.add(
        Leg(
            6000000000000011, Role.OPERATOR, "inbound", USER, CALLER, entry_point_call_id=ep.call_id
        )
    )
    ring = conv.add(
        Leg(
            6000000000000012,
            Role.RING_ATTEMPT,
            "inbound",
            USER2,
            CALLER,
            entry_point_call_id=ep.call_id,
        )
    )
    ep.start(T0)
    ep.ring(T0 + 1_000)
    ep.queue(T0 + 2_000)
    for leg in (op, ring):
        leg.start(T0 + 30_000)
        leg.ring(T0 + 30_500)
    op.connect(T0 + 40_000)
    ep.connect(T0 + 41_000)
    ep.name_operator(op.call_id, T0 + 41_000)
    ring.live("missed", T0 + 40_100)
    ring.hang_up(T0 + 40_200)
    op.hold(T0 + 60_000)
    ep.hold(T0 + 60_050)
    op.connect(T0 + 90_000)
    ep.connect(T0 + 90_080)
    ep.hold(T0 + 150_000)  # the caller hangs up while on hold
    op.hang_up(T0 + 160_000)
    ep.hang_up(T0 + 160_200)
    return conv, ep, op


def test_operator_call_by_hand() -> None:
    conv, ep, op = operator_conversation()
    row = expected_conversation(conv)
    assert row["conversation_id"] == str(ep.call_id)
    assert row["leg_count"] == 3 and row["agent_count"] == 1 and row["was_queued"]
    assert row["queue_ms"] == 39_000  # queued at +2 s until the entry point connected at +41 s
    assert row["answered_at"] == T0 + 40_000
    # hold: [60.0, 90.08] united with the entry point's, and [150, 160] clipped to the operator
    assert row["hold_ms"] == 30_080 + 10_000
    assert row["talk_ms"] == 120_000 - 40_080
    # wait: 160.2 s in all, answered from 40 s to 160.2 s
    assert row["wait_ms"] == 40_000
    assert row["entry_target_type"] == "callcenter" and row["first_agent_id"] == str(USER.id)
    roles = {r["leg_id"]: r["leg_role"] for r in expected_legs(conv)}
    assert roles == {
        str(ep.call_id): "entry_point",
        str(op.call_id): "operator",
        "6000000000000012": "ring_attempt",
    }


def test_missing_operator_by_hand() -> None:
    conv, ep, op = operator_conversation()
    op.arrives = False
    row = expected_conversation(conv)
    assert row["outcome"] == "answered" and row["answered_at"] == T0 + 41_000
    assert row["leg_count"] == 2 and row["agent_count"] == 0 and row["first_agent_id"] is None
    assert row["talk_ms"] is None and row["hold_ms"] is None and row["handle_ms"] is None


def test_transfers_by_hand() -> None:
    conv = Conversation("direct_transfer")
    first = conv.add(Leg(5000000000000003, Role.DIRECT, "inbound", USER, CALLER))
    second = conv.add(
        Leg(5000000000000004, Role.DIRECT, "inbound", USER2, CALLER, master_call_id=first.call_id)
    )
    first.start(T0)
    first.ring(T0 + 100)
    first.connect(T0 + 5_000)
    first.hang_up(T0 + 65_000, transferred=True)
    second.start(T0 + 65_100)
    second.ring(T0 + 65_200)
    second.connect(T0 + 75_000)
    second.hang_up(T0 + 135_000)
    row = expected_conversation(conv)
    assert row["transfer_count"] == 1 and row["agent_count"] == 2
    assert row["first_agent_id"] == str(USER.id) and row["last_agent_id"] == str(USER2.id)
    assert row["talk_ms"] == 120_000
    assert row["wait_ms"] == 135_000 - 120_000


def test_main_line_transfer_flag_does_not_count() -> None:
    rng_sim = Sim(*_sim_parts(11))
    conv = Conversation("main_line")
    office = rng_sim.directory.offices[0]
    main = conv.add(Leg(5000000000000005, Role.DIRECT, "inbound", office, CALLER))
    main.start(T0)
    main.connect(T0 + 500)
    main.hang_up(T0 + 20_000, transferred=True)
    hop = call_center_hop(
        rng_sim, conv, rng_sim.directory.call_centers[0], CALLER, T0 + 20_100, master=main.call_id
    )
    row = expected_conversation(conv)
    assert row["transfer_count"] == 0
    assert row["conversation_id"] == str(main.call_id)
    assert row["entry_target_type"] == "office"
    assert hop.operator is not None and row["first_agent_id"] == str(hop.operator.target.id)


def _sim_parts(seed: int) -> tuple[Any, Ids, Any]:
    import random

    rng = random.Random(seed)
    ids = Ids(rng)
    return rng, ids, build_directory(rng, ids)


def test_scenarios_refuse_events_out_of_order() -> None:
    leg = Leg(5000000000000006, Role.DIRECT, "inbound", USER, CALLER)
    leg.start(T0)
    with pytest.raises(ScenarioError):
        leg.ring(T0)
    leg.hang_up(T0 + 5)
    with pytest.raises(ScenarioError):
        leg.post("csat", T0 + 5)


def test_union_length() -> None:
    assert union_length([]) == 0
    assert union_length([(0, 10), (5, 15), (20, 25)]) == 20
    assert union_length([(0, 10), (2, 3)]) == 10


def test_event_times_read_back_to_the_timeline(
    read_back: tuple[Loaded, dict[int, ReadLeg]], legs: list[dict[str, Any]]
) -> None:
    """Event times (event_timestamp, received_at, fallback dates) put each leg's first
    event at its start, its first connected at its answer and its hangup at its end."""
    _, read = read_back
    sources: Counter[str] = Counter()
    for row in legs:
        leg = read[int(row["leg_id"])]
        live = leg.live
        sources.update(source for _, source, _ in leg.events)
        assert live[0][0] == row["started_at"], row
        assert live[0][2]["state"] in ("preanswer", "calling"), row
        connected = [at for at, _, p in live if p["state"] == "connected"]
        if connected:
            assert connected[0] == row["connected_at"], row
        if row["ended_at"] is not None:
            assert (live[-1][0], live[-1][2]["state"]) == (row["ended_at"], "hangup"), row
        post = [at for at, _, p in leg.events if p["state"] not in LIVE_STATES]
        assert all(at >= (row["ended_at"] or 0) for at in post), row
    assert set(sources) == {"event", "received", "fallback"}


def test_conversation_values_follow_from_payloads(
    read_back: tuple[Loaded, dict[int, ReadLeg]],
    conversations: list[dict[str, Any]],
    legs: list[dict[str, Any]],
) -> None:
    """answered_at, wait_ms, queue_ms, agents and transfers, recomputed from the events."""
    _, read = read_back
    rows_by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in legs:
        rows_by_conversation[row["conversation_id"]].append(row)
    for c in conversations:
        rows = rows_by_conversation[c["conversation_id"]]
        agent_rows = [
            r for r in rows
            if r["leg_role"] in ("operator", "direct") and r["target_type"] == "user"
            and r["connected_at"] is not None
        ]  # fmt: skip
        answers = [(r["connected_at"], r["ended_at"]) for r in agent_rows]
        transfers = 0
        for r in rows:
            leg = read[int(r["leg_id"])]
            if r["leg_role"] == "entry_point" and r["connected_at"] is not None:
                operators = leg.refs("operator_call_id")
                if operators:
                    answers.append((r["connected_at"], r["ended_at"]))
                flagged = leg.flag("is_transferred") or any(
                    read[op].flag("is_transferred") for op in operators if op in read
                )
                transfers += flagged
            if r in agent_rows and r["leg_role"] == "direct":
                transfers += r["is_transferred"]
        assert c["answered_at"] == min((a for a, _ in answers), default=None), c
        assert c["transfer_count"] == transfers, c
        assert c["agent_count"] == len({r["target_id"] for r in agent_rows}), c
        if c["wait_ms"] is not None:
            closed = [(a, b) for a, b in answers if b is not None]
            assert c["wait_ms"] == c["ended_at"] - c["started_at"] - union_length(closed), c
        queue = 0
        for r in rows:
            live = read[int(r["leg_id"])].live
            for i, (at, _, payload) in enumerate(live):
                if payload["state"] == "queued":
                    queue += live[i + 1][0] - at
        assert c["queue_ms"] == queue, c
        events = [e for r in rows for e in read[int(r["leg_id"])].events]
        csats = sorted((at, p["csat_score"]) for at, _, p in events if p["state"] == "csat")
        assert c["csat_score"] == (int(csats[-1][1]) if csats else None), c
        assert c["has_voicemail"] == any(p["state"] == "voicemail" for _, _, p in events), c


def test_payloads_show_the_leg_as_it_was() -> None:
    from ingest.sample.payloads import base_payload

    conv = Conversation("operator")
    ep = conv.add(Leg(6000000000000020, Role.ENTRY_POINT, "inbound", CC, CALLER, group_id="x:1"))
    ep.start(T0)
    ep.ring(T0 + 1_000)
    ep.connect(T0 + 9_000)
    ep.name_operator(6000000000000021, T0 + 9_000)
    ep.hang_up(T0 + 60_000, transferred=True)
    ep.post("csat", T0 + 90_000, csat_score=4)
    _, ringing, connected, hangup, csat = (base_payload(ep, e) for e in ep.events)
    assert ringing["state"] == "ringing" and ringing["event_timestamp"] == T0 + 1_000
    assert ringing["date_connected"] is None and ringing["operator_call_id"] is None
    assert not ringing["is_transferred"]
    assert connected["date_connected"] == T0 + 9_000
    assert connected["operator_call_id"] == 6000000000000021
    assert hangup["date_ended"] == T0 + 60_000 and hangup["is_transferred"] is True
    assert csat["csat_score"] == 4 and csat["date_ended"] == T0 + 60_000
    assert [e.state for e in ep.events] == ["preanswer", "ringing", "connected", "hangup", "csat"]


# -- MessageBird: the snapshots say what the expected files say -------------------------

MB_SPELLINGS = {"no-answer": "no_answer", "completed": "hangup"}
MB_LEG_RANK = {"starting": 1, "ringing": 2, "ongoing": 3}  # final statuses: 4
MB_CALL_RANK = {"queued": 1, "starting": 2, "ongoing": 3, "ended": 4}


def rfc3339_ms(value: str | None) -> int | None:
    if value is None:
        return None
    return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def mb_status(snapshot: dict[str, Any]) -> str:
    return MB_SPELLINGS.get(snapshot["status"], snapshot["status"])


def winning(snapshots: list[dict[str, Any]], ranks: dict[str, int]) -> dict[str, Any]:
    """docs/contract.md §8: the latest updatedAt; ties: the later status in the lifecycle."""
    return max(
        snapshots,
        key=lambda s: (rfc3339_ms(s["updatedAt"]), ranks.get(mb_status(s), 4), canonical_hash(s)),
    )


@dataclass
class MbRead:
    calls: dict[str, list[dict[str, Any]]]  # call id -> its snapshots
    legs: dict[str, list[dict[str, Any]]]  # leg id -> its snapshots

    def leg(self, leg_id: str) -> dict[str, Any]:
        return winning(self.legs[leg_id], MB_LEG_RANK)

    def call(self, call_id: str) -> dict[str, Any] | None:
        snapshots = self.calls.get(call_id)
        return winning(snapshots, MB_CALL_RANK) if snapshots else None


@pytest.fixture(scope="module")
def mb_read(read_back: tuple[Loaded, dict[int, ReadLeg]]) -> MbRead:
    loaded, _ = read_back
    read = MbRead(defaultdict(list), defaultdict(list))
    for payload in loaded.mb_objects.values():
        if "callId" in payload:
            read.legs[payload["id"]].append(payload)
        else:
            read.calls[payload["id"]].append(payload)
    return read


def mb_answered(snapshot: dict[str, Any]) -> bool:
    return snapshot["answeredAt"] is not None and mb_status(snapshot) in ("ongoing", "hangup")


def test_messagebird_legs_follow_from_snapshots(
    mb_read: MbRead, mb_legs: list[dict[str, Any]]
) -> None:
    assert set(mb_read.legs) == {row["leg_id"] for row in mb_legs}
    for row in mb_legs:
        leg = mb_read.leg(row["leg_id"])
        rings = [
            rfc3339_ms(s["updatedAt"])
            for s in mb_read.legs[row["leg_id"]]
            if mb_status(s) == "ringing"
        ]
        assert row["conversation_id"] == leg["callId"], row
        assert row["direction"] == {"incoming": "inbound", "outgoing": "outbound"}[leg["direction"]]
        assert row["started_at"] == rfc3339_ms(leg["createdAt"]), row
        assert row["ended_at"] == rfc3339_ms(leg["endedAt"]), row
        assert row["last_live_state"] == mb_status(leg), row
        assert row["connected_at"] == (rfc3339_ms(leg["answeredAt"]) if mb_answered(leg) else None)
        assert row["rang_at"] == min(rings, default=None), row  # type: ignore[type-var]
        assert row["hold_ms"] is None and row["queued_at"] is None and not row["is_end_inferred"]


def test_messagebird_roles_and_conversations_follow_from_snapshots(
    mb_read: MbRead, mb_conversations: list[dict[str, Any]], mb_legs: list[dict[str, Any]]
) -> None:
    """Roles, times, answers, transfers, agents and outcome, recomputed from the objects."""
    rows_by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in mb_legs:
        rows_by_call[row["conversation_id"]].append(row)
    for c in mb_conversations:
        legs = {
            row["leg_id"]: mb_read.leg(row["leg_id"]) for row in rows_by_call[c["conversation_id"]]
        }
        if not legs:  # only the call object arrived (call history): docs/contract.md §8
            call = mb_read.call(c["conversation_id"])
            assert call is not None, c
            ended = rfc3339_ms(call["endedAt"])
            assert (c["started_at"], c["ended_at"], c["is_complete"]) == (
                rfc3339_ms(call["createdAt"]),
                ended,
                ended is not None,
            )
            assert c["outcome"] == ("unknown" if mb_status(call) == "ended" else "in_progress")
            assert (c["leg_count"], c["direction"], c["answered_at"], c["talk_ms"]) == (
                0, None, None, None,
            )  # fmt: skip
            assert c["contact_number"] is None and c["entry_target_id"] is None, c
            continue
        first = min(legs.values(), key=lambda leg: (rfc3339_ms(leg["createdAt"]), leg["id"]))
        inbound = first["direction"] == "incoming"
        roles = {
            leg_id: ("operator" if leg["direction"] == "outgoing" else "entry_point")
            if inbound
            else "direct"
            for leg_id, leg in legs.items()
        }
        assert {r["leg_id"]: r["leg_role"] for r in rows_by_call[c["conversation_id"]]} == roles
        call = mb_read.call(c["conversation_id"])
        if call is not None:
            started, ended = rfc3339_ms(call["createdAt"]), rfc3339_ms(call["endedAt"])
        else:
            started = min(rfc3339_ms(leg["createdAt"]) or 0 for leg in legs.values())
            ends = [rfc3339_ms(leg["endedAt"]) for leg in legs.values()]
            ended = None if None in ends else max(e or 0 for e in ends)
        assert (c["started_at"], c["ended_at"], c["is_complete"]) == (
            started,
            ended,
            ended is not None,
        )
        answers = [
            leg for leg_id, leg in legs.items()
            if mb_answered(leg) and (roles[leg_id] == "operator" or not inbound)
        ]  # fmt: skip
        starts = [rfc3339_ms(leg["answeredAt"]) or 0 for leg in answers]
        assert c["answered_at"] == min(starts, default=None), c
        operators = sorted(
            (leg for leg in answers if roles[leg["id"]] == "operator"),
            key=lambda leg: (rfc3339_ms(leg["answeredAt"]), leg["id"]),
        )
        assert c["transfer_count"] == max(len(operators) - 1, 0), c
        assert c["first_agent_id"] == (operators[0]["destination"] if operators else None), c
        assert c["last_agent_id"] == (operators[-1]["destination"] if operators else None), c
        ends = [rfc3339_ms(leg["endedAt"]) for leg in answers]
        # an answer that ends before it starts (a vendor clock error) is no valid interval:
        # talk, handle and wait are unknown (null)
        backwards = any(e is not None and e < s for e, s in zip(ends, starts, strict=True))
        if answers and None not in ends and not backwards:
            talk = sum((e or 0) - s for e, s in zip(ends, starts, strict=True))
            assert c["talk_ms"] == c["handle_ms"] == talk, c
        else:
            assert c["talk_ms"] is None and c["handle_ms"] is None, c
        if backwards:
            assert c["wait_ms"] is None, c
        if c["wait_ms"] is not None:
            closed = [(s, e) for s, e in zip(starts, ends, strict=True) if e is not None]
            assert c["wait_ms"] == c["ended_at"] - c["started_at"] - union_length(closed), c
        outcome = "answered" if answers else "in_progress" if ended is None else None
        outcome = outcome or ("missed" if inbound else "no_answer")
        assert c["outcome"] == outcome, c
        assert c["contact_number"] == (first["source"] if inbound else first["destination"])
        if inbound:
            dialled = call["destination"] if call else first["destination"]
            assert c["entry_target_id"] == ((call or {}).get("numberId") or dialled), c
            assert c["entry_target_name"] == dialled, c
        assert c["queue_ms"] is None and c["hold_ms"] is None and c["csat_score"] is None


def test_messagebird_landing_shapes(
    sample: Path, read_back: tuple[Loaded, dict[int, ReadLeg]]
) -> None:
    """Single objects, list responses (NDJSON and JSON array), envelopes (their own gzip file
    and the capture file shared with Dialpad), both spellings, second and ms timestamps."""
    loaded, _ = read_back
    sources = {source for tags in loaded.mb_sources.values() for source in tags}
    assert "messagebird_api_2026-03-02.ndjson:list" in sources
    assert "messagebird_export_2026-03-03.json.gz:list" in sources
    assert "messagebird_webhooks_2026-03-04.ndjson.gz:envelope" in sources
    assert "messagebird_webhooks_2026-03-04.ndjson.gz:object" in sources
    assert "webhook_capture_2026-03-04.jsonl.gz:envelope" in sources
    capture = file_records(sample / "landing" / "webhook_capture_2026-03-04.jsonl.gz")
    assert any('"callId"' in line for line in capture) and any(
        '"call_id"' in line for line in capture
    )
    statuses = Counter(p["status"] for p in loaded.mb_objects.values())
    assert statuses["no-answer"] and statuses["completed"] and statuses["no_answer"]
    stamps = [p["updatedAt"] for p in loaded.mb_objects.values()]
    assert any("." in s for s in stamps) and any("." not in s for s in stamps)
    assert all(s.endswith("Z") for s in stamps)


def test_messagebird_quirks_are_present(
    summary: dict[str, Any], mb_read: MbRead, mb_conversations: list[dict[str, Any]]
) -> None:
    quirks = summary["providers"]["messagebird"]["quirks"]
    for quirk in (
        "call_object_missing", "number_id_missing", "older_snapshot_arrives_later",
        "updated_at_tie", "charge_settled_later", "starting_snapshot_lost", "ms_timestamps",
        "list_responses", "envelopes", "single_objects",
    ):  # fmt: skip
        assert quirks.get(quirk, 0) > 0, quirk
    missing = [c for c in mb_conversations if c["conversation_id"] not in mb_read.calls]
    assert {c["direction"] for c in missing} == {"inbound", "outbound"}
    assert {c["outcome"] for c in mb_conversations} == {
        "answered", "in_progress", "missed", "no_answer", "unknown"
    }  # fmt: skip
    assert any(c["transfer_count"] >= 1 for c in mb_conversations)
    assert any(c["agent_count"] >= 2 for c in mb_conversations)


def test_messagebird_call_history_without_legs(
    summary: dict[str, Any],
    sample: Path,
    read_back: tuple[Loaded, dict[int, ReadLeg]],
    mb_read: MbRead,
    mb_conversations: list[dict[str, Any]],
) -> None:
    """Calls read from the call history (GET /calls, no legs): their call object arrives in a
    list response of calls in the API file; some never get legs (leg_count 0), some get them
    only in the late file."""
    loaded, _ = read_back
    messagebird = summary["providers"]["messagebird"]
    legless = [c for c in mb_conversations if c["leg_count"] == 0]
    assert len(legless) == messagebird["calls_without_legs"] >= 2
    assert (
        sum(c["outcome"] == "in_progress" for c in legless)
        == (messagebird["calls_without_legs_in_progress"])
        >= 1
    )
    assert {c["outcome"] for c in legless} == {"unknown", "in_progress"}
    leg_calls = {leg["callId"] for legs in mb_read.legs.values() for leg in legs}
    for c in legless:
        assert c["conversation_id"] not in leg_calls, c
        [snapshot] = mb_read.calls.get(c["conversation_id"], [])  # one read of the history
        # in a list response of the API file (a redelivered copy may land elsewhere too)
        sources = loaded.mb_sources[canonical_hash(snapshot)]
        assert "messagebird_api_2026-03-02.ndjson:list" in sources, c
    scenarios = read_ndjson(sample / "_expected" / "scenarios.ndjson")
    late = {s["conversation_id"] for s in scenarios if "legs_arrive_late" in s["quirks"]}
    assert len(late) == messagebird["calls_with_late_legs"] >= 1
    for digest, payload in loaded.mb_objects.items():
        if payload.get("callId") in late:
            assert {t.split(":")[0] for t in loaded.mb_sources[digest]} == {
                "messagebird_late_2026-03-05.jsonl"
            }, payload
    for c in mb_conversations:
        if c["conversation_id"] in late:
            assert c["leg_count"] > 0 and c["outcome"] != "unknown", c
            [snapshot] = mb_read.calls.get(c["conversation_id"], [])
            assert (
                "messagebird_api_2026-03-02.ndjson:list"
                in loaded.mb_sources[canonical_hash(snapshot)]
            )


def test_messagebird_vendor_clock_error(
    summary: dict[str, Any],
    mb_read: MbRead,
    mb_conversations: list[dict[str, Any]],
    mb_legs: list[dict[str, Any]],
) -> None:
    """A leg that ends 26 s before it was answered, as MessageBird's own API example leg: kept
    as delivered in the legs; its conversation is answered, with talk, handle and wait null."""
    backwards = [
        row
        for row in mb_legs
        if row["connected_at"] is not None
        and row["ended_at"] is not None
        and row["ended_at"] < row["connected_at"]
    ]
    assert len(backwards) == summary["providers"]["messagebird"]["clock_error_legs"] == 1
    [row] = backwards
    snapshot = mb_read.leg(row["leg_id"])
    assert rfc3339_ms(snapshot["answeredAt"]) == row["connected_at"]
    assert rfc3339_ms(snapshot["endedAt"]) == row["ended_at"] == row["connected_at"] - 26_000
    assert row["leg_role"] == "operator" and row["talk_ms"] is None
    [c] = [c for c in mb_conversations if c["conversation_id"] == row["conversation_id"]]
    assert (c["direction"], c["outcome"], c["answered_at"]) == (
        "inbound", "answered", row["connected_at"],
    )  # fmt: skip
    assert c["talk_ms"] is None and c["handle_ms"] is None and c["wait_ms"] is None
    assert c["time_to_answer_ms"] == row["connected_at"] - c["started_at"] > 0


def test_messagebird_older_snapshots_arrive_after_newer_ones(
    read_back: tuple[Loaded, dict[int, ReadLeg]], mb_read: MbRead
) -> None:
    """Some snapshots reach the files only in the late file, while a newer snapshot of the
    same leg is in an earlier-dated one; latest-wins must not care."""
    loaded, _ = read_back
    late = 0
    for digest, payload in loaded.mb_objects.items():
        tags = loaded.mb_sources[digest]
        if "callId" in payload and all(t.startswith("messagebird_late") for t in tags):
            newest = mb_read.leg(payload["id"])
            late += rfc3339_ms(payload["updatedAt"]) < rfc3339_ms(newest["updatedAt"])  # type: ignore[operator]
    assert late > 0


def test_messagebird_ids_are_uuids(
    mb_legs: list[dict[str, Any]], legs: list[dict[str, Any]]
) -> None:
    import uuid

    for row in mb_legs:
        assert str(uuid.UUID(row["leg_id"])) == row["leg_id"]
        assert str(uuid.UUID(row["conversation_id"])) == row["conversation_id"]
    assert not {r["leg_id"] for r in mb_legs} & {r["leg_id"] for r in legs}


def test_messagebird_in_progress_calls_are_recent(
    summary: dict[str, Any], mb_read: MbRead, mb_legs: list[dict[str, Any]]
) -> None:
    times = [
        rfc3339_ms(s["updatedAt"]) or 0
        for snaps in (*mb_read.legs.values(), *mb_read.calls.values())
        for s in snaps
    ]
    watermark = summary["providers"]["messagebird"]["watermark_at"]
    assert max(times) == watermark
    open_legs = [row for row in mb_legs if row["ended_at"] is None]
    assert open_legs
    for row in open_legs:
        assert (
            watermark - (rfc3339_ms(mb_read.leg(row["leg_id"])["updatedAt"]) or 0) < 12 * 3_600_000
        )


def test_dialpad_output_does_not_depend_on_messagebird(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.sample import simulate

    first = tmp_path / "a"
    write_sample(first, events=400, seed=3)
    monkeypatch.setattr(simulate, "MESSAGEBIRD_SHARE", 0.4)
    second = tmp_path / "b"
    write_sample(second, events=400, seed=3)
    for path in sorted((first / "landing").glob("dialpad_*")):
        assert path.read_bytes() == (second / "landing" / path.name).read_bytes(), path.name
    for name in ("conversations.ndjson", "legs.ndjson"):
        rows = [
            [
                row
                for row in read_ndjson(folder / "_expected" / name)
                if row["provider"] == "dialpad"
            ]
            for folder in (first, second)
        ]
        assert rows[0] == rows[1], name
    assert len(read_ndjson(second / "_expected" / "conversations.ndjson")) > len(
        read_ndjson(first / "_expected" / "conversations.ndjson")
    )


# -- MessageBird cases, checked by hand --------------------------------------------------


def mb_call(inbound: bool = True, arrives: bool = True) -> MbCall:
    if inbound:
        return MbCall("call-1", "hand", "+31611111111", "+31200000001", "num-1", False, arrives)
    return MbCall("call-1", "hand", "+31200000001", "+31622222222", None, False, arrives)


def mb_leg(call: MbCall, leg_id: str, direction: str, destination: str, role: str) -> MbLeg:
    source = call.source if direction == "incoming" else call.destination
    return call.add(
        MbLeg(leg_id, call.id, direction, source, destination, role, False, "EUR", 0.012)
    )


def caller(call: MbCall) -> MbLeg:
    leg = mb_leg(call, "leg-0", "incoming", call.destination, "entry_point")
    call.status("starting", T0)
    leg.start(T0)
    leg.ring(T0 + 1_000)
    leg.answer(T0 + 3_000)
    call.status("ongoing", T0 + 3_000)
    return leg


def test_messagebird_answered_by_hand() -> None:
    call = mb_call()
    entry = caller(call)
    agent = mb_leg(call, "leg-1", "outgoing", "+31600000001", "operator")
    agent.start(T0 + 10_000)
    agent.ring(T0 + 11_000)
    agent.answer(T0 + 20_000)
    entry.end("hangup", T0 + 200_000)
    agent.end("hangup", T0 + 200_000, "completed")
    call.status("ended", T0 + 201_000)
    row = mb_expected_conversation(call)
    assert row["outcome"] == "answered" and row["direction"] == "inbound"
    assert (row["started_at"], row["ended_at"]) == (T0, T0 + 201_000)
    assert row["answered_at"] == T0 + 20_000 and row["time_to_answer_ms"] == 20_000
    assert row["talk_ms"] == row["handle_ms"] == 180_000 and row["hold_ms"] is None
    assert row["wait_ms"] == 201_000 - 180_000
    assert row["first_agent_id"] == row["last_agent_id"] == "+31600000001"
    assert row["entry_target_id"] == "num-1" and row["entry_target_name"] == "+31200000001"
    assert row["transfer_count"] == 0 and row["was_queued"] and row["queue_ms"] is None
    legs = {r["leg_id"]: r for r in mb_expected_legs(call)}
    assert legs["leg-0"]["connected_at"] == T0 + 3_000 and legs["leg-0"]["talk_ms"] is None
    assert legs["leg-1"]["last_live_state"] == "hangup" and legs["leg-1"]["talk_ms"] == 180_000
    assert agent.as_object(agent.snapshots[-1])["status"] == "completed"


def test_messagebird_missed_by_hand() -> None:
    call = mb_call(arrives=False)
    entry = caller(call)
    busy = mb_leg(call, "leg-1", "outgoing", "+31600000001", "operator")
    busy.start(T0 + 10_000)
    busy.end("busy", T0 + 12_000)
    ringing = mb_leg(call, "leg-2", "outgoing", "+31600000002", "operator")
    ringing.start(T0 + 14_000)
    ringing.ring(T0 + 15_000)
    entry.end("hangup", T0 + 25_000)
    ringing.end("hangup", T0 + 25_000)  # the caller gave up while it rang: not answered
    call.status("ended", T0 + 26_000)
    row = mb_expected_conversation(call)
    assert row["outcome"] == "missed" and row["answered_at"] is None and row["agent_count"] == 0
    assert row["ended_at"] == T0 + 25_000  # no call object: the legs' latest end
    assert row["wait_ms"] == 25_000 and row["talk_ms"] is None
    assert row["entry_target_id"] == "+31200000001"  # no numberId without a call object


def test_messagebird_outbound_no_answer_by_hand() -> None:
    call = mb_call(inbound=False)
    call.status("queued", T0)
    call.status("starting", T0 + 1_000)
    leg = mb_leg(call, "leg-1", "outgoing", "+31622222222", "direct")
    leg.start(T0 + 1_000)
    leg.ring(T0 + 3_000)
    leg.end("no_answer", T0 + 33_000, "no-answer")
    call.status("ended", T0 + 33_000)
    row = mb_expected_conversation(call)
    assert row["outcome"] == "no_answer" and row["direction"] == "outbound"
    assert row["wait_ms"] is None and row["talk_ms"] is None and not row["was_queued"]
    assert row["contact_number"] == "+31622222222" and row["entry_target_type"] == "number"
    [leg_row] = mb_expected_legs(call)
    assert leg_row["leg_role"] == "direct" and leg_row["last_live_state"] == "no_answer"
    assert leg.as_object(leg.snapshots[-1])["status"] == "no-answer"


def test_messagebird_two_agents_in_turn_by_hand() -> None:
    call = mb_call()
    entry = caller(call)
    first = mb_leg(call, "leg-1", "outgoing", "+31600000001", "operator")
    first.start(T0 + 10_000)
    first.answer(T0 + 15_000)
    first.end("hangup", T0 + 75_000)
    nobody = mb_leg(call, "leg-2", "outgoing", "+31600000002", "operator")
    nobody.start(T0 + 76_000)
    nobody.end("failed", T0 + 77_000)
    second = mb_leg(call, "leg-3", "outgoing", "+31600000003", "operator")
    second.start(T0 + 78_000)
    second.answer(T0 + 90_000)
    second.end("hangup", T0 + 150_000)
    entry.end("hangup", T0 + 150_000)
    call.status("ended", T0 + 150_000)
    row = mb_expected_conversation(call)
    assert row["transfer_count"] == 1 and row["agent_count"] == 2
    assert (row["first_agent_id"], row["last_agent_id"]) == ("+31600000001", "+31600000003")
    assert row["talk_ms"] == 60_000 + 60_000
    assert row["wait_ms"] == 150_000 - 120_000
    transferred = {r["leg_id"]: r["is_transferred"] for r in mb_expected_legs(call)}
    assert transferred == {"leg-0": False, "leg-1": True, "leg-2": False, "leg-3": False}


def test_messagebird_call_without_legs_by_hand() -> None:
    """Only the call object arrives (call history): docs/contract.md §8, last paragraph."""
    call = mb_call()
    entry = caller(call)
    entry.end("hangup", T0 + 60_000)
    call.status("ended", T0 + 61_000)
    call.legs_arrive = "never"
    row = mb_expected_conversation(call)
    assert (row["leg_count"], row["direction"], row["outcome"]) == (0, None, "unknown")
    assert (row["started_at"], row["ended_at"], row["is_complete"]) == (T0, T0 + 61_000, True)
    assert row["answered_at"] is None and row["talk_ms"] is None and row["wait_ms"] is None
    assert row["contact_number"] is None and row["entry_target_id"] is None
    assert not row["was_queued"] and row["agent_count"] == 0
    assert mb_expected_legs(call) == []
    ongoing = mb_call()
    caller(ongoing)
    ongoing.legs_arrive = "never"
    row = mb_expected_conversation(ongoing)
    assert (row["outcome"], row["ended_at"], row["is_complete"]) == ("in_progress", None, False)
    assert row["started_at"] == T0
    ongoing.legs_arrive = "late"  # the same call once its legs arrived: answered by the flow,
    row = mb_expected_conversation(ongoing)  # no agent yet, the call not ended
    assert (row["leg_count"], row["direction"], row["outcome"]) == (1, "inbound", "in_progress")


def test_messagebird_clock_error_by_hand() -> None:
    """MessageBird's API example leg: created 10:52:00, answeredAt 10:52:30, endedAt 10:52:04
    (26 s before the answer), here as the agent leg of an inbound call."""
    at = T0 + 10 * 3_600_000  # 2026-03-02 10:00:00
    call = mb_call()
    call.status("starting", at + 51 * 60_000 + 50_000)  # 10:51:50
    entry = mb_leg(call, "leg-0", "incoming", call.destination, "entry_point")
    entry.start(at + 51 * 60_000 + 50_000)
    entry.answer(at + 51 * 60_000 + 52_000)
    agent = mb_leg(call, "leg-1", "outgoing", "+31612345678", "operator")
    agent.start(at + 52 * 60_000)  # 10:52:00
    agent.ring(at + 52 * 60_000 + 2_000)
    agent.answer(at + 52 * 60_000 + 3_000)  # when it really answered
    agent.end("hangup", at + 52 * 60_000 + 4_000)  # 10:52:04
    agent.answered_at = at + 52 * 60_000 + 30_000  # what answeredAt says: 10:52:30
    entry.end("hangup", at + 52 * 60_000 + 5_000)
    call.status("ended", at + 52 * 60_000 + 6_000)
    assert agent.has_clock_error and not entry.has_clock_error
    hangup = agent.as_object(agent.snapshots[-1])
    assert (hangup["answeredAt"], hangup["endedAt"]) == (
        "2026-03-02T10:52:30Z", "2026-03-02T10:52:04Z",
    )  # fmt: skip
    assert hangup["duration"] == 1  # billed from the real answer
    legs = {r["leg_id"]: r for r in mb_expected_legs(call)}
    assert legs["leg-1"]["connected_at"] == at + 52 * 60_000 + 30_000
    assert legs["leg-1"]["ended_at"] == at + 52 * 60_000 + 4_000
    assert legs["leg-1"]["talk_ms"] is None
    row = mb_expected_conversation(call)
    assert (row["outcome"], row["answered_at"]) == ("answered", at + 52 * 60_000 + 30_000)
    assert row["time_to_answer_ms"] == 40_000  # 10:51:50 -> 10:52:30
    assert row["talk_ms"] is None and row["handle_ms"] is None and row["wait_ms"] is None
    assert (row["first_agent_id"], row["agent_count"]) == ("+31612345678", 1)


def test_messagebird_snapshots_show_the_object_as_it_was() -> None:
    call = mb_call()
    entry = caller(call)
    entry.end("hangup", T0 + 60_000)
    entry.restate(T0 + 120_000)
    starting, ringing, ongoing, hangup, restated = (entry.as_object(s) for s in entry.snapshots)
    assert starting["answeredAt"] is None and ringing["status"] == "ringing"
    assert ongoing["answeredAt"] == "2026-03-02T00:00:03Z" and ongoing["endedAt"] is None
    assert hangup["endedAt"] == "2026-03-02T00:01:00Z" and hangup["duration"] == 57
    assert restated["updatedAt"] == "2026-03-02T00:02:00Z" and restated["status"] == "hangup"
    assert list(starting) == [
        "id", "callId", "source", "destination", "status", "direction", "cost", "currency",
        "duration", "createdAt", "updatedAt", "answeredAt", "endedAt",
    ]  # fmt: skip
    with pytest.raises(MbScenarioError):
        entry.ring(T0 + 130_000)


# -- agent status (docs/contract.md §11) -------------------------------------------------

AGENT_LEG_ROLES = ("operator", "direct")


def read_gz_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


@pytest.fixture(scope="module")
def status_rows(sample: Path) -> list[dict[str, Any]]:
    return read_gz_ndjson(sample / "_expected" / "agent_status_intervals.ndjson.gz")


@pytest.fixture(scope="module")
def agent_interval_rows_(sample: Path) -> list[dict[str, Any]]:
    return read_gz_ndjson(sample / "_expected" / "agent_intervals.ndjson.gz")


def connected_agent_leg_rows(legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        leg
        for leg in legs
        if leg["leg_role"] in AGENT_LEG_ROLES
        and leg["target_type"] == "user"
        and leg["connected_at"] is not None
    ]


def by_agent(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row["status_started_at"]):
        grouped[row["agent_id"]].append(row)
    return grouped


def test_agent_statuses_read_back_to_the_intervals(
    read_back: tuple[Loaded, dict[int, ReadLeg]],
    status_rows: list[dict[str, Any]],
    summary: dict[str, Any],
) -> None:
    """The delivered status events, deduplicated, ordered by `date` and with identical
    consecutive statuses collapsed, give the expected intervals; the last ends at the
    watermark, which the status events never pass."""
    loaded, _ = read_back
    watermark = summary["watermark_at"]
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payload in loaded.statuses.values():
        events[str(int(payload["target"]["id"]))].append(payload)
    rebuilt = []
    for agent_id, payloads in events.items():
        payloads.sort(key=lambda p: p["date"])
        stamps = [p["event_timestamp"] for p in payloads]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert all(p["date"] <= p["event_timestamp"] <= watermark for p in payloads)
        kept: list[tuple[int, tuple[Any, ...]]] = []
        for p in payloads:
            status = (
                p["on_duty_status"],
                p.get("on_duty_status_reason"),
                p["availability_status"],
                sorted(p["call_center_ids"]),
            )
            if not kept or kept[-1][1] != status:
                kept.append((p["date"], status))
        for i, (start, status) in enumerate(kept):
            end = kept[i + 1][0] if i + 1 < len(kept) else watermark
            rebuilt.append((agent_id, start, end, i + 1 == len(kept), *status))
    expected = [
        (
            row["agent_id"], row["status_started_at"], row["status_ended_at"],
            row["is_end_inferred"], row["on_duty_status"], row["on_duty_status_reason"],
            row["availability_status"], row["call_center_ids"],
        )
        for row in status_rows
    ]  # fmt: skip
    assert sorted(rebuilt) == sorted(expected)
    assert all(
        r["duration_ms"] == r["status_ended_at"] - r["status_started_at"] > 0 for r in status_rows
    )
    assert len(loaded.statuses) > len(status_rows)  # repeated statuses collapsed
    assert loaded.status_copies > len(loaded.statuses)  # some delivered twice


def test_agents_are_occupied_whenever_connected(
    legs: list[dict[str, Any]], status_rows: list[dict[str, Any]], summary: dict[str, Any]
) -> None:
    statuses = summary["providers"]["dialpad"]["agent_status"]
    intervals = by_agent(status_rows)
    checked = 0
    for leg in connected_agent_leg_rows(legs):
        rows = intervals.get(leg["target_id"])
        if not rows:
            assert leg["target_id"] in statuses["agents_without_status"]
            continue
        if leg["connected_at"] < rows[0]["status_started_at"]:
            assert leg["target_id"] == statuses["late_feed_agent"]
            continue
        end = leg["ended_at"] or summary["watermark_at"]
        overlapping = [
            row
            for row in rows
            if row["status_started_at"] < end and row["status_ended_at"] > leg["connected_at"]
        ]
        assert {row["on_duty_status"] for row in overlapping} == {"occupied"}, leg["leg_id"]
        checked += 1
    assert checked > 100


def test_acw_follows_from_the_intervals(
    legs: list[dict[str, Any]],
    conversations: list[dict[str, Any]],
    status_rows: list[dict[str, Any]],
) -> None:
    """docs/contract.md §11: a wrapup starting 0-10 s after a connected agent leg's end is
    its ACW (the agent's latest such leg); 0 when a status of the agent is within 12 hours
    before the leg's end; null otherwise, and on every other leg."""
    intervals = by_agent(status_rows)
    agent_legs = connected_agent_leg_rows(legs)
    expected: dict[str, int | None] = {}
    for leg in agent_legs:
        rows = intervals.get(leg["target_id"], [])
        end = leg["ended_at"]
        if end is None:
            continue
        covered = any(end - 12 * 3_600_000 <= row["status_started_at"] <= end for row in rows)
        expected[leg["leg_id"]] = 0 if covered else None
    for agent_id, rows in intervals.items():
        ended = [leg for leg in agent_legs if leg["target_id"] == agent_id and leg["ended_at"]]
        for row in rows:
            if row["on_duty_status"] != "wrapup":
                continue
            start = row["status_started_at"]
            claims = [leg for leg in ended if leg["ended_at"] <= start <= leg["ended_at"] + 10_000]
            if claims:
                latest = max(claims, key=lambda leg: leg["ended_at"])
                expected[latest["leg_id"]] = (expected[latest["leg_id"]] or 0) + row["duration_ms"]
    assert {leg["leg_id"]: leg["acw_ms"] for leg in legs if leg["acw_ms"] is not None} == {
        leg_id: acw for leg_id, acw in expected.items() if acw is not None
    }
    values = list(expected.values())
    assert any(v is None for v in values) and 0 in values and any(v for v in values)
    by_conversation: dict[str, list[int | None]] = defaultdict(list)
    for leg in agent_legs:
        by_conversation[leg["conversation_id"]].append(expected.get(leg["leg_id"]))
    for conv in conversations:
        known = [v for v in by_conversation.get(conv["conversation_id"], []) if v is not None]
        assert conv["acw_ms"] == (sum(known) if known else None), conv["conversation_id"]
        if conv["talk_ms"] is not None:
            assert conv["handle_ms"] == conv["talk_ms"] + (conv["hold_ms"] or 0) + (
                conv["acw_ms"] or 0
            )


def test_agent_status_cases_are_present(
    read_back: tuple[Loaded, dict[int, ReadLeg]],
    legs: list[dict[str, Any]],
    status_rows: list[dict[str, Any]],
    summary: dict[str, Any],
) -> None:
    """Each case of the brief appears in the sample, visibly in the expected rows."""
    statuses = summary["providers"]["dialpad"]["agent_status"]
    for case in (
        "shifts", "wrapups", "late_wrapups", "back_to_back", "breaks",
        "off_duty_after_missed_ring", "unknown_on_duty_status", "repeated_statuses",
    ):  # fmt: skip
        assert statuses["drawn"].get(case, 0) > 0, case
    kinds = {(row["on_duty_status"], row["on_duty_status_reason"]) for row in status_rows}
    assert {
        ("busy", None),
        ("unavailable", "Missed call"),
        ("unavailable", "End of shift"),
    } <= kinds
    assert any(reason in {"Break", "Lunch", "Meeting"} for _, reason in kinds)
    agent_legs = connected_agent_leg_rows(legs)
    # agents with calls and no status event at all: their legs' ACW is unknown
    assert statuses["agents_without_status"]
    for agent_id in statuses["agents_without_status"]:
        mine = [leg for leg in agent_legs if leg["target_id"] == agent_id]
        assert mine and all(leg["acw_ms"] is None for leg in mine)
        assert agent_id not in {row["agent_id"] for row in status_rows}
    # the agent whose feed starts later: unknown before, known after
    late = [leg for leg in agent_legs if leg["target_id"] == statuses["late_feed_agent"]]
    assert any(leg["acw_ms"] is None for leg in late if leg["ended_at"])
    assert any(leg["acw_ms"] is not None for leg in late if leg["ended_at"])
    intervals = by_agent(status_rows)
    ends = {(leg["target_id"], leg["ended_at"]): leg for leg in agent_legs if leg["ended_at"]}
    # a wrapup 30 s after a hangup is not after-call work
    late_wrapups = [
        ends[(row["agent_id"], row["status_started_at"] - 30_000)]
        for row in status_rows
        if row["on_duty_status"] == "wrapup"
        and (row["agent_id"], row["status_started_at"] - 30_000) in ends
    ]
    assert late_wrapups and all(leg["acw_ms"] == 0 for leg in late_wrapups)
    # back to back: the second call's wrapup is its own, the first has none
    pairs = []
    for agent_id in intervals:
        mine = sorted((leg for leg in agent_legs if leg["target_id"] == agent_id),
                      key=lambda leg: leg["connected_at"])  # fmt: skip
        pairs += [
            (first, second)
            for first, second in zip(mine, mine[1:], strict=False)
            if first["ended_at"] and 0 < second["connected_at"] - first["ended_at"] < 120_000
        ]
    assert any(first["acw_ms"] == 0 and (second["acw_ms"] or 0) > 0 for first, second in pairs)
    # off duty right after a missed ring of the agent
    _, read_legs_ = read_back
    missed = defaultdict(list)
    for leg in read_legs_.values():
        for at, _, payload in leg.events:
            if payload["state"] == "missed":
                missed[str(int(leg.target["id"]))].append(at)
    off_duty = [r for r in status_rows if r["on_duty_status_reason"] == "Missed call"]
    assert off_duty
    for row in off_duty:
        assert any(
            200 <= row["status_started_at"] - at <= 1500 for at in missed[row["agent_id"]]
        ), row


def test_agent_intervals_cut_status_time_at_the_boundaries(
    status_rows: list[dict[str, Any]], agent_interval_rows_: list[dict[str, Any]]
) -> None:
    half_hour = 1_800_000
    rows = {(row["agent_id"], row["interval_start_at"]): row for row in agent_interval_rows_}
    assert len(rows) == len(agent_interval_rows_)
    for (_, start), row in rows.items():
        assert start % half_hour == 0 and row["interval_start_local"] == start
        named = row["available_ms"] + row["occupied_ms"] + row["wrapup_ms"]
        assert row["staffed_ms"] >= named
        assert row["staffed_ms"] + row["unavailable_ms"] <= half_hour
        working = named
        busy = row["occupied_ms"] + row["wrapup_ms"]
        assert row["occupancy"] == (busy / working if working else None)
    for agent_id, intervals in by_agent(status_rows).items():
        first, last = intervals[0]["status_started_at"], intervals[-1]["status_ended_at"]
        mine = sorted(start for a, start in rows if a == agent_id)
        assert mine == list(range(first // half_hour * half_hour, last, half_hour))
        total = sum(rows[(agent_id, start)]["staffed_ms"] for start in mine)
        total += sum(rows[(agent_id, start)]["unavailable_ms"] for start in mine)
        assert total == last - first
        for status in ("available", "occupied", "wrapup", "unavailable"):
            assert sum(rows[(agent_id, s)][f"{status}_ms"] for s in mine) == sum(
                r["duration_ms"] for r in intervals if r["on_duty_status"] == status
            )
    # a day's inside intervals are whole: 30 minutes of one status or another
    whole = [r for r in agent_interval_rows_ if r["staffed_ms"] + r["unavailable_ms"] == half_hour]
    assert len(whole) > 0.9 * len(agent_interval_rows_)


def test_call_events_do_not_depend_on_agent_statuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Agent statuses draw from their own random source: without them, every call-event
    file is the same, and the expected calls differ only by their after-call work."""
    from ingest.sample import simulate
    from ingest.sample.agents import AgentStatuses

    first = tmp_path / "a"
    write_sample(first, events=400, seed=3)
    monkeypatch.setattr(
        simulate, "build_statuses", lambda *_: AgentStatuses([], [], [], None, None, Counter())
    )
    second = tmp_path / "b"
    write_sample(second, events=400, seed=3)
    status_files = {"dialpad_agent_status_2026-03-02.ndjson",
                    "dialpad_agent_status_2026-03-03.jsonl.gz",
                    "dialpad_agent_status_2026-03-04.jwt.gz"}  # fmt: skip
    for path in sorted((first / "landing").iterdir()):
        if path.name not in status_files:
            assert path.read_bytes() == (second / "landing" / path.name).read_bytes(), path.name
    with_acw = read_ndjson(first / "_expected" / "legs.ndjson")
    without = read_ndjson(second / "_expected" / "legs.ndjson")
    assert any(leg["acw_ms"] for leg in with_acw)
    assert all(leg["acw_ms"] is None for leg in without)
    assert [{**leg, "acw_ms": None} for leg in with_acw] == without
    with_acw = read_ndjson(first / "_expected" / "conversations.ndjson")
    without = read_ndjson(second / "_expected" / "conversations.ndjson")
    for conv, plain in zip(with_acw, without, strict=True):
        assert conv["handle_ms"] == (
            None if plain["handle_ms"] is None else plain["handle_ms"] + (conv["acw_ms"] or 0)
        )
        assert {**conv, "acw_ms": None, "handle_ms": None} == {**plain, "handle_ms": None}


# -- agent status, checked by hand -------------------------------------------------------

USER3 = Target("user", 5908860123456791, "Third User", "third@x.test", "+16010123458", 1)
B = T0 + 9 * 3_600_000  # 09:00 UTC, on an interval boundary
CCS = ("6000000000000002", "6000000000000001")  # the agent's own order; expected sorted


def direct_call(
    conv: Conversation, call_id: int, agent: Target, connect_s: float, end_s: float,
    master: int | None = None, transferred: bool = False,
) -> Leg:  # fmt: skip
    leg = conv.add(Leg(call_id, Role.DIRECT, "inbound", agent, CALLER, master_call_id=master))
    leg.start(B + round(connect_s * 1000) - 8_000)
    leg.ring(B + round(connect_s * 1000) - 7_000)
    leg.connect(B + round(connect_s * 1000))
    leg.hang_up(B + round(end_s * 1000), transferred=transferred)
    return leg


def status_events(agent: Target, changes: list[tuple[float, Status]]) -> list[StatusEvent]:
    return [
        StatusEvent(agent, B + round(at * 1000), B + round(at * 1000) + 400, status)
        for at, status in changes
    ]


def test_agent_status_by_hand() -> None:
    available = Status("available", None, "available", CCS)
    occupied = Status("occupied", None, "available", CCS)
    wrapup = Status("wrapup", None, "available", CCS)
    events = status_events(
        USER,
        [
            (0, available),  # shift start, on a boundary
            (60, occupied),  # call 1 (60-180 s)
            (181, wrapup),  # 1 s after its end: its ACW, 45 s
            (226, available),
            (600, occupied),  # call 2 (600-700 s)
            (700, available),
            (730, wrapup),  # 30 s after: beyond the 10 s link window
            (750, available),
            (1000, occupied),  # call 3 (1000-1100 s)
            (1100, available),
            (1110, occupied),  # call 4, back to back (1110-1500 s), transferred to USER2
            (1502, wrapup),  # after call 4 only: 100 s
            (1602, available),
            (1650, available),  # repeated: collapses
            (1700, Status("busy", None, "available", CCS)),  # unknown: staffed, not occupancy
            (1790, available),
            (1800, Status("unavailable", "Lunch", "available", ())),  # on a boundary, 3 intervals
            (5700, available),
            (6000, Status("unavailable", "End of shift", "unavailable", ())),
        ],
    )
    events += status_events(
        USER3,
        [
            (0, available),
            (100, occupied),  # call 7 (100-400 s)
            (150, occupied),  # call 8 connects too (150-398 s): a repeat
            (405, wrapup),  # both ended within 10 s: the latest (call 7) has it
            (465, available),
        ],
    )
    watermark = B + 6_600_000
    one, two, three, four = (Conversation("direct_inbound") for _ in range(4))
    early = Conversation("direct_inbound")
    calls = [
        direct_call(one, 8000000000000001, USER, 60, 180),
        direct_call(two, 8000000000000002, USER, 600, 700),
        direct_call(three, 8000000000000003, USER, 1000, 1100),
        direct_call(four, 8000000000000004, USER, 1110, 1500, transferred=True),
        direct_call(four, 8000000000000005, USER2, 1510, 1600, master=8000000000000004),
        direct_call(early, 8000000000000006, USER, -13 * 3600 - 100, -13 * 3600),
    ]
    seven, eight = Conversation("direct_inbound"), Conversation("direct_inbound")
    calls += [
        direct_call(seven, 8000000000000007, USER3, 100, 400),
        direct_call(eight, 8000000000000008, USER3, 150, 398),
    ]
    convs = [one, two, three, four, early, seven, eight]

    intervals = status_intervals(events, watermark)
    mine = [row for row in intervals if row["agent_id"] == str(USER.id)]
    assert [(row["status_started_at"] - B) // 1000 for row in mine] == [
        0, 60, 181, 226, 600, 700, 730, 750, 1000, 1100, 1110, 1502, 1602, 1700, 1790, 1800,
        5700, 6000,
    ]  # fmt: skip
    assert [row["duration_ms"] // 1000 for row in mine] == [
        60, 121, 45, 374, 100, 30, 20, 250, 100, 10, 392, 100, 98, 90, 10, 3900, 300, 600,
    ]  # fmt: skip
    assert [row["is_end_inferred"] for row in mine] == [False] * 17 + [True]
    assert mine[-1]["status_ended_at"] == watermark
    assert mine[0]["call_center_ids"] == ["6000000000000001", "6000000000000002"]
    assert mine[-1]["call_center_ids"] == [] and mine[-1]["availability_status"] == "unavailable"

    acw = leg_acw(convs, intervals, events)
    assert acw == {
        8000000000000001: 45_000,  # wrapup 1 s after
        8000000000000002: 0,  # wrapup 30 s after: not ACW
        8000000000000003: 0,  # back to back: the wrapup is the second call's
        8000000000000004: 100_000,
        8000000000000005: None,  # USER2 has no status events
        8000000000000006: None,  # 13 hours before USER's first status
        8000000000000007: 60_000,  # ended at 400 s, after call 8 (398 s)
        8000000000000008: 0,
    }
    row = expected_conversation(four, acw)
    # talk 390 s + 90 s; ACW 100 s of the first leg, the second's unknown
    assert (row["talk_ms"], row["acw_ms"], row["handle_ms"]) == (480_000, 100_000, 580_000)
    assert expected_conversation(early, acw)["acw_ms"] is None
    assert expected_conversation(early, acw)["handle_ms"] == 100_000
    assert expected_conversation(one)["acw_ms"] is None  # no status feed given
    assert [leg["acw_ms"] for leg in expected_legs(four, acw)] == [100_000, None]

    names = {str(USER.id): USER.name, str(USER3.id): USER3.name}
    rows = {
        (row["agent_id"], (row["interval_start_at"] - B) // 60_000): row
        for row in agent_interval_rows(intervals, names)
    }
    assert sorted(minute for agent, minute in rows if agent == str(USER.id)) == [0, 30, 60, 90]
    first = rows[(str(USER.id), 0)]
    assert (first["available_ms"], first["occupied_ms"], first["wrapup_ms"]) == (
        832_000, 713_000, 165_000
    )  # fmt: skip
    assert (first["staffed_ms"], first["unavailable_ms"]) == (1_800_000, 0)  # busy 90 s staffed
    assert first["occupancy"] == pytest.approx(878 / 1710)
    assert first["reporting_date"] == "2026-03-02" and first["agent_name"] == "Sample User"
    for minute in (30, 60):
        row = rows[(str(USER.id), minute)]
        assert (row["unavailable_ms"], row["staffed_ms"], row["occupancy"]) == (1_800_000, 0, None)
    last = rows[(str(USER.id), 90)]  # lunch 5 min, on duty 5 min, off shift 10 min
    assert (last["unavailable_ms"], last["available_ms"], last["staffed_ms"]) == (
        900_000, 300_000, 300_000
    )  # fmt: skip
    assert last["occupancy"] == 0.0
    third = rows[(str(USER3.id), 0)]
    assert (third["available_ms"], third["occupied_ms"], third["wrapup_ms"]) == (
        100_000 + 1_335_000, 305_000, 60_000
    )  # fmt: skip


def test_a_shift_around_two_calls_back_to_back() -> None:
    """The timeline of one shift: on duty before the first call, occupied while connected,
    back on duty between calls less than two minutes apart, a wrapup right after the
    second, off duty at the end."""
    stats: Counter[str] = Counter()
    timeline = Timeline(random.Random(1), CCS, stats)
    timeline.shift([Block(B, B + 100_000, [B]), Block(B + 160_000, B + 400_000, [B + 160_000])])
    dates = [at for at, _ in timeline.events]
    kinds = [(s.on_duty_status, s.reason) for _, s in timeline.events]
    assert kinds == [
        ("available", None), ("occupied", None), ("available", None), ("occupied", None),
        ("wrapup", None), ("available", None), ("unavailable", "End of shift"),
    ]  # fmt: skip
    assert dates[0] < B and dates[1:4] == [B, B + 100_000, B + 160_000]
    assert B + 400_000 <= dates[4] <= B + 403_000
    assert 5_000 <= dates[5] - dates[4] <= 120_000
    assert stats["back_to_back"] == 1 and stats["wrapups"] == 1
