"""The marts' expected values, read off each scenario's own timeline (docs/contract.md §3-§5).

Nothing here looks at the generated payloads: roles are the ones the flow builders gave
their legs, times are the ones they chose. Keys are named as the mart columns.

Readings of the contract that the data depends on (where it is silent or ambiguous):

1. A conversation without a connected agent leg has talk_ms = hold_ms = handle_ms = null
   (a sum over no legs, as SQL has it): the contract says "0 when none did" for
   queue_ms only.
2. An agent leg still in progress (connected, no hangup) has talk_ms and hold_ms null (not
   known yet), so its conversation has hold_ms, talk_ms and handle_ms null. No hold is
   ever generated on an open leg, and each in-progress conversation has exactly one open
   agent leg, so "sum ignoring nulls" and "null if any is null" agree.
3. legs.ndjson gives hold_ms/talk_ms only for connected agent legs (the contract defines
   them there); other legs have null, meaning "not asserted".
4. A leg known only from another leg's reference (its events never arrived) counts for
   nothing but the graph: not for started_at/ended_at/is_complete, not as an agent.
   An entry point that names such an operator still makes the call answered (its own
   [connected_at, ended_at] is an answer interval), but agent_count is 0,
   first/last agent are null and talk_ms is null (there is no connected agent leg).
5. csat_score and recap_summary are the values of the latest such event by event time;
   those events always carry event_timestamp or an exact received_at.
6. A monitor leg is connected from its first monitor event (date_connected set there).
7. After-call work (docs/contract.md §11): `acw_ms` is given for connected agent legs that
   ended; every other leg (in progress, not connected, not an agent leg, MessageBird) has
   null. An agent's statuses are ordered by their `date`; "a status event within
   open_leg_timeout_hours before the leg's end" is a distinct event whose `date` is in
   [ended_at - 12 h, ended_at] (the simulator checks that the collapsed intervals' starts
   give the same answer, so the sample does not depend on which one is read).
8. Agent intervals: UTC, 30 minutes; a row for every interval an agent's status intervals
   overlap by more than an instant, from its first status to the data watermark.

Cases avoided because the contract would not decide them:
- hold or resume events without event_timestamp, except a deliberate "unknown hold" on a
  direct agent leg with no other hold (that leg's hold_ms is null, talk_ms its handle time);
- any event of a leg that holds or queues falling back to its state's date; ringing,
  queued, missed or voicemail events falling back at all (their date is not the leg's own
  started/connected/ended time);
- an event without event_timestamp delivered both raw and enveloped (received-time events
  are always enveloped, fallback-time events never);
- holds on an entry point whose operator leg is missing or not named, and transfers or
  monitors on such quirky entry points;
- holds on legs still in progress; calls still in progress while queued;
- ties in date_started or connected_at that the tie-break rules would have to settle;
- voicemail_uploaded without a voicemail state; recording_url and recording_details in
  different legs of one conversation; voicemail recordings with a recording_url;
- a bare JWT line in an NDJSON file, an envelope whose payload is a string that is not a
  JWT, blank lines;
- two status events of one agent at one `date`, or whose `event_timestamp` order differs
  from their `date` order; a wrapup that two of an agent's legs ending at the same instant
  would both claim; status events later than the call events' watermark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ingest.sample.agents import StatusEvent
from ingest.sample.model import Conversation, Event, Leg, Role, TimeSource

RECORDING_TYPES = frozenset({"callrecording", "admincallrecording"})
Interval = tuple[int, int]
ACW_LINK_MS = 10_000  # dbt var acw_link_seconds
OPEN_LEG_TIMEOUT_MS = 12 * 3_600_000  # dbt var open_leg_timeout_hours
INTERVAL_MINUTES = 30  # dbt var interval_minutes
AcwByLeg = Mapping[int, int | None]


def union_length(intervals: list[Interval]) -> int:
    """Total length covered by closed intervals (overlaps counted once)."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def state_intervals(leg: Leg, state: str) -> tuple[list[Interval], bool]:
    """Intervals in `state`: from the event to the leg's next live event or its end.

    The flag says whether any of them starts at an event whose time is a fallback.
    """
    live = leg.live_events
    intervals, unknown = [], False
    for i, event in enumerate(live):
        if event.state != state:
            continue
        end = live[i + 1].at if i + 1 < len(live) else leg.ended_at
        if end is None:
            raise ValueError(f"leg {leg.call_id}: open {state} interval")
        intervals.append((event.at, end))
        unknown = unknown or event.time_source is TimeSource.FALLBACK
    return intervals, unknown


def operated_entry_point(conv: Conversation, leg: Leg) -> Leg | None:
    if leg.role is not Role.OPERATOR:
        return None
    for other in conv.legs_with_events:
        if other.role is Role.ENTRY_POINT and other.operator_call_id == leg.call_id:
            return other
    return None


