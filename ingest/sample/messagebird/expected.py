"""The marts' expected values for MessageBird calls, read off each call's own timeline.

docs/contract.md §8 maps a call onto the marts of sections 5 and 6; where it is silent the
rules are callmart's (docs/metrics.md, "MessageBird"):

1. The conversation's started_at is the call's createdAt, else (no call object) its legs'
   earliest createdAt; with a call object it is complete when the call ended, at the call's
   endedAt; without one, when every leg ended, at their latest endedAt.
2. Roles: a call whose first leg (createdAt, ties: the smaller id) is incoming is inbound:
   its incoming leg is the `entry_point`, its outgoing legs `operator` agent legs whose
   agent (id and name) is the destination number; other calls are outbound, legs `direct`.
3. A leg is answered when it has answeredAt and its (latest) status is ongoing or hangup;
   connected_at is answeredAt then, else null. Answer intervals and talk: answered operator
   legs (inbound), answered legs (outbound). hold_ms and queue_ms are null, handle = talk.
4. transfer_count = answered operator legs - 1 (never below 0); each answered operator leg
   but the last (by answeredAt) is_transferred.
5. Targets: the entry point's is the call center (numberId, else the number dialled; type
   `number`, name the number dialled), an operator's the agent (type `user`), a direct
   leg's the number that placed it (type `number`). The contact is the caller (inbound) or
   the number called (outbound).
6. rang_at is the updatedAt of the earliest ringing snapshot that arrived, else null.
7. A call whose legs never arrive (only its call object, from the call history) is a
   conversation with leg_count 0, started_at/ended_at the call's createdAt/endedAt,
   direction, contact and entry target null, outcome in_progress while the call has not
   ended, else unknown; no agent, answer or measure (docs/contract.md §8, last paragraph). A
   call whose legs arrive late is expected with them (every file loaded).
8. Impossible times (a vendor clock error: answeredAt after endedAt): the leg keeps its times
   as delivered and stays answered; its talk_ms is null (a negative duration is unknown);
   its conversation's talk_ms and handle_ms are null (a sum with an unknown term), and so is
   its wait_ms (an answer interval that ends before it starts is no interval); answered_at
   and the outcome still count the answer.

Cases avoided because the rules would not decide them: ties in createdAt or answeredAt
within a call; a snapshot that changes anything but its status at an updatedAt another
snapshot of the object already has; an object whose latest snapshot never arrives.
"""

from __future__ import annotations

from typing import Any

from ingest.sample.expected import union_length
from ingest.sample.messagebird.model import MbCall, MbLeg


def answer_legs(call: MbCall) -> list[MbLeg]:
    inbound = call.is_inbound
    return [
        leg
        for leg in call.legs
        if leg.is_answered and (leg.role == "operator" if inbound else True)
    ]


def answered_operators(call: MbCall) -> list[MbLeg]:
    legs = [leg for leg in call.legs if leg.role == "operator" and leg.is_answered]
    return sorted(legs, key=lambda leg: (leg.answered_at or 0, leg.id))


def leg_target(call: MbCall, leg: MbLeg) -> tuple[str, str, str]:
    """(id, type, name) of the leg's internal party."""
    if leg.role == "entry_point":
        dialled = call.destination if call.arrives else leg.destination
        number_id = call.number_id if call.arrives else None
        return number_id or dialled, "number", dialled
    if leg.role == "operator":
        return leg.destination, "user", leg.destination
    return leg.source, "number", leg.source


def conversation_bounds(call: MbCall) -> tuple[int, int | None, bool]:
    """started_at, ended_at, is_complete."""
    if call.arrives:
        return call.created_at, call.ended_at, call.ended_at is not None
    complete = all(leg.ended_at is not None for leg in call.legs)
    ended = max(leg.ended_at or 0 for leg in call.legs) if complete else None
    return min(leg.created_at for leg in call.legs), ended, complete


def expected_conversation_without_legs(call: MbCall) -> dict[str, Any]:
    """Rule 7: only the call object arrived."""
    ended = call.ended_at
    return {
        "provider": "messagebird",
        "conversation_id": call.id,
        "direction": None,
        "started_at": call.created_at,
        "ended_at": ended,
        "is_complete": ended is not None,
        "outcome": "unknown" if ended is not None else "in_progress",
        "was_queued": False,
        "leg_count": 0,
        "transfer_count": 0,
        "agent_count": 0,
        **{
            f"{who}_agent_{key}": None
            for who in ("first", "last")
            for key in ("id", "name", "email")
        },
        "answered_at": None,
        "time_to_answer_ms": None,
        "wait_ms": None,
        "queue_ms": None,
        "hold_ms": None,
        "talk_ms": None,
        "acw_ms": None,
        "handle_ms": None,
        "contact_number": None,
        "contact_name": None,
        "entry_target_id": None,
        "entry_target_type": None,
        "entry_target_name": None,
        "is_recorded": False,
        "recording_count": 0,
        "csat_score": None,
        "has_voicemail": False,
        "recap_summary": None,
    }


