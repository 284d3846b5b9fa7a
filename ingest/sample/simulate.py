"""Simulated Dialpad and MessageBird traffic with its expected marts known by construction.

    python -m ingest.sample.simulate --events 3000 --seed 7 --out ingest/sample

writes `landing/` (the files to ingest), `_expected/` (conversations.ndjson, legs.ndjson,
scenarios.ndjson, agent_status_intervals.ndjson.gz, agent_intervals.ndjson.gz, summary.json) and
`jwt_secret.txt` (the HS256 secret of the JWTs).

Dialpad traffic comes first and draws from the seed's own random source, so its part of
the output is the same with or without MessageBird; MessageBird calls (about 15% of the
conversations) draw from a second source derived from the seed, and Dialpad's agent status
events (ingest/sample/agents.py) from a third, so the call events do not change with them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.raw_tables import STATE_DATE
from ingest.sample.agents import AgentStatuses, build_statuses, status_payload
from ingest.sample.directory import TWO_53, Directory, Ids, build_directory
from ingest.sample.encode import (
    STATUS_FILES,
    GoodEvent,
    Reason,
    add_bad_records,
    deliver,
    write_landing,
)
from ingest.sample.expected import (
    agent_interval_rows,
    expected_conversation,
    expected_legs,
    leg_acw,
    status_intervals,
)
from ingest.sample.messagebird import encode as mb_encode
from ingest.sample.messagebird import expected as mb_expected
from ingest.sample.messagebird.model import MbCall
from ingest.sample.messagebird.scenarios import MbSim, build_calls, build_mb_directory
from ingest.sample.model import Conversation, TimeSource
from ingest.sample.payloads import build_payload
from ingest.sample.scenarios import FLOWS, IN_PROGRESS_FLOWS, Sim, assign_time_sources

SAMPLE_SECRET = "callmart-sample-dialpad-webhook-secret-4f9a2c7e1b8d6035a1e9c4b7d2f80e63"
WINDOW_START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
DAY_MS = 86_400_000
WINDOW_DAYS = 3
EVENTS_PER_CONVERSATION = 13  # about; spreads the conversations over the window
MESSAGEBIRD_SHARE = 0.15  # of all finished conversations


def next_start(sim: Sim, at: int, mean_gap: float) -> int:
    """The next conversation's start: busier by day than by night; some span midnight."""
    hour = at // 3_600_000 % 24
    factor = 0.6 if 8 <= hour < 20 else 2.0
    following = at + 1 + int(sim.rng.expovariate(1 / mean_gap) * factor)
    midnight = following // DAY_MS * DAY_MS
    if midnight > at and sim.chance(0.7):
        following = max(at + 1, midnight - sim.ms(10, 240))
    return following


def choose_flow(sim: Sim, index: int, seen: set[str]) -> str:
    """Every other conversation is a flow not seen yet, until all have been; else by weight."""
    unseen = [name for name in FLOWS if name not in seen]
    if unseen and index % 2 == 0:
        return unseen[0]
    names = list(FLOWS)
    return sim.rng.choices(names, [FLOWS[name][1] for name in names])[0]


def build_conversations(sim: Sim, events: int) -> list[Conversation]:
    """Conversations until about `events` events, then the calls still in progress."""
    mean_gap = WINDOW_DAYS * DAY_MS * EVENTS_PER_CONVERSATION / max(events, 1)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    total, at = 0, WINDOW_START_MS + sim.ms(60, 600)
    while total < events:
        name = choose_flow(sim, len(conversations), seen)
        conversations.append(FLOWS[name][0](sim, at))
        seen.add(name)
        total += conversations[-1].event_count
        at = next_start(sim, at, mean_gap)
    for flow in IN_PROGRESS_FLOWS.values():
        conversations.append(flow(sim, at))
        at += sim.ms(20, 120)
    for conversation in conversations:
        assign_time_sources(sim, conversation)
    return conversations