def leg_hold_ms(conv: Conversation, leg: Leg) -> int | None:
    """An agent leg's hold: its holds and its entry point's, united, clipped to the leg."""
    intervals, unknown = state_intervals(leg, "hold")
    entry_point = operated_entry_point(conv, leg)
    if entry_point is not None:
        more, more_unknown = state_intervals(entry_point, "hold")
        intervals, unknown = intervals + more, unknown or more_unknown
    if unknown:
        return None
    if not intervals:
        return 0
    assert leg.connected_at is not None and leg.ended_at is not None
    clipped = [
        (max(start, leg.connected_at), min(end, leg.ended_at))
        for start, end in intervals
        if min(end, leg.ended_at) > max(start, leg.connected_at)
    ]
    return union_length(clipped)


def leg_talk_ms(leg: Leg, hold_ms: int | None) -> int | None:
    if leg.connected_at is None or leg.ended_at is None:
        return None
    return leg.ended_at - leg.connected_at - (hold_ms or 0)


def connected_agent_legs(conv: Conversation) -> list[Leg]:
    return [
        leg for leg in conv.legs_with_events if leg.is_agent_leg and leg.connected_at is not None
    ]


def answer_intervals(conv: Conversation) -> list[tuple[int, int | None]]:
    """Connected agent legs, and connected entry points that name an operator."""
    legs = connected_agent_legs(conv)
    legs += [
        leg
        for leg in conv.legs_with_events
        if leg.role is Role.ENTRY_POINT
        and leg.connected_at is not None
        and leg.names_operator_from is not None
    ]
    return [(leg.connected_at, leg.ended_at) for leg in legs if leg.connected_at is not None]


def transfer_count(conv: Conversation) -> int:
    """Answered entry points that (or whose operator) transferred, and transferring
    connected direct agent legs."""
    legs = {leg.call_id: leg for leg in conv.legs_with_events}
    count = 0
    for leg in legs.values():
        if leg.role is Role.ENTRY_POINT and leg.connected_at is not None:
            operator = legs.get(leg.operator_call_id or 0)
            if leg.is_transferred or (operator is not None and operator.is_transferred):
                count += 1
        elif leg.role is Role.DIRECT and leg.is_agent_leg and leg.connected_at is not None:
            count += int(leg.is_transferred)
    return count


def latest(conv: Conversation, state: str) -> Event | None:
    events = [e for leg in conv.legs_with_events for e in leg.events if e.state == state]
    return max(events, key=lambda e: e.at) if events else None


def recording_count(conv: Conversation) -> int:
    ids: set[str] = set()
    urls: set[str] = set()
    for leg in conv.legs_with_events:
        events = [e for e in leg.events if e.state == "recording"]
        if any(e.fields.get("recording_details") for e in events):
            for e in events:
                for detail in e.fields.get("recording_details") or []:
                    if detail["recording_type"] in RECORDING_TYPES:
                        ids.add(str(detail["id"]))
        else:
            urls.update(url for e in events for url in e.fields.get("recording_url") or [])
    return len(ids) + len(urls)


def first_leg(conv: Conversation) -> Leg:
    legs = [leg for leg in conv.legs_with_events if leg.role is not Role.MONITOR]
    return min(legs, key=lambda leg: (leg.started_at or 0, leg.call_id))


def outcome(conv: Conversation, answered: bool, complete: bool) -> str:
    first = first_leg(conv)
    states = {e.state for leg in conv.legs_with_events for e in leg.events}
    if answered:
        return "answered"
    if not complete:
        return "in_progress"
    if states & {"voicemail", "voicemail_uploaded", "transcription"}:
        return "voicemail"
    if first.has_state("blocked"):
        return "blocked"
    return "missed" if first.direction == "inbound" else "no_answer"


def agent_columns(prefix: str, leg: Leg | None) -> dict[str, Any]:
    return {
        f"{prefix}_id": None if leg is None else str(leg.target.id),
        f"{prefix}_name": None if leg is None else leg.target.name,
        f"{prefix}_email": None if leg is None else leg.target.email,
    }


def work_columns(conv: Conversation, acw: AcwByLeg) -> dict[str, int | None]:
    """hold_ms, talk_ms, acw_ms and handle_ms over the connected agent legs."""
    holds, talks, acws = [], [], []
    for leg in connected_agent_legs(conv):
        hold = leg_hold_ms(conv, leg) if leg.ended_at is not None else None
        holds.append(hold)
        talks.append(leg_talk_ms(leg, hold))
        acws.append(acw.get(leg.call_id))
    hold_ms = None if not holds or None in holds else sum(h or 0 for h in holds)
    talk_ms = None if not talks or None in talks else sum(t or 0 for t in talks)
    known = [a for a in acws if a is not None]
    acw_ms = sum(known) if known else None
    handle_ms = None if talk_ms is None else talk_ms + (hold_ms or 0) + (acw_ms or 0)
    return {"hold_ms": hold_ms, "talk_ms": talk_ms, "acw_ms": acw_ms, "handle_ms": handle_ms}


