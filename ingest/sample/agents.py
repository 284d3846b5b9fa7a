"""Dialpad agent status events (docs/contract.md §11): each call-center agent's on-duty
timeline, consistent with the calls the scenarios gave them.

An agent is on duty (`available`) from the start of a shift, `occupied` while connected on
any of its calls (a second call connecting during the first repeats `occupied`), and after
some calls in `wrapup` for a while (starting 0-3 s after the hangup: after-call work; now
and then only 30 s after it, beyond the link window: not after-call work). Two calls close
together (less than two minutes apart) go back to back, with a wrapup after the second
only. In the free time between calls come breaks (off duty with a reason), off duty
("Missed call") right after a ring the agent missed, once an unknown on-duty value
(`busy`), and repeated identical statuses; a shift ends off duty ("End of shift").

Members of no call center get no status events at all (their legs' after-call work is
unknown), and one member's feed only starts on the second day. Everything here draws from
its own random source, so the call events do not change with it; events after the call
events' watermark are not sent (the data ends there).
"""

from __future__ import annotations

import bisect
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.sample.directory import Directory
from ingest.sample.model import Conversation, Leg, Target

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SHIFT_GAP_MS = 4 * HOUR  # calls further apart than this are in different shifts
BACK_TO_BACK_MS = 2 * MINUTE  # a call connecting this soon after the last: no wrapup between
LATE_WRAPUP_MS = 30 * SECOND  # beyond acw_link_seconds (10): not after-call work
BREAK_REASONS = ("Break", "Lunch", "Meeting")


@dataclass(frozen=True)
class Status:
    """What one agent status event says (its call centers in the agent's own order)."""

    on_duty_status: str
    reason: str | None
    availability_status: str
    call_center_ids: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str | None, str, tuple[str, ...]]:
        """Two statuses with one key are the same (docs/contract.md §11: they collapse)."""
        return (
            self.on_duty_status,
            self.reason,
            self.availability_status,
            tuple(sorted(self.call_center_ids)),
        )


@dataclass(frozen=True)
class StatusEvent:
    """One agent status event as sent: `date` when the status changed, `event_at` its
    event_timestamp (the webhook, a little later)."""

    agent: Target
    date: int
    event_at: int
    status: Status


@dataclass
class Block:
    """A stretch in which the agent is connected on one call or more (overlapping calls)."""

    start: int
    end: int | None  # None: a call still in progress at the end of the data
    connects: list[int] = field(default_factory=list)


@dataclass
class AgentStatuses:
    """The status events of every agent with a feed, and what was drawn (for the summary)."""

    events: list[StatusEvent]
    feed_agents: list[Target]
    agents_without_feed: list[Target]  # agents with calls and no status event at all
    late_feed_agent: Target | None  # a member whose feed starts on the second day
    late_feed_from: int | None
    stats: Counter[str]


def connected_legs(conversations: Iterable[Conversation]) -> dict[int, list[Leg]]:
    """Every connected agent leg per agent id, also those whose events never arrive: the
    agent was on the call all the same."""
    legs: dict[int, list[Leg]] = defaultdict(list)
    for conv in conversations:
        for leg in conv.legs:
            if leg.is_agent_leg and leg.connected_at is not None:
                legs[leg.target.id].append(leg)
    return legs


def missed_rings(conversations: Iterable[Conversation]) -> dict[int, list[int]]:
    """When each agent missed a ring (a `missed` event on a leg that rang the agent)."""
    rings: dict[int, list[int]] = defaultdict(list)
    for conv in conversations:
        for leg in conv.legs:
            if leg.target.type == "user" and leg.connected_at is None:
                rings[leg.target.id] += [e.at for e in leg.events if e.state == "missed"]
    return rings


def blocks_of(legs: list[Leg]) -> list[Block]:
    blocks: list[Block] = []
    for leg in sorted(legs, key=lambda leg: leg.connected_at or 0):
        assert leg.connected_at is not None
        last = blocks[-1] if blocks else None
        if last is not None and (last.end is None or leg.connected_at <= last.end):
            if leg.connected_at not in last.connects:
                last.connects.append(leg.connected_at)
            if last.end is not None:
                last.end = None if leg.ended_at is None else max(last.end, leg.ended_at)
            continue
        blocks.append(Block(leg.connected_at, leg.ended_at, [leg.connected_at]))
    return blocks


def shifts_of(blocks: list[Block]) -> list[list[Block]]:
    shifts: list[list[Block]] = []
    for block in blocks:
        previous = shifts[-1][-1] if shifts else None
        if previous and previous.end is not None and block.start - previous.end <= SHIFT_GAP_MS:
            shifts[-1].append(block)
            continue
        shifts.append([block])
    return shifts


