"""MessageBird calls and legs: their timelines and the snapshots the Voice API shows of them.

A MessageBird call is a container of legs (MessageBird, "The structure of a call"). Each status
change of a call or leg is a snapshot of the object at that `updatedAt`; the simulator
records every snapshot the API would show and whether it reaches the landing files, so the
expected marts can be read off the timeline (docs/contract.md §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LEG_STATUS_ORDER = ("starting", "ringing", "ongoing", "final")
FINAL_LEG_STATUSES = frozenset({"busy", "no_answer", "failed", "hangup"})
CALL_STATUS_ORDER = ("queued", "starting", "ongoing", "ended")
SPELLINGS = {"no_answer": "no-answer", "hangup": "completed"}  # other spellings seen in feeds


class ScenarioError(ValueError):
    """A MessageBird scenario was built out of order (a bug in a flow builder)."""


def rfc3339(ms: int, with_ms: bool) -> str:
    """`2026-03-02T10:00:00Z`, or `2026-03-02T10:00:00.123Z` with milliseconds."""
    stamp = EPOCH + timedelta(milliseconds=ms)
    if with_ms:
        return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
    if ms % 1000:
        raise ScenarioError(f"{ms} is not a whole second")
    return f"{stamp:%Y-%m-%dT%H:%M:%S}Z"


@dataclass
class Snapshot:
    """One status of an object at `updated_at`, as the API shows it.

    `spelling` is the status as written in the payload (`no-answer`, `completed` now and
    then); `delivered` is false when no copy of it ever reaches the landing files.
    """

    status: str
    updated_at: int
    spelling: str
    delivered: bool = True
    arrives_late: bool = False  # its only copy lands after a newer snapshot of its object


@dataclass
class MbLeg:
    """One MessageBird leg and its timeline (unix ms UTC)."""

    id: str
    call_id: str
    direction: str  # incoming | outgoing
    source: str
    destination: str
    role: str  # entry_point | operator | direct: what the mapping must make of it
    with_ms: bool
    currency: str
    rate_per_minute: float
    created_at: int = 0
    ringing_at: int | None = None
    answered_at: int | None = None
    ended_at: int | None = None
    final_status: str | None = None
    # when the ongoing snapshot was taken; answered_at is what answeredAt says, which a vendor
    # clock error can put later (even after endedAt: MessageBird's own example leg ends 26 s
    # before it was answered)
    answer_seen_at: int | None = None
    snapshots: list[Snapshot] = field(default_factory=list)

    def _add(self, status: str, at: int, spelling: str | None = None) -> Snapshot:
        if self.snapshots and at < self.snapshots[-1].updated_at:
            raise ScenarioError(f"leg {self.id}: {status} at {at} before {self.snapshots[-1]}")
        if self.final_status is not None and status not in FINAL_LEG_STATUSES:
            raise ScenarioError(f"leg {self.id}: {status} after {self.final_status}")
        snapshot = Snapshot(status, at, spelling or status)
        self.snapshots.append(snapshot)
        return snapshot

    def start(self, at: int) -> Snapshot:
        if self.snapshots:
            raise ScenarioError(f"leg {self.id} already started")
        self.created_at = at
        return self._add("starting", at)

    def ring(self, at: int) -> Snapshot:
        self.ringing_at = at
        return self._add("ringing", at)

    def answer(self, at: int) -> Snapshot:
        self.answer_seen_at = at
        self.answered_at = at
        return self._add("ongoing", at)

    def end(self, status: str, at: int, spelling: str | None = None) -> Snapshot:
        if status not in FINAL_LEG_STATUSES:
            raise ScenarioError(f"leg {self.id}: {status} is not a final status")
        self.ended_at = at
        self.final_status = status
        return self._add(status, at, spelling)

    def restate(self, at: int) -> Snapshot:
        """The final status again, later: the charge was settled after the leg ended."""
        if self.final_status is None or self.ended_at is None or at <= self.ended_at:
            raise ScenarioError(f"leg {self.id}: restated before it ended")
        return self._add(self.final_status, at, self.snapshots[-1].spelling)

    # -- reading ------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The status of its latest snapshot (the one the warehouse keeps)."""
        return self.snapshots[-1].status

    @property
    def is_answered(self) -> bool:
        """docs/contract.md §8: an answeredAt and a status of ongoing or hangup."""
        return self.answered_at is not None and self.status in ("ongoing", "hangup")

    @property
    def has_clock_error(self) -> bool:
        """answeredAt after endedAt: the answer interval ends before it starts."""
        return (
            self.answered_at is not None
            and self.ended_at is not None
            and self.ended_at < self.answered_at
        )

    @property
    def rang_at(self) -> int | None:
        """The updatedAt of the earliest delivered snapshot seen ringing."""
        times = [s.updated_at for s in self.snapshots if s.status == "ringing" and s.delivered]
        return min(times, default=None)

    def duration_s(self) -> int:
        """Billed seconds, from the answer as it happened (the clock error is answeredAt's)."""
        if self.answer_seen_at is None or self.ended_at is None:
            return 0
        return (self.ended_at - self.answer_seen_at) // 1000

    def as_object(self, snapshot: Snapshot) -> dict[str, Any]:
        """The leg as the API shows it at `snapshot` (fields in the API's order)."""
        at = snapshot.updated_at
        final = snapshot.status in FINAL_LEG_STATUSES
        duration = self.duration_s() if final else 0
        answered = (
            self.answered_at
            if self.answer_seen_at is not None and self.answer_seen_at <= at
            else None
        )
        return {
            "id": self.id,
            "callId": self.call_id,
            "source": self.source,
            "destination": self.destination,
            "status": snapshot.spelling,
            "direction": self.direction,
            "cost": round(duration / 60 * self.rate_per_minute, 4) if final else 0,
            "currency": self.currency,
            "duration": duration,
            "createdAt": rfc3339(self.created_at, self.with_ms),
            "updatedAt": rfc3339(at, self.with_ms),
            "answeredAt": None if answered is None else rfc3339(answered, self.with_ms),
            "endedAt": rfc3339(self.ended_at, self.with_ms) if final and self.ended_at else None,
        }