def expected_conversation(conv: Conversation, acw: AcwByLeg | None = None) -> dict[str, Any]:
    """The conversation's row; `acw` is each leg's after-call work (none: no status feed)."""
    legs = [leg for leg in conv.legs_with_events if leg.role is not Role.MONITOR]
    first = first_leg(conv)
    started = min(leg.started_at or 0 for leg in legs)
    complete = all(leg.ended_at is not None for leg in legs)
    ended = max(leg.ended_at or 0 for leg in legs) if complete else None
    answers = answer_intervals(conv)
    answered_at = min((start for start, _ in answers), default=None)
    agents = sorted(connected_agent_legs(conv), key=lambda leg: (leg.connected_at, leg.target.id))
    wait_ms = None
    if first.direction == "inbound" and ended is not None:
        closed = [(start, end) for start, end in answers if end is not None]
        wait_ms = ended - started - union_length(closed)
    queue_ms = sum(union_length(state_intervals(leg, "queued")[0]) for leg in conv.legs_with_events)
    csat = latest(conv, "csat")
    recap = latest(conv, "recap_summary")
    return {
        "provider": "dialpad",
        "conversation_id": str(first.call_id),
        "direction": first.direction,
        "started_at": started,
        "ended_at": ended,
        "is_complete": complete,
        "outcome": outcome(conv, bool(answers), complete),
        "was_queued": any(
            leg.queued_at is not None or leg.role is Role.ENTRY_POINT for leg in legs
        ),
        "leg_count": len(legs),
        "transfer_count": transfer_count(conv),
        "agent_count": len({leg.target.id for leg in agents}),
        **agent_columns("first_agent", agents[0] if agents else None),
        **agent_columns("last_agent", agents[-1] if agents else None),
        "answered_at": answered_at,
        "time_to_answer_ms": None if answered_at is None else answered_at - started,
        "wait_ms": wait_ms,
        "queue_ms": queue_ms,
        **work_columns(conv, acw or {}),
        "contact_number": first.contact.phone,
        "contact_name": first.contact.name,
        "entry_target_id": str(first.target.id),
        "entry_target_type": first.target.type,
        "entry_target_name": first.target.name,
        "is_recorded": any(leg.recorded_from is not None for leg in conv.legs_with_events),
        "recording_count": recording_count(conv),
        "csat_score": None if csat is None else int(csat.fields["csat_score"]),
        "has_voicemail": any(leg.has_state("voicemail") for leg in conv.legs_with_events),
        "recap_summary": None if recap is None else recap.fields["recap_summary"],
    }


def expected_legs(conv: Conversation, acw: AcwByLeg | None = None) -> list[dict[str, Any]]:
    conversation_id = str(first_leg(conv).call_id)
    rows = []
    for leg in sorted(conv.legs_with_events, key=lambda leg: (leg.started_at or 0, leg.call_id)):
        hold_ms = talk_ms = None
        if leg.is_agent_leg and leg.connected_at is not None:
            hold_ms = leg_hold_ms(conv, leg) if leg.ended_at is not None else None
            talk_ms = leg_talk_ms(leg, hold_ms)
        last_live = leg.last_live_event
        rows.append(
            {
                "provider": "dialpad",
                "leg_id": str(leg.call_id),
                "conversation_id": conversation_id,
                "leg_role": leg.role.value,
                "direction": leg.direction,
                "target_id": str(leg.target.id),
                "target_type": leg.target.type,
                "started_at": leg.started_at,
                "rang_at": leg.rang_at,
                "queued_at": leg.queued_at,
                "connected_at": leg.connected_at,
                "ended_at": leg.ended_at,
                "is_end_inferred": False,
                "last_live_state": None if last_live is None else last_live.state,
                "is_transferred": leg.is_transferred,
                "hold_ms": hold_ms,
                "talk_ms": talk_ms,
                "acw_ms": (acw or {}).get(leg.call_id),
            }
        )
    return rows


# -- agent status (docs/contract.md §11) --------------------------------------------------


