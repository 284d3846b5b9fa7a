"""Dialpad call flows ("call graphs"), built one state change at a time.

Each flow function takes a `Sim` (random source, id allocator, directory) and a start
time, and returns a `Conversation` whose legs carry their events and timelines. Timings
follow the seed's Call Flow Structure: an entry point rings while the call center looks
for an operator, the operator connects before the entry point, both hang up within
300 ms of each other; a transfer hangs up the old legs and starts new ones whose
`master_call_id` is the very first leg of the conversation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ingest.sample.directory import CallCenter, Directory, Ids
from ingest.sample.model import (
    POST_CALL_STATES,
    Contact,
    Conversation,
    Event,
    Leg,
    Role,
    Target,
    TimeSource,
)

SECOND = 1000
MINUTE = 60 * SECOND

RECAPS = (
    "Caller asked about a late delivery; the agent confirmed a new shipping date.",
    "Customer wanted to upgrade their plan; agent explained pricing and sent a quote.",
    "Billing question about a duplicate charge; refund issued during the call.",
    "Caller reported a login problem; agent reset the password and verified access.",
    "Connor and Victoria greet each other and discuss the weather, then the invoice.",
)


@dataclass
class Sim:
    """What every flow needs: one random source, the id allocator and the company."""

    rng: random.Random
    ids: Ids
    directory: Directory

    def ms(self, low_s: float, high_s: float) -> int:
        """A random duration between low_s and high_s seconds, in ms (at least 1)."""
        return max(1, round(self.rng.uniform(low_s, high_s) * SECOND))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def talk_ms(self) -> int:
        """A conversation length: log-normal, median about 3 minutes, 20 s to 40 min."""
        value = self.rng.lognormvariate(12.1, 0.9)
        return int(min(max(value, 20 * SECOND), 40 * MINUTE))

    def contact(self) -> Contact:
        return self.rng.choice(self.directory.contacts)

    def agent(self) -> Target:
        return self.rng.choice(self.directory.agents)

    def call_center(self, exclude: tuple[CallCenter, ...] = ()) -> CallCenter:
        return self.rng.choice([cc for cc in self.directory.call_centers if cc not in exclude])

    def leg(
        self, role: Role, direction: str, target: Target, contact: Contact, **kw: object
    ) -> Leg:
        return Leg(self.ids.new(), role, direction, target, contact, **kw)  # type: ignore[arg-type]


# -- building blocks -----------------------------------------------------------------


def hold_once(sim: Sim, agent: Leg, entry_point: Leg | None, at: int, *, resume: bool) -> int:
    """One hold (and, if `resume`, its resume); returns the time it is over.

    The hold lands on the agent leg, on the entry point it operates, or on both a few ms
    apart: the agent leg's hold is the union either way.
    """
    where = "agent"
    if entry_point is not None and entry_point.connected_at is not None:
        where = sim.rng.choice(("agent", "both", "both", "entry_point"))
    length = sim.ms(8, 150)
    skew = sim.rng.randint(5, 80)
    if where in ("agent", "both"):
        agent.hold(at)
    if where in ("entry_point", "both") and entry_point is not None:
        entry_point.hold(at + (skew if where == "both" else 0))
    if not resume:
        return at + length
    if where in ("agent", "both"):
        agent.connect(at + length)
    if where in ("entry_point", "both") and entry_point is not None:
        entry_point.connect(at + length + (skew if where == "both" else 0))
    return at + length + skew


def talk(sim: Sim, agent: Leg, at: int, entry_point: Leg | None = None, holds: bool = True) -> int:
    """The conversation on a connected agent leg from `at`; returns when someone hangs up.

    About a third of the calls put the caller on hold once or twice; now and then the
    caller hangs up while on hold (the hold then runs to the end of the leg).
    """
    t = at
    if holds and sim.chance(0.3):
        for _ in range(sim.rng.choice((1, 1, 2))):
            t = hold_once(sim, agent, entry_point, t + sim.ms(10, 200), resume=True)
        if sim.chance(0.15):
            return hold_once(sim, agent, entry_point, t + sim.ms(10, 120), resume=False)
    return t + sim.talk_ms()


def hang_up_pair(sim: Sim, operator: Leg, entry_point: Leg, at: int, transferred: bool) -> int:
    """Operator and entry point hang up "almost simultaneously" (0-300 ms apart)."""
    gap = sim.rng.randint(0, 300)
    first, second = (operator, entry_point) if sim.chance(0.5) else (entry_point, operator)
    flags = sim.rng.choice(("both", "both", "both", "entry_point", "operator"))
    first.hang_up(at, transferred=transferred and flags in ("both", first.role.value))
    second.hang_up(at + gap, transferred=transferred and flags in ("both", second.role.value))
    return at + gap


def ring_agents(sim: Sim, conv: Conversation, cc: CallCenter, ep: Leg, at: int) -> list[Leg]:
    """Fan-out: ring 2-4 members of the call center, each on its own leg."""
    legs = []
    for i, agent in enumerate(sim.rng.sample(cc.members, sim.rng.randint(2, 4))):
        leg = conv.add(
            sim.leg(
                Role.RING_ATTEMPT, "inbound", agent, ep.contact, group_id=cc.target.group_id,
                entry_point_target=cc.target, entry_point_call_id=ep.call_id,
                master_call_id=ep.master_call_id,
            )
        )  # fmt: skip
        start = at + i * sim.rng.randint(20, 200)
        leg.start(start)
        leg.ring(start + sim.ms(0.2, 0.6))
        legs.append(leg)
    ep.first_rang_at = min(leg.rang_at or at for leg in legs)
    return legs


def stop_ringing(sim: Sim, legs: list[Leg], at: int) -> None:
    """Ring attempts nobody answered: `missed` (sometimes) then `hangup`."""
    for leg in legs:
        t = at + sim.rng.randint(20, 200)
        if sim.chance(0.5):
            leg.live("missed", t)
            t += sim.rng.randint(5, 100)
        leg.hang_up(t)


def add_monitor(sim: Sim, conv: Conversation, ep: Leg, start: int, end: int) -> None:
    """A supervisor listens in (sometimes barges in) on the entry point."""
    supervisor = sim.rng.choice(sim.directory.supervisors)
    leg = conv.add(
        sim.leg(Role.MONITOR, "outbound", supervisor, ep.contact, entry_point_call_id=ep.call_id)
    )
    t = start + sim.ms(1, max(1.5, (end - start) / SECOND / 3))
    leg.start(t)
    t += sim.ms(0.3, 1.0)
    leg.live("monitor", t)
    if sim.chance(0.35) and end - t > 4 * SECOND:
        t += sim.ms(1, (end - t) / SECOND / 2)
        leg.live("barge", t)
    leg.hang_up(max(t + 1, end - sim.rng.randint(0, 3000) + sim.rng.randint(0, 500)))
    conv.quirks.append("barge" if leg.has_state("barge") else "monitor")


@dataclass
class Hop:
    """One offer to a call center: its entry point and, if answered, its operator leg."""

    entry_point: Leg
    operator: Leg | None
    end: int


def call_center_hop(
    sim: Sim,
    conv: Conversation,
    cc: CallCenter,
    contact: Contact,
    at: int,
    *,
    master: int | None = None,
    queued: bool = False,
    fate: str = "answered",
    transfer_out: bool = False,
    monitor: bool = False,
    quirk: str | None = None,
) -> Hop:
    """An entry point to `cc`, its ring attempts and (unless abandoned) its operator.

    fate: answered, in_progress, abandoned (before any agent rang), abandoned_after_ring,
    voicemail. quirk: operator_events_missing, operator_without_entry_point_ref,
    entry_point_names_no_operator (answered hops without transfer or monitor only).
    """
    ep = conv.add(
        sim.leg(
            Role.ENTRY_POINT, "inbound", cc.target, contact, group_id=cc.target.group_id,
            entry_point_target=cc.target, master_call_id=master,
        )
    )  # fmt: skip
    ep.start(at)
    t = at + sim.ms(0.3, 1.5)
    ep.ring(t)
    if queued:
        t += sim.ms(0.5, 3)
        ep.queue(t)
    if fate == "abandoned":
        t += sim.ms(5, 300)
        ep.hang_up(t)
        return Hop(ep, None, t)
    ring_attempts = ring_agents(
        sim, conv, cc, ep, t + (sim.ms(10, 360) if queued else sim.ms(1, 6))
    )
    rung = max(leg.rang_at or t for leg in ring_attempts)
    if fate == "abandoned_after_ring":
        t = rung + sim.ms(5, 60)
        ep.hang_up(t)
        stop_ringing(sim, ring_attempts, t)
        return Hop(ep, None, t)
    if fate == "voicemail":
        t = rung + sim.ms(15, 30)
        ep.live("voicemail", t, voicemail_link=f"https://dialpad.com/v/{ep.call_id}")
        stop_ringing(sim, ring_attempts, t)
        t += sim.ms(10, 90)
        ep.hang_up(t)
        add_voicemail_post(sim, ep)
        return Hop(ep, None, t)
    operator = sim.rng.choice(ring_attempts)
    operator.role = Role.OPERATOR
    answered = rung + sim.ms(2, 20)
    operator.connect(answered)
    ep_connected = answered + sim.ms(0.1, 1.5)
    ep.connect(ep_connected)
    if quirk != "entry_point_names_no_operator":
        ep.name_operator(operator.call_id, ep_connected)
    if quirk == "operator_events_missing":
        operator.arrives = False
    if quirk == "operator_without_entry_point_ref":
        operator.entry_point_call_id = None
    if quirk:
        conv.quirks.append(quirk)
    stop_ringing(sim, [leg for leg in ring_attempts if leg is not operator], answered)
    if fate == "in_progress":
        return Hop(ep, operator, ep_connected)
    holds = quirk is None
    end = talk(sim, operator, ep_connected, ep if holds else None, holds=holds)
    end = hang_up_pair(sim, operator, ep, end, transfer_out)
    if monitor:
        add_monitor(sim, conv, ep, ep_connected, end)
    return Hop(ep, operator, end)


def add_voicemail_post(sim: Sim, leg: Leg) -> None:
    """voicemail_uploaded then transcription, after the hangup."""
    assert leg.ended_at is not None
    link = f"https://dialpad.com/v/{leg.call_id}"
    details = [
        {
            "id": sim.ids.new(),
            "url": link,
            "duration": float(sim.rng.randint(5_000, 60_000)),
            "start_time": leg.ended_at - sim.rng.randint(5_000, 60_000),
            "recording_type": "voicemail",
        }
    ]
    t = leg.ended_at + sim.ms(5, 60)
    leg.post("voicemail_uploaded", t, voicemail_link=link, recording_details=details)
    text = sim.rng.choice(("", "Hi, please call me back about my order.", "It's about the bill."))
    leg.post("transcription", t + sim.ms(20, 120), voicemail_link=link, transcription_text=text)


# -- post-call annotations -------------------------------------------------------------


def add_recordings(sim: Sim, conv: Conversation) -> None:
    """Record the connected agent legs: `recording` events with recording_details.

    The entry point an operator serves repeats the same recording ids (one recording).
    In a quarter of the recorded calls every event carries recording_url only.
    """
    agents = [leg for leg in conv.legs_with_events if leg.is_agent_leg and leg.ended_at]
    agents = [leg for leg in agents if leg.connected_at is not None]
    if not agents:
        return
    urls_only = sim.chance(0.25)
    conv.quirks.append("recording_url_only" if urls_only else "recording_details")
    for agent in agents:
        assert agent.connected_at is not None and agent.ended_at is not None
        agent.recorded_from = agent.connected_at + sim.rng.randint(50, 2000)
        details = [
            {
                "id": sim.ids.new(),
                "url": f"https://dialpad.com/r/{sim.ids.new()}",
                "duration": float(agent.ended_at - agent.recorded_from),
                "start_time": agent.recorded_from,
                "recording_type": "admincallrecording" if sim.chance(0.1) else "callrecording",
            }
            for _ in range(sim.rng.choice((1, 1, 1, 2)))
        ]
        mirrors = [agent]
        entry_point = operated_entry_point(conv, agent)
        if entry_point is not None and entry_point.ended_at and sim.chance(0.5):
            entry_point.recorded_from = agent.recorded_from
            mirrors.append(entry_point)
        for leg in mirrors:
            assert leg.ended_at is not None
            fields: dict[str, object] = {"recording_url": [d["url"] for d in details]}
            if not urls_only:
                fields["recording_details"] = details
            if sim.chance(0.15):
                fields.update(conflicting_history(sim, leg))
                conv.quirks.append("post_call_conflicting_history")
            leg.post("recording", leg.ended_at + sim.ms(30, 300), **fields)


def conflicting_history(sim: Sim, leg: Leg) -> dict[str, object]:
    """Like the seed's recording samples: other dates and another direction."""
    shift = sim.rng.randint(-90 * MINUTE, 90 * MINUTE)
    return {
        "direction": "inbound" if leg.direction == "outbound" else "outbound",
        "date_started": (leg.started_at or 0) + shift,
        "date_connected": None if leg.connected_at is None else leg.connected_at + shift,
        "date_ended": (leg.ended_at or 0) + shift,
    }


