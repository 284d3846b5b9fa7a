"""MessageBird call flows (MessageBird, "The structure of a call"), one status change at a time.

Inbound: a caller dials one of the company's virtual numbers; the incoming leg rings and is
answered by the platform (the call flow starts), then a transfer step rings agents one after
the other on outgoing legs (busy, no answer, failed, answered), and when the conversation is
over the caller's and the agent's legs hang up within a second of each other and the call
ends. Outbound: an API call is queued, places one outgoing leg to a customer, and ends with
it. Most calls have whole-second timestamps, a fifth of them milliseconds.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.sample.messagebird.model import SPELLINGS, MbCall, MbLeg

SECOND = 1000
MINUTE = 60 * SECOND
CURRENCIES = (("EUR", 0.012), ("USD", 0.015))


@dataclass(frozen=True)
class VirtualNumber:
    """A MessageBird number the company owns (a call flow answers it)."""

    phone: str
    number_id: str


@dataclass
class MbDirectory:
    """The company on MessageBird: its virtual numbers, its agents' phones, its customers."""

    numbers: list[VirtualNumber] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_mb_directory(rng: random.Random) -> MbDirectory:
    """Three virtual numbers, ten agents and 80 customers."""
    directory = MbDirectory()
    used: set[str] = set()

    def phone(prefix: str, digits: int) -> str:
        while True:
            number = f"{prefix}{rng.randint(0, 10**digits - 1):0{digits}d}"
            if number not in used:
                used.add(number)
                return number

    directory.numbers = [VirtualNumber(phone("+3120", 7), new_uuid(rng)) for _ in range(3)]
    directory.agents = [phone("+316", 8) for _ in range(10)]
    directory.customers = [phone(rng.choice(("+3161", "+4915", "+4420")), 7) for _ in range(80)]
    return directory


@dataclass
class MbSim:
    """What every MessageBird flow needs: its own random source and the company."""

    rng: random.Random
    directory: MbDirectory

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def uuid(self) -> str:
        return new_uuid(self.rng)


@dataclass
class Clock:
    """Durations in whole seconds, or in milliseconds for a call with ms timestamps."""

    rng: random.Random
    with_ms: bool

    def align(self, at: int) -> int:
        return at if self.with_ms else at // SECOND * SECOND

    def step(self, low_s: float, high_s: float) -> int:
        if self.with_ms:
            return round(self.rng.uniform(low_s, high_s) * SECOND)
        return self.rng.randint(int(low_s), int(high_s)) * SECOND

    def talk(self) -> int:
        """A conversation: log-normal, median about 2.5 minutes, 15 s to 30 min."""
        value = min(max(self.rng.lognormvariate(11.9, 0.9), 15 * SECOND), 30 * MINUTE)
        return self.align(int(value)) if not self.with_ms else int(value)


def new_call(sim: MbSim, flow: str, inbound: bool) -> tuple[MbCall, Clock]:
    with_ms = sim.chance(0.2)
    customer = sim.rng.choice(sim.directory.customers)
    number = sim.rng.choice(sim.directory.numbers)
    if inbound:
        call = MbCall(sim.uuid(), flow, customer, number.phone, number.number_id, with_ms)
    else:
        call = MbCall(sim.uuid(), flow, number.phone, customer, None, with_ms)
    if with_ms:
        call.quirks.append("ms_timestamps")
    return call, Clock(sim.rng, with_ms)


def new_leg(
    sim: MbSim, call: MbCall, direction: str, source: str, destination: str, role: str
) -> MbLeg:
    currency, rate = sim.rng.choice(CURRENCIES)
    leg = MbLeg(
        sim.uuid(), call.id, direction, source, destination, role, call.with_ms, currency, rate
    )
    return call.add(leg)


def spelled(sim: MbSim, call: MbCall, status: str) -> str:
    """`no-answer` for half the no_answer snapshots, `completed` for a fifth of the hangups."""
    if status in SPELLINGS and sim.chance(0.5 if status == "no_answer" else 0.2):
        call.quirks.append(f"status_spelled_{SPELLINGS[status]}")
        return SPELLINGS[status]
    return status


# -- building blocks -----------------------------------------------------------------------


