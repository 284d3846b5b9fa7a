"""MessageBird calls and legs (docs/contract.md §8) in every landing form, and signed webhooks."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import jwt
import pytest
from conftest import event, write_lines

from ingest.cli import main

CALL_ID = "f1aa71c0-8f2a-4fe8-b5ef-9a330454ef58"
KEY = "messagebird-signing-key-0123456789abcdef"
URL = "https://hooks.example.test/messagebird?x=1"


def call(status: str = "ended", updated: str = "2026-03-02T10:05:00Z", **fields: object) -> dict:
    return {
        "id": CALL_ID,
        "status": status,
        "source": "+31612345678",
        "destination": "+31201234567",
        "numberId": "nr-1",
        "createdAt": "2026-03-02T10:00:00Z",
        "updatedAt": updated,
        "endedAt": "2026-03-02T10:05:00.250Z",
        **fields,
    }


def leg(leg_id: str = "leg-1", status: str = "hangup", **fields: object) -> dict:
    return {
        "id": leg_id,
        "callId": CALL_ID,
        "source": "+31612345678",
        "destination": "+31201234567",
        "status": status,
        "direction": "incoming",
        "cost": 0.004,
        "currency": "EUR",
        "duration": 300,
        "createdAt": "2026-03-02T10:00:00Z",
        "updatedAt": "2026-03-02T10:05:00Z",
        "answeredAt": "2026-03-02T10:00:05.125Z",
        "endedAt": "2026-03-02T10:05:00Z",
        **fields,
    }


def signed_envelope(
    body: str, received_at: int = 1_772_445_900_000, key: str = KEY, **claims: object
) -> dict:
    now = received_at // 1000
    payload = {
        "iss": "MessageBird",
        "nbf": now - 5,
        "exp": now + 60,
        "jti": "j-1",
        "url_hash": hashlib.sha256(URL.encode()).hexdigest(),
        "payload_hash": hashlib.sha256(body.encode()).hexdigest(),
        **claims,
    }
    signature = jwt.encode(payload, key, algorithm="HS256")
    return {
        "received_at": received_at,
        "url": URL,
        "headers": {"MessageBird-Signature-JWT": signature},
        "body": body,
    }


def test_calls_and_legs_in_every_form(tmp_path: Path, ingest, query) -> None:
    write_lines(
        tmp_path / "mixed.ndjson",
        [
            call(),
            {
                "data": [leg("leg-1"), leg("leg-2", direction="outgoing")],
                "pagination": {"totalCount": 2},
            },
            {
                "received_at": "2026-03-02T10:06:00Z",
                "payload": leg("leg-3", status="no-answer", answeredAt=None),
            },
            event(7),  # a Dialpad event in the same file
        ],
    )
    (tmp_path / "export.json.gz").write_bytes(
        gzip.compress(json.dumps([leg("leg-4", status="completed")]).encode())
    )
    assert ingest(tmp_path) == 0
    assert query(
        "select call_id, status, number_id, epoch_ms(created_at), epoch_ms(ended_at) from raw.messagebird_calls"
    ) == [(CALL_ID, "ended", "nr-1", 1_772_445_600_000, 1_772_445_900_250)]
    assert query(
        "select leg_id, call_id, status, direction, cost, duration, epoch_ms(answered_at), epoch_ms(received_at) "
        "from raw.messagebird_legs order by leg_id"
    ) == [
        ("leg-1", CALL_ID, "hangup", "incoming", 0.004, 300, 1_772_445_605_125, None),
        ("leg-2", CALL_ID, "hangup", "outgoing", 0.004, 300, 1_772_445_605_125, None),
        ("leg-3", CALL_ID, "no_answer", "incoming", 0.004, 300, None, 1_772_445_960_000),
        ("leg-4", CALL_ID, "hangup", "incoming", 0.004, 300, 1_772_445_605_125, None),
    ]
    assert query("select call_id from raw.dialpad_call_events") == [(7,)]
    assert query(
        "select payload ->> '$.status' from raw.messagebird_legs where leg_id = 'leg-4'"
    ) == [("completed",)]


def test_identical_snapshots_are_one_and_newer_ones_are_kept_beside(
    tmp_path: Path, ingest, query
) -> None:
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            call("ongoing", "2026-03-02T10:01:00Z", endedAt=None),
            call(),
            call(),
            {"received_at": 1_700_000_000_005, "payload": call()},
        ],
    )
    assert ingest(path) == 0
    assert query(
        "select status, epoch_ms(received_at) from raw.messagebird_calls order by updated_at"
    ) == [
        ("ongoing", None),
        ("ended", 1_700_000_000_005),  # the copy received first keeps its received_at
    ]
    assert query("select read_count, loaded_count, duplicate_count from raw.load_log") == [
        (4, 2, 2)
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"foo": 1}', "not_an_event"),
        ('{"callId": "c", "status": "ringing"}', "missing_id"),
        ('{"id": "l", "callId": "", "status": "ringing"}', "missing_call_id"),
        ('{"id": "c", "status": "ended", "createdAt": "yesterday"}', "unparseable_field"),
    ],
)
def test_bad_messagebird_records_are_quarantined(
    tmp_path: Path, ingest, query, line: str, reason: str
) -> None:
    assert ingest(write_lines(tmp_path / "a.ndjson", [line])) == 0
    assert query("select reason from raw.quarantine") == [(reason,)]


def _ingest_signed(tmp_path: Path, db: Path, envelope: dict, key: str | None = KEY) -> int:
    path = write_lines(tmp_path / "hooks.ndjson", [envelope])
    args = ["ingest", "--quiet", "--db", str(db)]
    if key is not None:
        (tmp_path / "key").write_text(key)
        args += ["--messagebird-key-file", str(tmp_path / "key")]
    return main([*args, str(path)])


def test_a_signed_webhook_that_verifies_is_loaded(
    tmp_path: Path, db: Path, query, monkeypatch
) -> None:
    monkeypatch.delenv("MESSAGEBIRD_SIGNING_KEY", raising=False)
    body = json.dumps(leg())
    assert _ingest_signed(tmp_path, db, signed_envelope(body)) == 0
    assert query("select leg_id, epoch_ms(received_at) from raw.messagebird_legs") == [
        ("leg-1", 1_772_445_900_000)
    ]
    assert query("select count(*) from raw.quarantine") == [(0,)]


def test_the_signing_key_can_come_from_the_environment(
    tmp_path: Path, db: Path, query, monkeypatch
) -> None:
    monkeypatch.setenv("MESSAGEBIRD_SIGNING_KEY", KEY)
    assert _ingest_signed(tmp_path, db, signed_envelope(json.dumps(leg())), key=None) == 0
    assert query("select count(*) from raw.messagebird_legs") == [(1,)]


def _tampered_body(envelope: dict) -> dict:
    return {**envelope, "body": envelope["body"].replace("leg-1", "leg-9")}


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (_tampered_body(signed_envelope(json.dumps(leg()))), "bad_signature"),  # payload_hash
        (
            signed_envelope(json.dumps(leg()), key="another-key-0123456789abcdef012345"),
            "bad_signature",
        ),
        (
            signed_envelope(json.dumps(leg()), exp=1_772_445_800),
            "bad_signature",
        ),  # expired at received_at
        (signed_envelope(json.dumps(leg()), nbf=1_772_446_000), "bad_signature"),  # not valid yet
        (signed_envelope(json.dumps(leg()), iss="Someone"), "bad_signature"),
        ({**signed_envelope(json.dumps(leg())), "url": "https://elsewhere.test/"}, "bad_signature"),
        ({**signed_envelope(json.dumps(leg())), "body": leg()}, "bad_signature"),  # no raw body
    ],
)
def test_a_signed_webhook_that_fails_is_quarantined(
    tmp_path: Path, db: Path, query, monkeypatch, envelope: dict, reason: str
) -> None:
    monkeypatch.delenv("MESSAGEBIRD_SIGNING_KEY", raising=False)
    assert _ingest_signed(tmp_path, db, envelope) == 0
    assert query("select reason from raw.quarantine") == [(reason,)]
    assert query("select count(*) from raw.messagebird_legs") == [(0,)]


def test_a_signed_webhook_without_a_key_is_quarantined(
    tmp_path: Path, db: Path, query, monkeypatch
) -> None:
    monkeypatch.delenv("MESSAGEBIRD_SIGNING_KEY", raising=False)
    assert _ingest_signed(tmp_path, db, signed_envelope(json.dumps(leg())), key=None) == 0
    assert query("select reason from raw.quarantine") == [("no_secret",)]


def test_a_calls_status_is_only_lowercased(tmp_path: Path, ingest, query) -> None:
    assert (
        ingest(
            write_lines(
                tmp_path / "a.ndjson", [call("Completed"), call("ENDED", "2026-03-02T10:06:00Z")]
            )
        )
        == 0
    )
    assert query("select status from raw.messagebird_calls order by updated_at") == [
        ("completed",),
        ("ended",),
    ]


def test_call_history_without_legs_loads_every_call(tmp_path: Path, ingest, query) -> None:
    """GET /calls: one list response of calls and no legs (docs/contract.md §8, last paragraph).
    Each call is a snapshot of its own; nothing is quarantined for lacking legs."""
    ongoing = call(
        "ongoing", "2026-03-02T11:00:04Z", id="c-2", createdAt="2026-03-02T11:00:00Z", endedAt=None
    )
    history = {
        "data": [call(), ongoing],
        "pagination": {"totalCount": 2, "pageCount": 1, "currentPage": 1, "perPage": 10},
    }
    write_lines(tmp_path / "messagebird_calls_history.ndjson", [history])
    assert ingest(tmp_path) == 0
    assert query(
        "select call_id, status, epoch_ms(created_at), epoch_ms(ended_at) "
        "from raw.messagebird_calls order by created_at"
    ) == [
        (CALL_ID, "ended", 1_772_445_600_000, 1_772_445_900_250),
        ("c-2", "ongoing", 1_772_449_200_000, None),
    ]
    assert query("select count(*) from raw.messagebird_legs") == [(0,)]
    assert query("select count(*) from raw.quarantine") == [(0,)]
    assert query("select read_count, loaded_count from raw.load_log") == [(2, 2)]


def test_a_leg_that_ends_before_it_was_answered_loads_as_delivered(
    tmp_path: Path, ingest, query
) -> None:
    """A vendor clock error (MessageBird's own example leg: answeredAt 26 s after endedAt):
    both times are plausible, so both are kept as delivered; the marts null the negative
    durations (docs/contract.md §9, "Impossible times")."""
    backwards = leg(
        "leg-clock", createdAt="2026-03-02T10:04:30Z", answeredAt="2026-03-02T10:05:26Z",
        endedAt="2026-03-02T10:05:00Z", duration=31,
    )  # fmt: skip
    write_lines(tmp_path / "legs.ndjson", [backwards])
    assert ingest(tmp_path) == 0
    assert query(
        "select leg_id, epoch_ms(answered_at), epoch_ms(ended_at), "
        "coalesce(len(implausible_time_fields), 0) from raw.messagebird_legs"
    ) == [("leg-clock", 1_772_445_926_000, 1_772_445_900_000, 0)]
    assert query("select count(*) from raw.quarantine") == [(0,)]