def operated_entry_point(conv: Conversation, leg: Leg) -> Leg | None:
    """The entry point that names `leg` as its operator."""
    for other in conv.legs:
        if other.role is Role.ENTRY_POINT and other.operator_call_id == leg.call_id:
            return other
    return None


def add_annotations(sim: Sim, conv: Conversation) -> None:
    """csat, recap and the other post-call events of an answered, finished conversation."""
    agents = [
        leg
        for leg in conv.legs_with_events
        if leg.is_agent_leg and leg.connected_at is not None and leg.ended_at is not None
    ]
    if not agents:
        return
    last = max(agents, key=lambda leg: leg.connected_at or 0)
    first_leg = min(conv.legs_with_events, key=lambda leg: (leg.started_at or 0, leg.call_id))
    end = max(leg.ended_at or 0 for leg in conv.legs_with_events)
    if sim.chance(0.3):
        add_recordings(sim, conv)
    if sim.chance(0.25):
        leg = sim.rng.choice((first_leg, last))
        t = end + sim.ms(60, 600)
        leg.post("csat", t, **csat_fields(sim))
        if sim.chance(0.15):
            leg.post("csat", t + sim.ms(60, 600), **csat_fields(sim))
            conv.quirks.append("csat_twice")
    if sim.chance(0.3):
        t = end + sim.ms(60, 300)
        last.post("recap_summary", t, recap_summary=sim.rng.choice(RECAPS))
        if sim.chance(0.4):
            last.post("recap_outcome", t + 1, recap_outcome="Resolved")
            last.post("recap_action_items", t + 2, recap_action_items=["Send follow-up email"])
    if sim.chance(0.1):
        last.post("pcsat", end + sim.ms(60, 600), pcsat_score=sim.rng.randint(1, 5))
    if sim.chance(0.05):
        last.post("dispositions", end + sim.ms(5, 60), call_dispositions=[{"name": "Sale"}])
    if sim.chance(0.03):
        last.post("ai_scorecard", end + sim.ms(60, 600), ai_scorecard={"score": 0.8})
        conv.quirks.append("unknown_state")