class Timeline:
    """One agent's status changes, in time order."""

    def __init__(self, rng: random.Random, ccs: tuple[str, ...], stats: Counter[str]) -> None:
        self.rng = rng
        self.stats = stats
        self.available = Status("available", None, "available", ccs)
        self.occupied = Status("occupied", None, "available", ccs)
        self.wrapup = Status("wrapup", None, "available", ccs)
        self.busy = Status("busy", None, "available", ccs)
        self.missed = Status("unavailable", "Missed call", "available", ())
        self.off_shift = Status("unavailable", "End of shift", "unavailable", ())
        self.events: list[tuple[int, Status]] = []

    def add(self, at: int, status: Status) -> None:
        if self.events and at <= self.events[-1][0]:
            raise ValueError(f"status at {at} not after {self.events[-1][0]}")
        self.events.append((at, status))

    def insert(self, at: int, status: Status) -> None:
        dates = [d for d, _ in self.events]
        i = bisect.bisect_left(dates, at)
        if i < len(dates) and dates[i] == at:
            raise ValueError(f"two statuses at {at}")
        self.events.insert(i, (at, status))

    def shift(self, blocks: list[Block]) -> None:
        """A shift around `blocks`: on duty, the calls and what follows them, off duty."""
        rng = self.rng
        self.add(blocks[0].start - rng.randint(5 * MINUTE, 40 * MINUTE), self.available)
        force_wrapup = False
        for i, block in enumerate(blocks):
            self.add(block.start, self.occupied)
            for connect in block.connects[1:]:
                self.add(connect, self.occupied)  # a second call while on the first
                self.stats["repeated_occupied"] += 1
            if block.end is None:
                return  # still connected when the data ends: no shift end
            following = blocks[i + 1].start if i + 1 < len(blocks) else None
            force_wrapup = self.after_call(block.end, following, force_wrapup)
        self.add(self.events[-1][0] + rng.randint(5 * MINUTE, 40 * MINUTE), self.off_shift)
        self.stats["shifts"] += 1

    def after_call(self, end: int, following: int | None, force_wrapup: bool) -> bool:
        """Statuses from the hangup at `end` to the next call (if any, at `following`);
        returns whether the next call must be followed by a wrapup (back to back)."""
        rng = self.rng
        if following is not None and following - end < BACK_TO_BACK_MS:
            self.add(end, self.available)
            self.stats["back_to_back"] += 1
            return True
        roll = rng.random()
        kind = "wrapup" if force_wrapup or roll < 0.5 else "late" if roll < 0.58 else "none"
        if kind == "late":
            start, length = end + LATE_WRAPUP_MS, rng.randint(5 * SECOND, 120 * SECOND)
            if following is None or start + length < following - SECOND:
                self.add(end, self.available)
                self.add(start, self.wrapup)
                self.add(start + length, self.available)
                self.stats["late_wrapups"] += 1
                return False
            kind = "none"
        if kind == "wrapup":
            start, length = end + rng.randint(0, 3 * SECOND), rng.randint(5 * SECOND, 120 * SECOND)
            self.add(start, self.wrapup)
            self.stats["wrapups"] += 1
            if following is not None and start + length >= following - SECOND:
                self.stats["wrapups_cut_by_a_call"] += 1  # occupied straight from wrapup
            else:
                self.add(start + length, self.available)
            return False
        self.add(end, self.available)
        return False

    def free_stretches(self, minimum: int) -> list[tuple[int, int]]:
        """(from, to) of every `available` stretch at least `minimum` long that ends."""
        return [
            (at, self.events[i + 1][0])
            for i, (at, status) in enumerate(self.events[:-1])
            if status == self.available and self.events[i + 1][0] - at >= minimum
        ]

    def off_duty_after_ring(self, missed_at: int) -> None:
        """Dialpad puts an agent off duty right after a missed ring; back on duty later."""
        for start, end in self.free_stretches(1):
            if start < missed_at < end:
                off = missed_at + self.rng.randint(200, 1500)
                back = min(off + self.rng.randint(20 * SECOND, 300 * SECOND), end - SECOND)
                if back - off >= 5 * SECOND:
                    self.insert(off, self.missed)
                    self.insert(back, self.available)
                    self.stats["off_duty_after_missed_ring"] += 1
                return

    def breaks(self) -> None:
        for start, end in self.free_stretches(30 * MINUTE):
            if self.rng.random() < 0.3:
                off = start + self.rng.randint(2 * MINUTE, 10 * MINUTE)
                back = min(off + self.rng.randint(5 * MINUTE, 30 * MINUTE), end - MINUTE)
                reason = self.rng.choice(BREAK_REASONS)
                self.insert(off, Status("unavailable", reason, "available", ()))
                self.insert(back, self.available)
                self.stats["breaks"] += 1

    def unknown_status(self) -> bool:
        stretches = self.free_stretches(15 * MINUTE)
        if not stretches:
            return False
        start, _ = self.rng.choice(stretches)
        at = start + self.rng.randint(MINUTE, 5 * MINUTE)
        self.insert(at, self.busy)
        self.insert(at + self.rng.randint(2 * MINUTE, 6 * MINUTE), self.available)
        self.stats["unknown_on_duty_status"] += 1
        return True

    def repeats(self) -> None:
        """Now and then Dialpad sends the status an agent is already in again."""
        for i in range(len(self.events) - 2, -1, -1):
            at, status = self.events[i]
            gap = self.events[i + 1][0] - at
            if gap >= 2 * SECOND and self.rng.random() < 0.04:
                self.insert(at + self.rng.randint(SECOND, min(gap - SECOND, 10 * MINUTE)), status)
                self.stats["repeated_statuses"] += 1


