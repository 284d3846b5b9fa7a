"""The scenario model: legs, their events and timelines, grouped into conversations.

A scenario is built explicitly, one state change at a time (`Leg.start`, `Leg.ring`, ...).
Each builder method records both the event that Dialpad would send and the leg's own
timeline (`started_at`, `connected_at`, ...), so that the expected marts can be read off
the scenario without looking at the generated payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LIVE_STATES = frozenset(
    {
        "preanswer",
        "calling",
        "ringing",
        "queued",
        "connected",
        "hold",
        "parked",
        "merged",
        "monitor",
        "barge",
        "takeover",
        "voicemail",
        "eavesdrop",
        "admin",
        "missed",
        "blocked",
        "hangup",
    }
)
POST_CALL_STATES = frozenset(
    {
        "voicemail_uploaded",
        "transcription",
        "recording",
        "postcall",
        "admin_recording",
        "call_transcription",
        "dispositions",
        "csat",
        "pcsat",
        "recap_summary",
        "recap_outcome",
        "recap_purposes",
        "recap_action_items",
        "ai_playbook",
    }
)


class Role(StrEnum):
    """Leg roles of docs/contract.md §4."""

    OPERATOR = "operator"
    MONITOR = "monitor"
    RING_ATTEMPT = "ring_attempt"
    ENTRY_POINT = "entry_point"
    DIRECT = "direct"


class TimeSource(StrEnum):
    """Where the warehouse will read an event's time from (docs/contract.md §3)."""

    EVENT = "event"  # the payload carries event_timestamp
    RECEIVED = "received"  # no event_timestamp; every copy is enveloped, earliest at `at`
    FALLBACK = "fallback"  # no event_timestamp and never enveloped: the state's own date


@dataclass(frozen=True)
class Target:
    """An internal party: a user, call center or office."""

    type: str
    id: int
    name: str
    email: str
    phone: str
    office_id: int

    def as_payload(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "office_id": self.office_id,
        }

    @property
    def group_id(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Contact:
    """The external party."""

    phone: str
    type: str
    id: int | str
    name: str
    email: str

    def as_payload(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "email": self.email,
        }


@dataclass
class Event:
    """One state change of one leg, at `at` (unix ms UTC)."""

    state: str
    at: int
    fields: dict[str, Any] = field(default_factory=dict)
    time_source: TimeSource = TimeSource.EVENT
    is_resume: bool = False

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class ScenarioError(ValueError):
    """A scenario was built out of order (a bug in a flow builder)."""


@dataclass
class Leg:
    """One Dialpad call (leg) and the events it sends."""

    call_id: int
    role: Role
    direction: str
    target: Target
    contact: Contact
    group_id: str | None = None
    entry_point_target: Target | None = None
    proxy_target: Target | None = None
    master_call_id: int | None = None
    entry_point_call_id: int | None = None
    operator_call_id: int | None = None
    arrives: bool = True
    is_transferred: bool = False
    recorded_from: int | None = None
    started_at: int | None = None
    rang_at: int | None = None
    first_rang_at: int | None = None
    queued_at: int | None = None
    connected_at: int | None = None
    ended_at: int | None = None
    names_operator_from: int | None = None
    events: list[Event] = field(default_factory=list)

    # -- building ---------------------------------------------------------------------

    def _add_live(self, state: str, at: int, **fields: Any) -> Event:
        last = self.last_live_event
        if last is not None and at <= last.at:
            raise ScenarioError(f"leg {self.call_id}: {state} at {at} not after {last.state}")
        if self.ended_at is not None:
            raise ScenarioError(f"leg {self.call_id}: {state} after hangup")
        event = Event(state, at, dict(fields))
        self.events.append(event)
        return event

    def start(self, at: int) -> Event:
        """`preanswer` (inbound) or `calling` (outbound): the leg's first event."""
        if self.events:
            raise ScenarioError(f"leg {self.call_id} already started")
        self.started_at = at
        return self._add_live("calling" if self.direction == "outbound" else "preanswer", at)

    def ring(self, at: int) -> Event:
        self.rang_at = self.rang_at or at
        return self._add_live("ringing", at)

    def queue(self, at: int) -> Event:
        self.queued_at = self.queued_at or at
        return self._add_live("queued", at)

    def connect(self, at: int) -> Event:
        """First `connected` (answer) or a later one (resume after hold)."""
        resume = self.connected_at is not None
        if not resume:
            self.connected_at = at
        event = self._add_live("connected", at)
        event.is_resume = resume
        return event

    def hold(self, at: int) -> Event:
        if self.connected_at is None:
            raise ScenarioError(f"leg {self.call_id}: hold before connected")
        return self._add_live("hold", at)

    def live(self, state: str, at: int, **fields: Any) -> Event:
        """Any other live state: missed, voicemail, blocked, monitor, barge.

        A supervisor who starts monitoring is connected from then on (`date_connected`).
        """
        if state in ("monitor", "barge", "takeover") and self.connected_at is None:
            self.connected_at = at
        return self._add_live(state, at, **fields)

    def hang_up(self, at: int, *, transferred: bool = False) -> Event:
        event = self._add_live("hangup", at)
        self.ended_at = at
        self.is_transferred = self.is_transferred or transferred
        return event

    def post(self, state: str, at: int, **fields: Any) -> Event:
        """A post-call event (recording, csat, ...), after the leg ended."""
        if self.ended_at is None or at <= self.ended_at:
            raise ScenarioError(f"leg {self.call_id}: {state} must follow the hangup")
        event = Event(state, at, dict(fields))
        self.events.append(event)
        return event

    def name_operator(self, operator_call_id: int, at: int) -> None:
        """From `at` on, this entry point's events carry `operator_call_id`."""
        self.operator_call_id = operator_call_id
        self.names_operator_from = at

    # -- reading ------------------------------------------------------------------------

    @property
    def live_events(self) -> list[Event]:
        return [event for event in self.events if event.is_live]

    @property
    def last_live_event(self) -> Event | None:
        live = self.live_events
        return live[-1] if live else None

    def has_state(self, state: str) -> bool:
        return any(event.state == state for event in self.events)

    @property
    def is_agent_leg(self) -> bool:
        """docs/contract.md §4: operator or direct legs whose target is a user."""
        return self.role in (Role.OPERATOR, Role.DIRECT) and self.target.type == "user"


@dataclass
class Conversation:
    """One customer interaction: the legs of one call graph."""

    flow: str
    legs: list[Leg] = field(default_factory=list)
    quirks: list[str] = field(default_factory=list)

    def add(self, leg: Leg) -> Leg:
        self.legs.append(leg)
        return leg

    def leg(self, call_id: int) -> Leg:
        for leg in self.legs:
            if leg.call_id == call_id:
                return leg
        raise KeyError(call_id)

    @property
    def legs_with_events(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.arrives and leg.events]

    @property
    def event_count(self) -> int:
        return sum(len(leg.events) for leg in self.legs_with_events)

    @property
    def last_event_at(self) -> int:
        return max(event.at for leg in self.legs_with_events for event in leg.events)