def csat_fields(sim: Sim) -> dict[str, object]:
    score = sim.rng.randint(1, 5)
    return {
        "csat_score": str(score) if sim.chance(0.3) else score,
        "csat_recording_urls": [],
        "csat_transcriptions": [sim.rng.choice(("Great help", "Too long on hold", ""))],
    }


# -- flows --------------------------------------------------------------------------------


def direct_inbound(sim: Sim, at: int) -> Conversation:
    """A caller dials a user: preanswer, ringing, connected, hangup."""
    conv = Conversation("direct_inbound")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.5))
    leg.connect((leg.rang_at or at) + sim.ms(3, 25))
    if sim.chance(0.08):
        end = unknown_hold(sim, conv, leg, leg.connected_at or at)
    else:
        end = talk(sim, leg, leg.connected_at or at)
    leg.hang_up(end)
    add_annotations(sim, conv)
    return conv


def unknown_hold(sim: Sim, conv: Conversation, leg: Leg, at: int) -> int:
    """A hold (and resume) whose hold event lacks event_timestamp: its time is unknown.

    Its fallback time is the latest date in its payload (date_connected), so the leg's
    hold_ms is unknown (null) and its talk_ms is its handle time. The leg has no other hold.
    """
    t = at + sim.ms(5, 60)
    leg.hold(t).time_source = TimeSource.FALLBACK
    t += sim.ms(10, 90)
    leg.connect(t)
    conv.quirks.append("unknown_hold")
    return t + sim.talk_ms() // 3