def caller_leg(sim: MbSim, call: MbCall, clock: Clock, at: int) -> tuple[MbLeg, int]:
    """The call object starts, the caller's incoming leg rings and the flow answers it."""
    t = clock.align(at)
    call.status("starting", t)
    leg = new_leg(sim, call, "incoming", call.source, call.destination, "entry_point")
    leg.start(t + (clock.step(0, 0.3) if clock.with_ms else 0))
    leg.ring(leg.created_at + clock.step(0, 1))
    t = (leg.ringing_at or t) + clock.step(1, 3)
    leg.answer(t)
    call.status("ongoing", t)
    return leg, t


def agent_leg(sim: MbSim, call: MbCall, clock: Clock, at: int, fate: str, agent: str) -> MbLeg:
    """The transfer step rings `agent` on an outgoing leg: answered, no_answer, busy, failed,
    or `ringing` (left ringing: the call is still in progress)."""
    source = call.destination if sim.chance(0.7) else call.source  # number or caller id shown
    leg = new_leg(sim, call, "outgoing", source, agent, "operator")
    leg.start(at)
    if fate == "failed":
        leg.end("failed", at + clock.step(0, 2))
        return leg
    if fate == "busy":
        leg.end("busy", at + clock.step(1, 3))
        return leg
    leg.ring(at + clock.step(0, 2))
    ringing = leg.ringing_at or at
    if fate == "no_answer":
        leg.end("no_answer", ringing + clock.step(15, 30), spelled(sim, call, "no_answer"))
    elif fate == "answered":
        leg.answer(ringing + clock.step(3, 20))
    return leg


def hang_up_together(sim: MbSim, call: MbCall, clock: Clock, legs: list[MbLeg], at: int) -> int:
    """Caller and agent hang up within a second of each other; the call ends after them."""
    order = legs[:] if sim.chance(0.5) else legs[::-1]
    t = at
    for leg in order:
        leg.end("hangup", t, spelled(sim, call, "hangup"))
        t += clock.step(0, 1)
    end = max(leg.ended_at or at for leg in legs) + clock.step(0, 1)
    call.status("ended", end)
    return end


def agents(sim: MbSim, count: int) -> list[str]:
    return sim.rng.sample(sim.directory.agents, count)


def unanswered_fate(sim: MbSim) -> str:
    return sim.rng.choice(("no_answer", "no_answer", "busy", "failed"))


# -- flows ---------------------------------------------------------------------------------


def inbound_answered(sim: MbSim, at: int) -> MbCall:
    """A caller dials a virtual number; the first agent rung answers."""
    call, clock = new_call(sim, "messagebird_inbound_answered", inbound=True)
    caller, t = caller_leg(sim, call, clock, at)
    agent = agent_leg(sim, call, clock, t + clock.step(2, 12), "answered", agents(sim, 1)[0])
    hang_up_together(sim, call, clock, [caller, agent], (agent.answered_at or t) + clock.talk())
    return call


def inbound_clock_error(sim: MbSim, at: int) -> MbCall:
    """A short answered call whose agent leg reports an answeredAt 26 s after its endedAt
    (the vendor clock error of MessageBird's own API example leg); the answer really happened
    (its ongoing snapshot is taken then), only the reported time is wrong. Whole seconds,
    like the example."""
    call, clock = new_call(sim, "messagebird_inbound_clock_error", inbound=True)
    if call.with_ms:  # whole seconds, like the example (the draw above stays the same)
        call.with_ms, clock.with_ms = False, False
        call.quirks.remove("ms_timestamps")
    caller, t = caller_leg(sim, call, clock, at)
    agent = agent_leg(sim, call, clock, t + clock.step(2, 12), "answered", agents(sim, 1)[0])
    talk = clock.step(5, 20)
    hang_up_together(sim, call, clock, [caller, agent], (agent.answered_at or t) + talk)
    agent.answered_at = (agent.ended_at or 0) + 26 * SECOND  # what answeredAt says
    call.quirks.append("answered_after_it_ended")
    return call


