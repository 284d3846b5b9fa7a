"""The simulated company: ids, users, call centers, offices and the callers who phone in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ingest.sample.model import Contact, Target

TWO_53 = 2**53
_SMALL_IDS = (4_000_000_000_000_000, 6_999_999_999_999_999)
_BIG_IDS = (TWO_53 + 1, 9_999_999_999_999_999)  # 16 digits, beyond a double's exact range

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah",
    "Kiona", "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wes", "Ximena", "Yusuf", "Zoe", "Connor", "Victoria",
)  # fmt: skip
LAST_NAMES = (
    "Nakamura", "Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Reyes", "Singh",
    "Brennan", "Duarte", "Fischer", "Gallo", "Ibsen", "Jansen", "Khan", "Larsen",
)  # fmt: skip
CONTACT_TYPES = ("local", "google", "microsoft", "nylas", "user")


class Ids:
    """Unique 16-digit Dialpad-like ids.

    About a fifth are above 2^53. Now and then an id is handed out next to an earlier one
    that a double cannot tell apart from it (float(a) == float(b)): a warehouse that routes
    ids through a float merges the two.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[int] = set()
        self._twins: list[int] = []

    def new(self) -> int:
        if self._twins and self._rng.random() < 0.3:
            return self._claim(self._twins.pop(0))
        big = self._rng.random() < 0.2
        low, high = _BIG_IDS if big else _SMALL_IDS
        value = self._rng.randint(low, high)
        while value in self._used:
            value = self._rng.randint(low, high)
        self._claim(value)
        if big and self._rng.random() < 0.25:
            self._reserve_twin(value)
        return value

    def _claim(self, value: int) -> int:
        self._used.add(value)
        return value

    def _reserve_twin(self, value: int) -> None:
        for twin in (value + 1, value - 1):
            if twin > TWO_53 and float(twin) == float(value) and twin not in self._used:
                self._used.add(twin)
                self._twins.append(twin)
                return


@dataclass(frozen=True)
class CallCenter:
    target: Target
    members: tuple[Target, ...]


@dataclass
class Directory:
    """Who works here: offices (main lines), call centers, agents and supervisors."""

    offices: list[Target] = field(default_factory=list)
    call_centers: list[CallCenter] = field(default_factory=list)
    agents: list[Target] = field(default_factory=list)
    supervisors: list[Target] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(0, 9_999_999):07d}"


def _person(rng: random.Random, ids: Ids, office: Target, used: set[str]) -> Target:
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in used:
            used.add(name)
            break
    email = name.lower().replace(" ", ".") + "@callmart-sample.test"
    return Target("user", ids.new(), name, email, _phone(rng, "+1601"), office.office_id)


def _contact(rng: random.Random, ids: Ids) -> Contact:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    kind = rng.choice(CONTACT_TYPES)
    phone = _phone(rng, rng.choice(("+1604", "+1415", "+4420", "+3314")))
    if kind == "google":
        contact_id: int | str = (
            "http://www.google.com/m8/feeds/contacts/sample%40callmart-sample.test/base/"
            f"{rng.getrandbits(64):016x}"
        )
    else:
        contact_id = ids.new()
    email = "" if rng.random() < 0.5 else name.lower().replace(" ", "_") + "@customer.test"
    return Contact(phone, kind, contact_id, name, email)


def build_directory(rng: random.Random, ids: Ids) -> Directory:
    """A company with two offices, four call centers, 24 agents and 3 supervisors."""
    directory = Directory()
    for city in ("Vancouver", "Austin"):
        office_id = ids.new()
        office = Target(
            "office", office_id, f"{city} Main Line", f"main.{city.lower()}@callmart-sample.test",
            _phone(rng, "+1601"), office_id,
        )  # fmt: skip
        directory.offices.append(office)
    used: set[str] = set()
    directory.agents = [_person(rng, ids, directory.offices[i % 2], used) for i in range(24)]
    directory.supervisors = [_person(rng, ids, directory.offices[i % 2], used) for i in range(3)]
    for i, name in enumerate(("Support", "Sales", "Billing", "Escalations")):
        office = directory.offices[i % 2]
        target = Target(
            "callcenter", ids.new(), name, f"{name.lower()}@callmart-sample.test",
            _phone(rng, "+1601"), office.office_id,
        )  # fmt: skip
        members = tuple(rng.sample(directory.agents, 8))
        directory.call_centers.append(CallCenter(target, members))
    directory.contacts = [_contact(rng, ids) for _ in range(160)]
    return directory