def direct_outbound(sim: Sim, at: int) -> Conversation:
    """A user calls out: calling, connected, hangup."""
    conv = Conversation("direct_outbound")
    leg = conv.add(outbound_leg(sim))
    leg.start(at)
    leg.connect(at + sim.ms(5, 30))
    if sim.chance(0.05):
        end = unknown_hold(sim, conv, leg, leg.connected_at or at)
    else:
        end = talk(sim, leg, leg.connected_at or at)
    leg.hang_up(end)
    add_annotations(sim, conv)
    return conv


def outbound_leg(sim: Sim) -> Leg:
    proxy = sim.call_center().target if sim.chance(0.2) else None
    return sim.leg(Role.DIRECT, "outbound", sim.agent(), sim.contact(), proxy_target=proxy)


def outbound_unanswered(sim: Sim, at: int) -> Conversation:
    """A user calls out and nobody picks up: calling, hangup."""
    conv = Conversation("outbound_unanswered")
    leg = conv.add(outbound_leg(sim))
    leg.start(at)
    leg.hang_up(at + sim.ms(8, 45))
    return conv


def missed_inbound(sim: Sim, at: int) -> Conversation:
    """A caller rings a user who does not answer: ringing, missed, hangup."""
    conv = Conversation("missed_inbound")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.5))
    t = (leg.rang_at or at) + sim.ms(15, 30)
    leg.live("missed", t)
    leg.hang_up(t + sim.rng.randint(10, 500))
    return conv