def inbound_agents_in_turn(sim: MbSim, at: int) -> MbCall:
    """One or two agents do not pick up (busy, no answer, failed); the next one answers."""
    call, clock = new_call(sim, "messagebird_inbound_agents_in_turn", inbound=True)
    caller, t = caller_leg(sim, call, clock, at)
    names = agents(sim, sim.rng.choice((2, 2, 3)))
    t += clock.step(2, 12)
    for name in names[:-1]:
        leg = agent_leg(sim, call, clock, t, unanswered_fate(sim), name)
        t = (leg.ended_at or t) + clock.step(1, 3)
    agent = agent_leg(sim, call, clock, t, "answered", names[-1])
    hang_up_together(sim, call, clock, [caller, agent], (agent.answered_at or t) + clock.talk())
    return call


def inbound_transfer(sim: MbSim, at: int) -> MbCall:
    """The first agent answers, then hands the caller on to a second (now and then a third)
    agent, who answers; a colleague who does not pick up may come in between."""
    call, clock = new_call(sim, "messagebird_inbound_transfer", inbound=True)
    caller, t = caller_leg(sim, call, clock, at)
    hops = 3 if sim.chance(0.25) else 2
    names = agents(sim, hops + 1)
    t += clock.step(2, 12)
    agent = agent_leg(sim, call, clock, t, "answered", names[0])
    for hop in range(1, hops):
        t = (agent.answered_at or t) + clock.talk()
        agent.end("hangup", t, spelled(sim, call, "hangup"))
        t += clock.step(1, 3)
        if sim.chance(0.3):
            missed = agent_leg(sim, call, clock, t, unanswered_fate(sim), names[hops])
            t = (missed.ended_at or t) + clock.step(1, 3)
        agent = agent_leg(sim, call, clock, t, "answered", names[hop])
    hang_up_together(sim, call, clock, [caller, agent], (agent.answered_at or t) + clock.talk())
    return call


def inbound_missed(sim: MbSim, at: int) -> MbCall:
    """Nobody picks up; the caller gives up (sometimes while an agent's phone still rings:
    that agent leg hangs up unanswered)."""
    call, clock = new_call(sim, "messagebird_inbound_missed", inbound=True)
    caller, t = caller_leg(sim, call, clock, at)
    names = agents(sim, sim.rng.choice((1, 2, 3)))
    t += clock.step(2, 12)
    for name in names[:-1]:
        leg = agent_leg(sim, call, clock, t, unanswered_fate(sim), name)
        t = (leg.ended_at or t) + clock.step(1, 3)
    if sim.chance(0.35):
        last = agent_leg(sim, call, clock, t, "ringing", names[-1])
        t = (last.ringing_at or t) + clock.step(4, 12)
        call.quirks.append("caller_hung_up_while_agent_rang")
        hang_up_together(sim, call, clock, [caller, last], t)
        return call
    last = agent_leg(sim, call, clock, t, unanswered_fate(sim), names[-1])
    t = (last.ended_at or t) + clock.step(2, 20)
    caller.end("hangup", t, spelled(sim, call, "hangup"))
    call.status("ended", t + clock.step(0, 1))
    return call


def inbound_abandoned(sim: MbSim, at: int) -> MbCall:
    """The caller hangs up during the greeting, before the flow rang any agent."""
    call, clock = new_call(sim, "messagebird_inbound_abandoned", inbound=True)
    caller, t = caller_leg(sim, call, clock, at)
    t += clock.step(4, 40)
    caller.end("hangup", t, spelled(sim, call, "hangup"))
    call.status("ended", t + clock.step(0, 1))
    return call


def outbound_call(sim: MbSim, at: int, flow: str, fate: str) -> MbCall:
    """An API call: queued, then one outgoing leg to the customer."""
    call, clock = new_call(sim, flow, inbound=False)
    t = clock.align(at)
    call.status("queued", t)
    t += clock.step(0, 2)
    call.status("starting", t)
    leg = new_leg(sim, call, "outgoing", call.source, call.destination, "direct")
    leg.start(t)
    if fate in ("busy", "failed"):
        t += clock.step(0, 2) if fate == "failed" else clock.step(1, 4)
        leg.end(fate, t)
        call.status("ended", t + clock.step(0, 1))
        return call
    leg.ring(t + clock.step(1, 3))
    t = (leg.ringing_at or t) + clock.step(4, 25)
    if fate == "no_answer":
        t += clock.step(15, 25)
        leg.end("no_answer", t, spelled(sim, call, "no_answer"))
        call.status("ended", t + clock.step(0, 1))
        return call
    leg.answer(t)
    call.status("ongoing", t)
    t += clock.talk()
    leg.end("hangup", t, spelled(sim, call, "hangup"))
    call.status("ended", t + clock.step(0, 1))
    return call