def build_statuses(
    rng: random.Random,
    directory: Directory,
    conversations: list[Conversation],
    watermark: int,
    window_start: int,
) -> AgentStatuses:
    """Every call-center agent's status events up to `watermark` (the call events' own)."""
    stats: Counter[str] = Counter()
    legs = connected_legs(conversations)
    rings = missed_rings(conversations)
    memberships: dict[int, list[str]] = defaultdict(list)
    for cc in directory.call_centers:
        for member in cc.members:
            memberships[member.id].append(str(cc.target.id))
    feed = [a for a in directory.agents if a.id in memberships and a.id in legs]
    without = [a for a in directory.agents if a.id not in memberships and a.id in legs]
    timelines: dict[int, Timeline] = {}
    for agent in feed:
        timeline = Timeline(rng, tuple(memberships[agent.id]), stats)
        for blocks in shifts_of(blocks_of(legs[agent.id])):
            timeline.shift(blocks)
        for missed_at in sorted(rings[agent.id]):
            timeline.off_duty_after_ring(missed_at)
        timeline.breaks()
        timelines[agent.id] = timeline
    for agent in rng.sample(feed, len(feed)):
        if timelines[agent.id].unknown_status():
            break
    for timeline in timelines.values():
        timeline.repeats()

    late_agent, late_from = late_feed(rng, feed, timelines, window_start + DAY)
    events: list[StatusEvent] = []
    for agent in feed:
        last_at = 0
        for date, status in timelines[agent.id].events:
            if late_agent is agent and late_from is not None and date < late_from:
                continue
            at = max(date + rng.randint(50, 1500), last_at + 1)
            if at > watermark:
                at = max(date, last_at + 1)
            if at > watermark:
                stats["after_the_watermark"] += 1
                continue
            events.append(StatusEvent(agent, date, at, status))
            last_at = at
    return AgentStatuses(events, feed, without, late_agent, late_from, stats)


def late_feed(
    rng: random.Random, feed: list[Target], timelines: dict[int, Timeline], cut: int
) -> tuple[Target | None, int | None]:
    """A member whose status feed starts with its first shift from `cut` on (its earlier
    calls have no status event within open_leg_timeout_hours: their ACW is unknown)."""
    candidates = []
    for agent in feed:
        events = timelines[agent.id].events
        starts = [
            at
            for i, (at, status) in enumerate(events)
            if status.on_duty_status == "available"
            and (i == 0 or events[i - 1][1].reason == "End of shift")
        ]
        later = [at for at in starts if at >= cut]
        if later and events[0][0] < cut:
            candidates.append((agent, later[0]))
    if not candidates:
        return None, None
    return rng.choice(candidates)


def status_payload(event: StatusEvent, rng: random.Random, seen: Counter[str]) -> dict[str, Any]:
    """The Dialpad agent status event, with real feeds' spellings now and then."""
    agent, status = event.agent, event.status
    payload: dict[str, Any] = {
        "target": {
            "id": agent.id,
            "name": agent.name,
            "email": agent.email,
            "phone_number": agent.phone,
            "type": "user",
        },
        "availability_status": status.availability_status,
        "on_duty_status": status.on_duty_status,
        "on_duty_status_reason": status.reason,
        "call_center_ids": list(status.call_center_ids),
        "date": event.date,
        "event_timestamp": event.event_at,
        "powerdialer_mode": False,
    }
    if rng.random() < 0.06:
        seen["status_ids_as_strings"] += 1
        payload["target"]["id"] = str(agent.id)
    if rng.random() < 0.05:
        seen["status_booleans_as_strings"] += 1
        payload["powerdialer_mode"] = rng.choice(("false", "FALSE"))
    if status.reason is None and rng.random() < 0.25:
        seen["status_null_reason_left_out"] += 1
        del payload["on_duty_status_reason"]
    return payload