def voicemail_inbound(sim: Sim, at: int) -> Conversation:
    """A caller leaves a voicemail: ringing, voicemail, hangup, uploaded, transcription."""
    conv = Conversation("voicemail_inbound")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.5))
    t = (leg.rang_at or at) + sim.ms(15, 25)
    leg.live("voicemail", t, voicemail_link=f"https://dialpad.com/v/{leg.call_id}")
    leg.hang_up(t + sim.ms(10, 90))
    add_voicemail_post(sim, leg)
    return conv


def blocked_inbound(sim: Sim, at: int) -> Conversation:
    """A blocked number: blocked, hangup."""
    conv = Conversation("blocked_inbound")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    t = at + sim.ms(0.1, 0.6)
    leg.live("blocked", t)
    leg.hang_up(t + sim.rng.randint(10, 100))
    return conv


def operator_call(sim: Sim, at: int) -> Conversation:
    """A caller dials a call center; one of the rung agents answers."""
    conv = Conversation("operator")
    quirk = sim.rng.choice(
        (
            None, None, None, None, None, None, None,
            "operator_events_missing", "operator_without_entry_point_ref",
            "entry_point_names_no_operator",
        )
    )  # fmt: skip
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, quirk=quirk)
    add_annotations(sim, conv)
    return conv


def monitored_call(sim: Sim, at: int) -> Conversation:
    """An operator call that a supervisor monitors (or barges into)."""
    conv = Conversation("monitored")
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, monitor=True)
    add_annotations(sim, conv)
    return conv


def queued_answered(sim: Sim, at: int) -> Conversation:
    conv = Conversation("queued_answered")
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, queued=True)
    add_annotations(sim, conv)
    return conv


def queued_abandoned(sim: Sim, at: int) -> Conversation:
    """The caller hangs up in the queue before any agent rang."""
    conv = Conversation("queued_abandoned")
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, queued=True, fate="abandoned")
    return conv


def abandoned_after_ring(sim: Sim, at: int) -> Conversation:
    """Agents were rung but the caller hung up first (queued or not)."""
    conv = Conversation("abandoned_after_ring")
    call_center_hop(
        sim, conv, sim.call_center(), sim.contact(), at,
        queued=sim.chance(0.6), fate="abandoned_after_ring",
    )  # fmt: skip
    return conv


