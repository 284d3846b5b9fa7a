"""Dialpad call-event payloads for the events of a scenario, with real feeds' quirks.

A payload shows the leg as it was at the event's time: `date_connected` only once it
connected, `operator_call_id` only once the entry point named its operator, and so on.
Quirks change the spelling, never the meaning: ids as numeric strings, empty ids as ""
or 0, booleans as "TRUE"/"false", `is_transfer` for `is_transferred`, `{}` objects,
missing null fields.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from ingest.sample.model import Event, Leg, TimeSource

REFERENCE_IDS = ("master_call_id", "entry_point_call_id", "operator_call_id")
ALWAYS_KEPT = frozenset({"call_id", "state", "event_timestamp", "date_started"})


def _known(value: int | None, at: int, post: bool) -> int | None:
    """A date the leg had reached by `at` (post-call events know every date)."""
    return value if value is not None and (post or value <= at) else None


def _ended(leg: Leg, event: Event, post: bool) -> int | None:
    if event.state in ("hangup", "missed", "blocked"):
        return event.at
    return leg.ended_at if post else None


def _durations(leg: Leg, event: Event, post: bool) -> tuple[float | None, float | None]:
    """`duration` (connected) and `total_duration` (started) in ms, on finished legs."""
    if event.state != "hangup" and not post:
        return None, None
    end = leg.ended_at
    if end is None or leg.started_at is None:
        return None, None
    fraction = (leg.call_id % 997) / 1000
    total = end - leg.started_at + fraction
    if leg.connected_at is None:
        return None, total
    return end - leg.connected_at + fraction, total


def base_payload(leg: Leg, event: Event) -> dict[str, Any]:
    """The documented fields, in the seed samples' order, before any quirk."""
    at, post = event.at, not event.is_live
    duration, total_duration = _durations(leg, event, post)
    names_operator = _known(leg.names_operator_from, at, post) is not None
    payload: dict[str, Any] = {
        "master_call_id": leg.master_call_id,
        "date_ended": _ended(leg, event, post),
        "internal_number": leg.target.phone,
        "duration": duration,
        "total_duration": total_duration,
        "entry_point_target": leg.entry_point_target.as_payload() if leg.entry_point_target else {},
        "proxy_target": leg.proxy_target.as_payload() if leg.proxy_target else {},
        "call_dispositions": None,
        "entry_point_call_id": leg.entry_point_call_id,
        "operator_call_id": leg.operator_call_id if names_operator else None,
        "call_id": leg.call_id,
        "state": event.state,
        "date_started": leg.started_at,
        "transcription_text": None,
        "direction": leg.direction,
        "date_connected": _known(leg.connected_at, at, post),
        "voicemail_link": None,
        "is_transferred": leg.is_transferred and (post or event.state == "hangup"),
        "was_recorded": _known(leg.recorded_from, at, post) is not None,
        "date_rang": _known(leg.rang_at, at, post),
        "target": leg.target.as_payload(),
        "contact": leg.contact.as_payload(),
        "group_id": leg.group_id,
        "external_number": leg.contact.phone,
    }
    if leg.queued_at is not None and _known(leg.queued_at, at, post):
        payload["date_queued"] = leg.queued_at
    if leg.first_rang_at is not None and _known(leg.first_rang_at, at, post):
        payload["date_first_rang"] = leg.first_rang_at
    if event.state == "hangup" and leg.connected_at is not None:
        payload["mos_score"] = round(3.5 + (leg.call_id % 15) / 10, 1)
        payload["labels"] = []
    payload.update(event.fields)
    if event.time_source is TimeSource.EVENT:
        payload["event_timestamp"] = at
    return payload


def _string_bool(rng: random.Random, value: bool) -> str:
    return rng.choice(("TRUE", "true", "True")) if value else rng.choice(("false", "FALSE"))


def _empty_id(rng: random.Random) -> Any:
    return rng.choice((None, None, None, None, "", "", 0, "0"))


def apply_quirks(payload: dict[str, Any], rng: random.Random, seen: Counter[str]) -> None:
    """Re-spell some fields the way real feeds do; `seen` counts what was applied."""
    for key in REFERENCE_IDS:
        if payload.get(key) is None:
            empty = _empty_id(rng)
            if empty is not None:
                seen["empty_id_spelled"] += 1
            payload[key] = empty
    if rng.random() < 0.06:
        seen["ids_as_strings"] += 1
        for key in ("call_id", *REFERENCE_IDS):
            if isinstance(payload.get(key), int) and payload[key]:
                payload[key] = str(payload[key])
        if isinstance(payload.get("target"), dict):
            payload["target"] = {**payload["target"], "id": str(payload["target"]["id"])}
    if rng.random() < 0.06:
        seen["booleans_as_strings"] += 1
        for key in ("is_transferred", "was_recorded"):
            payload[key] = _string_bool(rng, bool(payload[key]))
    transferred = payload.get("is_transferred") in (True, "TRUE", "true", "True")
    if rng.random() < (0.35 if transferred else 0.03):
        seen["is_transfer_alias"] += 1
        payload["is_transfer"] = payload.pop("is_transferred")
    if rng.random() < 0.25:
        seen["null_fields_left_out"] += 1
        for key in [k for k, v in payload.items() if v is None and k not in ALWAYS_KEPT]:
            del payload[key]


def build_payload(leg: Leg, event: Event, rng: random.Random, seen: Counter[str]) -> dict[str, Any]:
    payload = base_payload(leg, event)
    apply_quirks(payload, rng, seen)
    return payload