def canonical_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def event_at(event: GoodEvent) -> int:
    """docs/contract.md §3 "Event time", for the copy the warehouse keeps."""
    payload = event.payload
    if event.time_source is TimeSource.EVENT:
        return int(payload["event_timestamp"])
    if event.time_source is TimeSource.RECEIVED:
        return event.at
    own = STATE_DATE.get(payload["state"])
    if own and payload.get(own):
        return int(payload[own])
    return max(int(v) for k, v in payload.items() if k.startswith("date_") and v)


def good_events(
    conversations: list[Conversation], sim: Sim, quirks: Counter[str]
) -> list[GoodEvent]:
    events = []
    hashes: set[str] = set()
    for conversation in conversations:
        for leg in conversation.legs_with_events:
            for event in leg.events:
                payload = build_payload(leg, event, sim.rng, quirks)
                digest = canonical_hash(payload)
                if digest in hashes:
                    raise ValueError(f"two events of leg {leg.call_id} have one payload")
                hashes.add(digest)
                events.append(GoodEvent(payload, event.at, event.time_source))
    return events


def write_ndjson(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One JSON object a line; gzip-compressed (reproducibly) when the name ends in .gz."""
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    else:
        path.write_text(text)


def id_quirks(conversations: list[Conversation]) -> Counter[str]:
    call_ids = [leg.call_id for c in conversations for leg in c.legs]
    as_floats = Counter(float(call_id) for call_id in call_ids)
    return Counter(
        {
            "call_ids_above_2_53": sum(call_id > TWO_53 for call_id in call_ids),
            "call_ids_sharing_a_double": sum(as_floats[float(i)] > 1 for i in call_ids),
        }
    )


def summarise(
    conversations: list[Conversation],
    events: list[GoodEvent],
    written: dict[str, int],
    bad: Counter[str],
    quirks: Counter[str],
    calls: list[MbCall],
    mb_landing: mb_encode.MbLanding,
) -> dict[str, Any]:
    """Counts over both providers; `distinct_events` counts MessageBird snapshots too."""
    records = sum(written.values())
    quarantined = sum(bad.values())
    mb_distinct = len({mb_encode.canonical_hash(element) for element in mb_landing.elements})
    distinct = len(events) + mb_distinct
    quirks.update(q for c in conversations for q in c.quirks)
    quirks.update(id_quirks(conversations))
    mb_quirks = Counter(q for call in calls for q in call.quirks)
    mb_quirks.update(mb_landing.stats)
    flows = Counter(c.flow for c in conversations) + Counter(call.flow for call in calls)
    mb_legs = sum(len(call.delivered_legs) for call in calls)
    return {
        "records": records,
        "distinct_events": distinct,
        "duplicates": records - distinct - quarantined,
        "quarantined": quarantined,
        "quarantined_by_reason": {reason: bad[reason] for reason in Reason.ALL},
        "conversations": len(conversations) + len(calls),
        "legs": sum(len(c.legs_with_events) for c in conversations) + mb_legs,
        "in_progress_conversations": sum(c.flow.startswith("in_progress") for c in conversations)
        + sum(call.flow.startswith("messagebird_in_progress") for call in calls),
        "watermark_at": max(event_at(event) for event in events),
        "event_time_sources": dict(sorted(Counter(e.time_source.value for e in events).items())),
        "flows": dict(sorted(flows.items())),
        "quirks": dict(sorted(quirks.items())),
        "files": written,
        "providers": {
            "dialpad": {
                "distinct_events": len(events),
                "conversations": len(conversations),
                "legs": sum(len(c.legs_with_events) for c in conversations),
            },
            "messagebird": {
                "distinct_objects": mb_distinct,
                "delivered_objects": len(mb_landing.elements),
                "conversations": len(calls),
                "calls_without_call_object": sum(not call.arrives for call in calls),
                # call objects from the call history whose legs never arrive: conversations
                # with leg_count 0 (docs/contract.md §8, last paragraph)
                "calls_without_legs": sum(call.legs_arrive == "never" for call in calls),
                "calls_without_legs_in_progress": sum(
                    call.legs_arrive == "never" and call.ended_at is None for call in calls
                ),
                "calls_with_late_legs": sum(call.legs_arrive == "late" for call in calls),
                # delivered legs whose answeredAt is after their endedAt
                "clock_error_legs": sum(
                    leg.has_clock_error for call in calls for leg in call.delivered_legs
                ),
                "legs": mb_legs,
                "watermark_at": max(call.last_updated_at for call in calls),
                "quirks": dict(sorted(mb_quirks.items())),
            },
        },
    }


def build_messagebird(
    seed: int, conversations: list[Conversation], out_dir: Path, bad_per_reason: int
) -> tuple[list[MbCall], mb_encode.MbLanding, dict[str, int]]:
    """MessageBird calls over the Dialpad traffic's window, their own landing files written;
    the envelopes bound for the shared capture file are left in the returned landing."""
    rng = random.Random(f"messagebird-{seed}")
    sim = MbSim(rng, build_mb_directory(rng))
    last_start = max(leg.started_at or 0 for c in conversations for leg in c.legs_with_events)
    count = max(7, round(len(conversations) * MESSAGEBIRD_SHARE / (1 - MESSAGEBIRD_SHARE)))
    calls = build_calls(
        sim, count, WINDOW_START_MS + 600_000, last_start - 7_200_000, last_start - 1_800_000
    )
    objects = mb_encode.snapshot_objects(calls)
    landing = mb_encode.deliver(objects, rng)
    mb_encode.add_bad_records(landing, objects, max(1, bad_per_reason // 2), rng)
    folder = out_dir / "landing"
    folder.mkdir(parents=True, exist_ok=True)
    written = mb_encode.write_files(landing, folder, rng)
    return calls, landing, written


@dataclass
class StatusSample:
    """The agent status part of a sample: its events, files and expected rows."""

    statuses: AgentStatuses
    written: dict[str, int]
    distinct: int
    quirks: Counter[str]
    intervals: list[dict[str, Any]]
    agent_intervals: list[dict[str, Any]]
    acw: dict[int, int | None]


def build_agent_statuses(
    seed: int,
    directory: Directory,
    conversations: list[Conversation],
    watermark: int,
    out_dir: Path,
    secret: str,
) -> StatusSample:
    """Agent status events from their own random source, their landing files written, and
    their expected intervals and after-call work."""
    rng = random.Random(f"agent-status-{seed}")
    statuses = build_statuses(rng, directory, conversations, watermark, WINDOW_START_MS)
    quirks: Counter[str] = Counter()
    events, hashes = [], set()
    for status in statuses.events:
        payload = status_payload(status, rng, quirks)
        digest = canonical_hash(payload)
        if digest in hashes:
            raise ValueError(f"two status events of agent {status.agent.id} have one payload")
        hashes.add(digest)
        events.append(GoodEvent(payload, status.event_at, TimeSource.EVENT))
    landing = deliver(events, rng, secret, STATUS_FILES)
    written = write_landing(landing, out_dir / "landing", rng, files=STATUS_FILES)
    quirks.update(landing.stats)
    intervals = status_intervals(statuses.events, watermark)
    names = {str(agent.id): agent.name for agent in statuses.feed_agents}
    return StatusSample(
        statuses,
        written,
        len(events),
        quirks,
        intervals,
        agent_interval_rows(intervals, names),
        leg_acw(conversations, intervals, statuses.events),
    )


def status_summary(part: StatusSample) -> dict[str, Any]:
    statuses, acw = part.statuses, part.acw.values()
    return {
        "distinct_events": part.distinct,
        "agents_with_status": len(statuses.feed_agents),
        "agents_without_status": sorted(str(agent.id) for agent in statuses.agents_without_feed),
        "late_feed_agent": None if statuses.late_feed_agent is None
        else str(statuses.late_feed_agent.id),
        "late_feed_from": statuses.late_feed_from,
        "intervals": len(part.intervals),
        "agent_intervals": len(part.agent_intervals),
        "legs_with_acw": sum(value is not None and value > 0 for value in acw),
        "legs_with_acw_0": sum(value == 0 for value in acw),
        "legs_with_acw_null": sum(value is None for value in acw),
        "drawn": dict(sorted(statuses.stats.items())),
        "quirks": dict(sorted(part.quirks.items())),
    }  # fmt: skip


def write_sample(
    out_dir: Path, events: int, seed: int = 7, secret: str = SAMPLE_SECRET
) -> dict[str, Any]:
    """Write landing files, expected marts and the JWT secret under `out_dir`.

    Deterministic for a given (events, seed). Returns the summary (also written to
    _expected/summary.json).
    """
    if events < 1:
        raise ValueError(f"events must be 1 or more, not {events}")
    rng = random.Random(seed)
    ids = Ids(rng)
    sim = Sim(rng, ids, build_directory(rng, ids))
    conversations = build_conversations(sim, events)
    quirks: Counter[str] = Counter()
    good = good_events(conversations, sim, quirks)
    landing = deliver(good, rng, secret)
    ghosts = [ids.new() for _ in range(len(Reason.ALL) * max(1, events // 600))]
    bad = add_bad_records(landing, good, ghosts, max(1, events // 600), rng, secret)
    calls, mb_landing, mb_written = build_messagebird(
        seed, conversations, out_dir, max(1, events // 600)
    )
    written = write_landing(
        landing,
        out_dir / "landing",
        rng,
        {mb_encode.MIXED_FILE: mb_encode.mixed_items(mb_landing)},
        random.Random(f"messagebird-mix-{seed}"),
    )
    written.update(mb_written)
    quirks.update(landing.stats)
    summary = summarise(
        conversations, good, written, bad + mb_landing.bad, quirks, calls, mb_landing
    )
    agents = build_agent_statuses(
        seed, sim.directory, conversations, summary["watermark_at"], out_dir, secret
    )
    summary["records"] += sum(agents.written.values())
    summary["distinct_events"] += agents.distinct
    summary["duplicates"] += sum(agents.written.values()) - agents.distinct
    summary["files"].update(agents.written)
    summary["providers"]["dialpad"]["agent_status"] = status_summary(agents)

    expected = out_dir / "_expected"
    expected.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[dict[str, Any], list[dict[str, Any]], str, list[str]]] = [
        (expected_conversation(c, agents.acw), expected_legs(c, agents.acw), c.flow, c.quirks)
        for c in conversations
    ]
    rows += [
        (mb_expected.expected_conversation(call), mb_expected.expected_legs(call), call.flow,
         call.quirks)
        for call in calls
    ]  # fmt: skip
    rows.sort(key=lambda row: (row[0]["started_at"], row[0]["conversation_id"]))
    write_ndjson(expected / "conversations.ndjson", (row for row, _, _, _ in rows))
    write_ndjson(expected / "legs.ndjson", (leg for _, legs, _, _ in rows for leg in legs))
    write_ndjson(
        expected / "scenarios.ndjson",
        (
            {"conversation_id": row["conversation_id"], "flow": flow, "quirks": sorted(quirks)}
            for row, _, flow, quirks in rows
        ),
    )
    write_ndjson(expected / "agent_status_intervals.ndjson.gz", agents.intervals)
    write_ndjson(expected / "agent_intervals.ndjson.gz", agents.agent_intervals)
    (expected / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "jwt_secret.txt").write_text(secret)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="distinct good events, about")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args(argv)
    summary = write_sample(args.out, args.events, args.seed)
    print(json.dumps({k: summary[k] for k in ("records", "distinct_events", "conversations")}))


if __name__ == "__main__":
    main()