def call_center_voicemail(sim: Sim, at: int) -> Conversation:
    """Nobody answers in the queue; the caller leaves a voicemail for the call center."""
    conv = Conversation("call_center_voicemail")
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, queued=True, fate="voicemail")
    return conv


def final_fate(sim: Sim) -> str:
    return "answered" if sim.chance(0.85) else "abandoned"


def transfer_to_call_center(sim: Sim, at: int) -> Conversation:
    """An operator transfers the caller to a second call center."""
    conv = Conversation("transfer_to_call_center")
    first_cc = sim.call_center()
    hop = call_center_hop(sim, conv, first_cc, sim.contact(), at, transfer_out=True)
    second_cc = sim.call_center(exclude=(first_cc,))
    start = hop.end + sim.rng.randint(50, 400)
    call_center_hop(
        sim, conv, second_cc, hop.entry_point.contact, start,
        master=hop.entry_point.call_id, queued=sim.chance(0.3), fate=final_fate(sim),
        monitor=sim.chance(0.15),
    )  # fmt: skip
    add_annotations(sim, conv)
    return conv


def transfer_chain(sim: Sim, at: int) -> Conversation:
    """Two or three transfers in a row; master_call_id is always the first entry point."""
    conv = Conversation("transfer_chain")
    cc = sim.call_center()
    hop = call_center_hop(sim, conv, cc, sim.contact(), at, transfer_out=True)
    master = hop.entry_point.call_id
    for _ in range(sim.rng.choice((1, 2))):
        cc = sim.call_center(exclude=(cc,))
        start = hop.end + sim.rng.randint(50, 400)
        hop = call_center_hop(
            sim, conv, cc, hop.entry_point.contact, start, master=master, transfer_out=True
        )
    cc = sim.call_center(exclude=(cc,))
    start = hop.end + sim.rng.randint(50, 400)
    call_center_hop(sim, conv, cc, hop.entry_point.contact, start, master=master)
    add_annotations(sim, conv)
    return conv


def transferred_user_leg(
    sim: Sim, conv: Conversation, master: int, contact: Contact, at: int
) -> Leg:
    """The direct leg a transfer creates to reach a user; answered most of the time."""
    user = sim.agent()
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", user, contact, master_call_id=master))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.2))
    if sim.chance(0.85):
        leg.connect((leg.rang_at or at) + sim.ms(3, 20))
        leg.hang_up(talk(sim, leg, leg.connected_at or at))
    else:
        t = (leg.rang_at or at) + sim.ms(15, 30)
        leg.live("missed", t)
        leg.hang_up(t + sim.rng.randint(10, 300))
    return leg


def transfer_to_user(sim: Sim, at: int) -> Conversation:
    """An operator transfers the caller to a user (a direct leg with master_call_id)."""
    conv = Conversation("transfer_to_user")
    hop = call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, transfer_out=True)
    start = hop.end + sim.rng.randint(50, 400)
    transferred_user_leg(sim, conv, hop.entry_point.call_id, hop.entry_point.contact, start)
    add_annotations(sim, conv)
    return conv


def direct_transfer(sim: Sim, at: int) -> Conversation:
    """A user answers a direct call and transfers it to another user."""
    conv = Conversation("direct_transfer")
    first = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    first.start(at)
    first.ring(at + sim.ms(0.3, 1.5))
    first.connect((first.rang_at or at) + sim.ms(3, 20))
    end = talk(sim, first, first.connected_at or at)
    first.hang_up(end, transferred=True)
    start = end + sim.rng.randint(50, 400)
    transferred_user_leg(sim, conv, first.call_id, first.contact, start)
    add_annotations(sim, conv)
    return conv


def main_line_to_call_center(sim: Sim, at: int) -> Conversation:
    """The main line's IVR answers and routes the caller into a call center.

    The main-line leg is a direct leg (no group_id, nobody names it as entry point); its
    hangup often says is_transferred, which must not count as a transfer.
    """
    conv = Conversation("main_line_to_call_center")
    office = sim.rng.choice(sim.directory.offices)
    main = conv.add(
        sim.leg(Role.DIRECT, "inbound", office, sim.contact(), entry_point_target=office)
    )
    main.start(at)
    main.connect(at + sim.ms(0.3, 0.9))
    end = (main.connected_at or at) + sim.ms(8, 40)
    main.hang_up(end, transferred=sim.chance(0.7))
    start = end + sim.rng.randint(30, 300)
    fate = sim.rng.choice(("answered", "answered", "answered", "abandoned_after_ring"))
    call_center_hop(
        sim, conv, sim.call_center(), main.contact, start,
        master=main.call_id, queued=sim.chance(0.4), fate=fate,
    )  # fmt: skip
    add_annotations(sim, conv)
    return conv