def expected_conversation(call: MbCall) -> dict[str, Any]:
    if call.legs_arrive == "never":
        return expected_conversation_without_legs(call)
    first = call.first_leg
    inbound = call.is_inbound
    started, ended, complete = conversation_bounds(call)
    answers = answer_legs(call)
    answered_at = min((leg.answered_at or 0 for leg in answers), default=None)
    open_answer = any(leg.ended_at is None for leg in answers)
    clock_error = any(leg.has_clock_error for leg in answers)  # rule 8
    talk_ms = None
    if answers and not open_answer and not clock_error:
        talk_ms = sum((leg.ended_at or 0) - (leg.answered_at or 0) for leg in answers)
    wait_ms = None
    if inbound and complete and ended is not None and not clock_error:
        closed = [(leg.answered_at or 0, leg.ended_at) for leg in answers if leg.ended_at]
        wait_ms = ended - started - union_length(closed)  # type: ignore[arg-type]
    operators = answered_operators(call)
    target_id, target_type, target_name = leg_target(call, first)
    if answered_at is not None:
        outcome = "answered"
    elif not complete:
        outcome = "in_progress"
    else:
        outcome = "missed" if inbound else "no_answer"

    def agent(prefix: str, leg: MbLeg | None) -> dict[str, Any]:
        return {
            f"{prefix}_id": None if leg is None else leg.destination,
            f"{prefix}_name": None if leg is None else leg.destination,
            f"{prefix}_email": None,
        }

    return {
        "provider": "messagebird",
        "conversation_id": call.id,
        "direction": "inbound" if inbound else "outbound",
        "started_at": started,
        "ended_at": ended if complete else None,
        "is_complete": complete,
        "outcome": outcome,
        "was_queued": inbound,  # an inbound call has an entry point (docs/contract.md §5)
        "leg_count": len(call.legs),
        "transfer_count": max(len(operators) - 1, 0),
        "agent_count": len({leg.destination for leg in operators}),
        **agent("first_agent", operators[0] if operators else None),
        **agent("last_agent", operators[-1] if operators else None),
        "answered_at": answered_at,
        "time_to_answer_ms": None if answered_at is None else answered_at - started,
        "wait_ms": wait_ms,
        "queue_ms": None,
        "hold_ms": None,
        "talk_ms": talk_ms,
        "acw_ms": None,  # MessageBird sends no agent status
        "handle_ms": talk_ms,
        "contact_number": first.source if inbound else first.destination,
        "contact_name": None,
        "entry_target_id": target_id,
        "entry_target_type": target_type,
        "entry_target_name": target_name,
        "is_recorded": False,
        "recording_count": 0,
        "csat_score": None,
        "has_voicemail": False,
        "recap_summary": None,
    }


def expected_legs(call: MbCall) -> list[dict[str, Any]]:
    answers = {leg.id for leg in answer_legs(call)}
    transferred = {leg.id for leg in answered_operators(call)[:-1]}
    rows = []
    for leg in sorted(call.delivered_legs, key=lambda leg: (leg.created_at, leg.id)):
        target_id, target_type, _ = leg_target(call, leg)
        talk_ms = None  # (null is "not asserted" in legs.ndjson; rule 8 makes it null)
        if leg.id in answers and leg.ended_at is not None and not leg.has_clock_error:
            talk_ms = leg.ended_at - (leg.answered_at or 0)
        rows.append(
            {
                "provider": "messagebird",
                "leg_id": leg.id,
                "conversation_id": call.id,
                "leg_role": leg.role,
                "direction": "inbound" if leg.direction == "incoming" else "outbound",
                "target_id": target_id,
                "target_type": target_type,
                "started_at": leg.created_at,
                "rang_at": leg.rang_at,
                "queued_at": None,
                "connected_at": leg.answered_at if leg.is_answered else None,
                "ended_at": leg.ended_at,
                "is_end_inferred": False,
                "last_live_state": leg.status,
                "is_transferred": leg.id in transferred,
                "hold_ms": None,
                "talk_ms": talk_ms,
                "acw_ms": None,
            }
        )
    return rows