def status_intervals(events: Iterable[StatusEvent], watermark: int) -> list[dict[str, Any]]:
    """fct_agent_status_intervals: each agent's distinct status events by `date`, identical
    consecutive statuses collapsed; the last interval ends at the data watermark."""
    by_agent: dict[int, list[StatusEvent]] = defaultdict(list)
    for event in events:
        by_agent[event.agent.id].append(event)
    rows = []
    for agent_id in sorted(by_agent):
        starts: list[StatusEvent] = []
        for event in sorted(by_agent[agent_id], key=lambda e: e.date):
            if not starts or starts[-1].status.key != event.status.key:
                starts.append(event)
        for i, event in enumerate(starts):
            last = i + 1 == len(starts)
            end = watermark if last else starts[i + 1].date
            if end <= event.date:
                raise ValueError(f"agent {agent_id}: an empty status interval at {event.date}")
            on_duty, reason, availability, call_centers = event.status.key
            rows.append(
                {
                    "provider": "dialpad",
                    "agent_id": str(agent_id),
                    "status_started_at": event.date,
                    "status_ended_at": end,
                    "is_end_inferred": last,
                    "duration_ms": end - event.date,
                    "on_duty_status": on_duty,
                    "on_duty_status_reason": reason,
                    "availability_status": availability,
                    "call_center_ids": list(call_centers),
                }
            )
    return rows


def leg_acw(
    conversations: Iterable[Conversation],
    intervals: Sequence[dict[str, Any]],
    events: Iterable[StatusEvent],
) -> dict[int, int | None]:
    """acw_ms of every connected agent leg that ended: the wrapup intervals that start at or
    after its end and at most acw_link_seconds later (to the agent's latest such leg), 0 when
    a status event of its agent is within open_leg_timeout_hours before its end, else null."""
    legs: dict[str, list[Leg]] = defaultdict(list)
    for conv in conversations:
        for leg in connected_agent_legs(conv):
            if leg.ended_at is not None:
                legs[str(leg.target.id)].append(leg)
    linked: dict[int, int] = defaultdict(int)
    for row in intervals:
        if row["on_duty_status"] != "wrapup":
            continue
        start = row["status_started_at"]
        claims = [
            leg
            for leg in legs[row["agent_id"]]
            if leg.ended_at is not None and leg.ended_at <= start <= leg.ended_at + ACW_LINK_MS
        ]
        if not claims:
            continue
        latest = max(claims, key=lambda leg: leg.ended_at or 0)
        if sum(leg.ended_at == latest.ended_at for leg in claims) > 1:
            raise ValueError(f"two legs claim the wrapup at {start} equally")
        linked[latest.call_id] += row["duration_ms"]
    dates: dict[str, list[int]] = defaultdict(list)
    for event in events:
        dates[str(event.agent.id)].append(event.date)
    starts: dict[str, list[int]] = defaultdict(list)
    for row in intervals:
        starts[row["agent_id"]].append(row["status_started_at"])
    acw: dict[int, int | None] = {}
    for agent_id, agent_legs in legs.items():
        for leg in agent_legs:
            assert leg.ended_at is not None
            end = leg.ended_at

            def covered(times: list[int], end: int = end) -> bool:
                return any(end - OPEN_LEG_TIMEOUT_MS <= t <= end for t in times)

            if covered(dates[agent_id]) != covered(starts[agent_id]):
                raise ValueError(f"leg {leg.call_id}: its coverage depends on the reading")
            if leg.call_id in linked:
                acw[leg.call_id] = linked[leg.call_id]
            else:
                acw[leg.call_id] = 0 if covered(dates[agent_id]) else None
    return acw


def agent_interval_rows(
    intervals: Iterable[dict[str, Any]], names: Mapping[str, str], minutes: int = INTERVAL_MINUTES
) -> list[dict[str, Any]]:
    """agg_agent_interval in UTC: each agent's status time cut at the interval boundaries."""
    size = minutes * 60_000
    buckets: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in intervals:
        at, end = row["status_started_at"], row["status_ended_at"]
        while at < end:
            start = at // size * size
            piece = min(end, start + size) - at
            bucket = buckets[(row["agent_id"], start)]
            status = row["on_duty_status"]
            if status in ("available", "occupied", "wrapup", "unavailable"):
                bucket[status] += piece
            if status != "unavailable":
                bucket["staffed"] += piece
            at += piece
    rows = []
    for (agent_id, start), ms in sorted(buckets.items()):
        busy = ms["occupied"] + ms["wrapup"]
        working = ms["available"] + busy
        rows.append(
            {
                "provider": "dialpad",
                "agent_id": agent_id,
                "agent_name": names[agent_id],
                "interval_start_at": start,
                "interval_start_local": start,
                "reporting_date": datetime.fromtimestamp(start / 1000, UTC).date().isoformat(),
                "staffed_ms": ms["staffed"],
                "available_ms": ms["available"],
                "occupied_ms": ms["occupied"],
                "wrapup_ms": ms["wrapup"],
                "unavailable_ms": ms["unavailable"],
                "occupancy": busy / working if working else None,
            }
        )
    return rows