# -- calls still in progress at the end of the data -----------------------------------


def in_progress_ringing(sim: Sim, at: int) -> Conversation:
    conv = Conversation("in_progress_ringing")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.5))
    return conv


def in_progress_direct(sim: Sim, at: int) -> Conversation:
    conv = Conversation("in_progress_direct")
    leg = conv.add(sim.leg(Role.DIRECT, "inbound", sim.agent(), sim.contact()))
    leg.start(at)
    leg.ring(at + sim.ms(0.3, 1.5))
    leg.connect((leg.rang_at or at) + sim.ms(3, 20))
    return conv


def in_progress_operator(sim: Sim, at: int) -> Conversation:
    conv = Conversation("in_progress_operator")
    call_center_hop(sim, conv, sim.call_center(), sim.contact(), at, fate="in_progress")
    return conv


Flow = Callable[[Sim, int], Conversation]

FLOWS: dict[str, tuple[Flow, float]] = {
    "direct_inbound": (direct_inbound, 14),
    "direct_outbound": (direct_outbound, 12),
    "outbound_unanswered": (outbound_unanswered, 5),
    "missed_inbound": (missed_inbound, 5),
    "voicemail_inbound": (voicemail_inbound, 4),
    "blocked_inbound": (blocked_inbound, 1),
    "operator": (operator_call, 14),
    "monitored": (monitored_call, 3),
    "queued_answered": (queued_answered, 10),
    "queued_abandoned": (queued_abandoned, 4),
    "abandoned_after_ring": (abandoned_after_ring, 3),
    "call_center_voicemail": (call_center_voicemail, 2),
    "transfer_to_call_center": (transfer_to_call_center, 4),
    "transfer_chain": (transfer_chain, 2),
    "transfer_to_user": (transfer_to_user, 3),
    "direct_transfer": (direct_transfer, 3),
    "main_line_to_call_center": (main_line_to_call_center, 4),
}
IN_PROGRESS_FLOWS: dict[str, Flow] = {
    "in_progress_ringing": in_progress_ringing,
    "in_progress_direct": in_progress_direct,
    "in_progress_operator": in_progress_operator,
}


def assign_time_sources(sim: Sim, conv: Conversation) -> None:
    """Take event_timestamp away from a few events (docs/contract.md §3, "Event time").

    `received`: the event is always delivered in an envelope whose earliest received_at is
    its time. `fallback`: never enveloped; only on events whose state date is exactly their
    time and is the leg's own started/connected/ended time (or on post-call events whose
    time matters to no mart), and never on a leg that holds or queues, so every duration
    the marts build stays known. Hold and resume events always keep event_timestamp.
    """
    for leg in conv.legs_with_events:
        steady = not (leg.has_state("hold") or leg.has_state("queued"))
        for event in leg.events:
            if event.time_source is not TimeSource.EVENT:
                continue
            roll = sim.rng.random()
            if roll < 0.04 and receivable(event, leg):
                event.time_source = TimeSource.RECEIVED
            elif roll < 0.07 and steady and may_fall_back(event):
                event.time_source = TimeSource.FALLBACK


def receivable(event: Event, leg: Leg) -> bool:
    if event.state in ("hold", "monitor", "barge") or event.is_resume:
        return False
    return not leg.has_state("hold")


FALLBACK_POST_STATES = frozenset(
    {"recording", "voicemail_uploaded", "transcription", "pcsat", "dispositions"}
)


def may_fall_back(event: Event) -> bool:
    if event.state in POST_CALL_STATES:
        return event.state in FALLBACK_POST_STATES and "date_ended" not in event.fields
    if event.state == "connected":
        return not event.is_resume
    return event.state in ("preanswer", "calling", "hangup")