@dataclass
class MbCall:
    """One MessageBird call: the conversation, a container of legs."""

    id: str
    flow: str
    source: str
    destination: str
    number_id: str | None
    with_ms: bool
    arrives: bool = True  # false: no snapshot of the call object ever reaches the files
    # "yes"; "never": only the call object arrives, read from the call history (GET /calls
    # carries no legs); "late": the call object from the history, its legs only in the late file
    legs_arrive: str = "yes"
    created_at: int = 0
    ended_at: int | None = None
    legs: list[MbLeg] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    quirks: list[str] = field(default_factory=list)

    def status(self, status: str, at: int) -> Snapshot:
        if self.snapshots and at < self.snapshots[-1].updated_at:
            raise ScenarioError(f"call {self.id}: {status} before {self.snapshots[-1]}")
        if not self.snapshots:
            self.created_at = at
        if status == "ended":
            self.ended_at = at
        snapshot = Snapshot(status, at, status)
        self.snapshots.append(snapshot)
        return snapshot

    def add(self, leg: MbLeg) -> MbLeg:
        self.legs.append(leg)
        return leg

    def as_object(self, snapshot: Snapshot) -> dict[str, Any]:
        at = snapshot.updated_at
        ended = snapshot.status == "ended"
        return {
            "id": self.id,
            "status": snapshot.spelling,
            "source": self.source,
            "destination": self.destination,
            "numberId": self.number_id,
            "createdAt": rfc3339(self.created_at, self.with_ms),
            "updatedAt": rfc3339(at, self.with_ms),
            "endedAt": rfc3339(self.ended_at, self.with_ms) if ended and self.ended_at else None,
        }

    @property
    def delivered_legs(self) -> list[MbLeg]:
        """The legs that reach the landing files (legs with events, in the marts)."""
        return [] if self.legs_arrive == "never" else self.legs

    @property
    def first_leg(self) -> MbLeg:
        return min(self.legs, key=lambda leg: (leg.created_at, leg.id))

    @property
    def is_inbound(self) -> bool:
        return self.first_leg.direction == "incoming"

    @property
    def last_updated_at(self) -> int:
        """The latest updatedAt of its snapshots that reach the files (its data watermark)."""
        times = [s.updated_at for leg in self.legs for s in leg.snapshots if s.delivered]
        times += [s.updated_at for s in self.snapshots if s.delivered]
        return max(times)