def outbound_answered(sim: MbSim, at: int) -> MbCall:
    return outbound_call(sim, at, "messagebird_outbound_answered", "answered")


def outbound_unanswered(sim: MbSim, at: int) -> MbCall:
    return outbound_call(sim, at, "messagebird_outbound_unanswered", unanswered_fate(sim))


# -- calls still in progress at the end of the data -------------------------------------


def in_progress_talking(sim: MbSim, at: int) -> MbCall:
    call, clock = new_call(sim, "messagebird_in_progress_talking", inbound=True)
    _, t = caller_leg(sim, call, clock, at)
    agent_leg(sim, call, clock, t + clock.step(2, 12), "answered", agents(sim, 1)[0])
    return call


def in_progress_history(sim: MbSim, at: int) -> MbCall:
    """A call in progress whose legs never arrive: only a history read (GET /calls) of the
    call object, still `ongoing`."""
    call = in_progress_talking(sim, at)
    call.flow = "messagebird_in_progress_history"
    call.legs_arrive = "never"
    return call


def in_progress_ringing(sim: MbSim, at: int) -> MbCall:
    call, clock = new_call(sim, "messagebird_in_progress_ringing", inbound=True)
    _, t = caller_leg(sim, call, clock, at)
    t += clock.step(2, 12)
    first = agent_leg(sim, call, clock, t, "busy", agents(sim, 1)[0])
    t = (first.ended_at or t) + clock.step(1, 3)
    agent_leg(sim, call, clock, t, "ringing", agents(sim, 1)[0])
    return call


MbFlow = Callable[[MbSim, int], MbCall]

MB_FLOWS: dict[str, tuple[MbFlow, float]] = {
    "messagebird_inbound_answered": (inbound_answered, 12),
    "messagebird_inbound_agents_in_turn": (inbound_agents_in_turn, 6),
    "messagebird_inbound_transfer": (inbound_transfer, 4),
    "messagebird_inbound_missed": (inbound_missed, 5),
    "messagebird_inbound_abandoned": (inbound_abandoned, 3),
    "messagebird_outbound_answered": (outbound_answered, 8),
    "messagebird_outbound_unanswered": (outbound_unanswered, 5),
}
MB_IN_PROGRESS_FLOWS: dict[str, MbFlow] = {
    "messagebird_in_progress_talking": in_progress_talking,
    "messagebird_in_progress_ringing": in_progress_ringing,
    "messagebird_in_progress_history": in_progress_history,
}
# built once each, at a random time of the window, besides the weighted flows
MB_ONCE_FLOWS: dict[str, MbFlow] = {
    "messagebird_inbound_clock_error": inbound_clock_error,
}


# -- what reaches the landing files ------------------------------------------------------

LOSS = {"starting": 0.2, "ringing": 0.15, "ongoing": 0.1, "queued": 0.2}


def assign_deliveries(sim: MbSim, call: MbCall) -> None:
    """Which snapshots never arrive, which arrive only after a newer one, and which legs'
    charge is settled in a later snapshot. An object's latest snapshot always arrives
    (unless the whole call object never does). A call read from the history (its legs never
    arrive, or arrive late) arrives as its latest snapshot alone; legs that never arrive
    have no snapshot delivered at all."""
    if call.legs_arrive != "yes":
        for snapshot in call.snapshots[:-1]:
            snapshot.delivered = False
    if call.legs_arrive == "never":
        for leg in call.legs:
            for snapshot in leg.snapshots:
                snapshot.delivered = False
        return
    for leg in call.legs:
        if leg.final_status is not None and sim.chance(0.2):
            leg.restate((leg.ended_at or 0) + Clock(sim.rng, call.with_ms).step(30, 300))
            call.quirks.append("charge_settled_later")
    objects = [leg.snapshots for leg in call.legs]
    if call.arrives:
        if call.legs_arrive == "yes":  # a history read is the latest snapshot alone
            objects.append(call.snapshots)
    else:
        for snapshot in call.snapshots:
            snapshot.delivered = False
    for snapshots in objects:
        for snapshot in snapshots[:-1]:
            if sim.chance(LOSS.get(snapshot.status, 0.0)):
                snapshot.delivered = False
                call.quirks.append(f"{snapshot.status}_snapshot_lost")
    for leg in call.legs if call.legs_arrive == "yes" else []:  # late legs are all late
        earlier = [s for s in leg.snapshots[:-1] if s.delivered]
        if earlier and sim.chance(0.1):
            earlier[0].arrives_late = True
            call.quirks.append("older_snapshot_arrives_later")
    for snapshots in objects:
        times = [s.updated_at for s in snapshots if s.delivered]
        if len(times) != len(set(times)):
            call.quirks.append("updated_at_tie")


# -- the whole traffic ------------------------------------------------------------------


def start_time(sim: MbSim, first_at: int, last_at: int) -> int:
    """A start in [first_at, last_at], three times likelier by day (08-20 UTC) than by night."""
    while True:
        at = sim.rng.randint(first_at, last_at)
        if 8 <= at // 3_600_000 % 24 < 20 or sim.chance(1 / 3):
            return at


def choose_flow(sim: MbSim, index: int, seen: set[str]) -> str:
    """Every other call is a flow not seen yet, until all have been; else by weight."""
    unseen = [name for name in MB_FLOWS if name not in seen]
    if unseen and index % 2 == 0:
        return unseen[0]
    names = list(MB_FLOWS)
    return sim.rng.choices(names, [MB_FLOWS[name][1] for name in names])[0]


def choose_history_calls(sim: MbSim, finished: list[MbCall]) -> None:
    """About 5% of the finished calls whose object arrives come from the call history alone
    (GET /calls carries no legs; theirs never arrive), about 5% from the history with their
    legs in the late file; at least one of each."""
    candidates = [call for call in finished if call.arrives]
    for call in candidates:
        draw = sim.rng.random()
        if draw < 0.05:
            call.legs_arrive = "never"
        elif draw < 0.1:
            call.legs_arrive = "late"
    for fate in ("never", "late"):
        plain = [call for call in candidates if call.legs_arrive == "yes"]
        if plain and not any(call.legs_arrive == fate for call in candidates):
            plain[len(plain) // 2].legs_arrive = fate


def build_calls(sim: MbSim, count: int, first_at: int, last_at: int, open_at: int) -> list[MbCall]:
    """`count` finished calls starting between first_at and last_at (and one of each flow of
    MB_ONCE_FLOWS among them), then the calls still in progress from open_at; about 8% of the
    finished calls' objects never arrive (only their legs do), about 15% of the inbound ones
    carry no numberId, and about 10% come from the call history (choose_history_calls)."""
    calls: list[MbCall] = []
    seen: set[str] = set()
    for index, at in enumerate(sorted(start_time(sim, first_at, last_at) for _ in range(count))):
        name = choose_flow(sim, index, seen)
        seen.add(name)
        calls.append(MB_FLOWS[name][0](sim, at))
    finished = list(calls)
    for flow in MB_IN_PROGRESS_FLOWS.values():
        calls.append(flow(sim, open_at))
        open_at += sim.rng.randint(20_000, 120_000)
    for call in finished:
        if sim.chance(0.08):
            call.arrives = False
    for inbound in (True, False):  # at least one of each direction, whatever the dice say
        same = [call for call in finished if call.is_inbound == inbound]
        if same and not any(not call.arrives for call in same):
            same[len(same) // 2].arrives = False
    choose_history_calls(sim, finished)
    once = [flow(sim, start_time(sim, first_at, last_at)) for flow in MB_ONCE_FLOWS.values()]
    calls += once
    finished += once
    inbound_calls = [call for call in finished if call.is_inbound and call.arrives]
    for call in inbound_calls:
        if sim.chance(0.15) or call is inbound_calls[-1]:
            call.number_id = None
    for call in calls:
        if not call.arrives:
            call.quirks.append("call_object_missing")
        elif call.is_inbound and call.number_id is None and call.legs_arrive != "never":
            call.quirks.append("number_id_missing")
        if call.legs_arrive != "yes":
            call.quirks.append("call_read_from_history")
            call.quirks.append(
                {"never": "legs_never_arrive", "late": "legs_arrive_late"}[call.legs_arrive]
            )
        assign_deliveries(sim, call)
    return calls
