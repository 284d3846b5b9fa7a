"""Normalisation of docs/contract.md §3: ids, empty values, booleans, event time."""

from __future__ import annotations

from pathlib import Path

from conftest import ABSENT, FIXTURES, event, write_lines


def test_ids_above_2_53_stay_exact(tmp_path: Path, ingest, query) -> None:
    big = 9_007_199_254_740_993  # 2**53 + 1: a float would make it ...992
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            event(big, master_call_id=big + 2, target={"id": big + 4, "type": "user"}),
            event(str(big + 6), operator_call_id=str(9_223_372_036_854_775_807)),
        ],
    )
    assert ingest(path) == 0
    assert query(
        "select call_id, master_call_id, operator_call_id, target_id "
        "from raw.dialpad_call_events order by 1"
    ) == [
        (big, big + 2, None, big + 4),
        (big + 6, None, 9_223_372_036_854_775_807, None),
    ]


def test_empty_ids_and_values_are_null(tmp_path: Path, ingest, query) -> None:
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            event(
                1,
                master_call_id="",
                entry_point_call_id=0,
                operator_call_id="0",
                group_id="",
                entry_point_target={},
                proxy_target={},
                target={"id": "", "type": "user", "name": "", "office_id": 0},
                contact={"id": "0", "phone": "+1555", "name": "Ann"},
                labels=[],
                recap_summary="",
            )
        ],
    )
    assert ingest(path) == 0
    assert query(
        """select master_call_id, entry_point_call_id, operator_call_id, group_id,
                  entry_point_target_id, proxy_target_type, target_id, target_type, target_name,
                  target_office_id, contact_id, contact_phone, contact_name, labels, recap_summary
           from raw.dialpad_call_events"""
    ) == [
        (
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "user",
            None,
            None,
            None,
            "+1555",
            "Ann",
            None,
            None,
        )
    ]


def test_string_booleans_and_the_is_transfer_alias(tmp_path: Path, ingest, query) -> None:
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            event(1, is_transferred="TRUE", was_recorded="false"),
            event(2, is_transfer=True),
            event(3, is_transferred=False, was_recorded=True),
            event(4, is_transferred="false", is_transfer="true"),
        ],
    )
    assert ingest(path) == 0
    assert query(
        "select call_id, is_transferred, was_recorded from raw.dialpad_call_events order by 1"
    ) == [(1, True, False), (2, True, None), (3, False, True), (4, True, None)]


def test_event_time_falls_back_to_the_states_own_date(tmp_path: Path, ingest, query) -> None:
    dates = {
        "date_started": 1_700_000_001_000,
        "date_rang": 1_700_000_002_000,
        "date_queued": 1_700_000_003_000,
        "date_connected": 1_700_000_004_000,
        "date_ended": 1_700_000_005_000,
        "event_timestamp": ABSENT,
    }
    states = ["preanswer", "calling", "ringing", "queued", "connected", "hangup", "missed", "hold"]
    path = write_lines(
        tmp_path / "a.ndjson", [event(i + 1, state, **dates) for i, state in enumerate(states)]
    )
    assert ingest(path) == 0
    rows = query(
        "select state, epoch_ms(event_at), event_at_source from raw.dialpad_call_events order by call_id"
    )
    assert rows == [
        ("preanswer", 1_700_000_001_000, "fallback"),
        ("calling", 1_700_000_001_000, "fallback"),
        ("ringing", 1_700_000_002_000, "fallback"),
        ("queued", 1_700_000_003_000, "fallback"),
        ("connected", 1_700_000_004_000, "fallback"),
        ("hangup", 1_700_000_005_000, "fallback"),
        ("missed", 1_700_000_005_000, "fallback"),
        ("hold", 1_700_000_005_000, "fallback"),  # no own date: the latest date_* present
    ]


def test_lists_and_recording_details_are_typed(tmp_path: Path, ingest, query) -> None:
    detail = {
        "id": 77,
        "url": "https://r/77",
        "duration": 1500.5,
        "start_time": 1_700_000_000_123,
        "recording_type": "callrecording",
    }
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            event(
                1,
                recording_details=[detail],
                recording_url="https://r/single",
                labels=["vip", {"k": 1}],
            )
        ],
    )
    assert ingest(path) == 0
    assert query(
        "select recording_details, recording_url, labels from raw.dialpad_call_events"
    ) == [
        (
            [
                {
                    "id": "77",
                    "url": "https://r/77",
                    "duration": 1500.5,
                    "start_time": 1_700_000_000_123,
                    "recording_type": "callrecording",
                }
            ],
            ["https://r/single"],
            ["vip", '{"k":1}'],
        )
    ]


def test_the_seed_samples_load_with_the_seeds_values(tmp_path: Path, ingest, query) -> None:
    assert ingest(FIXTURES / "seed_samples.ndjson") == 0
    assert query("select count(*) from raw.dialpad_call_events") == [(11,)]
    assert query(
        """select state, direction, date_started, date_connected, date_ended, duration,
                  target_id, target_type, target_office_id, contact_id, contact_type,
                  external_number, recording_url, mos_score
           from raw.dialpad_call_events
           where call_id = 4978137078431744 order by source_line"""
    ) == [
        (
            "calling",
            "outbound",
            1582853788099,
            None,
            None,
            None,
            5908860123456789,
            "user",
            4632479632575683,
            "http://www.google.com/m8/feeds/contacts/[email\xa0protected]/base/21042cfc8b367347",
            "google",
            "+16043111111",
            None,
            None,
        ),
        (
            "connected",
            "outbound",
            1582853788099,
            1582853801664,
            None,
            None,
            5908860123456789,
            "user",
            4632479632575683,
            "http://www.google.com/m8/feeds/contacts/[email\xa0protected]/base/21042cfc8b367347",
            "google",
            "+16043111111",
            None,
            None,
        ),
        (
            "hangup",
            "outbound",
            1582853788099,
            1582853801664,
            1582853818129,
            16464.904000000002,
            5908860123456789,
            "user",
            4632479632575683,
            "http://www.google.com/m8/feeds/contacts/[email\xa0protected]/base/21042cfc8b367347",
            "google",
            "+16043111111",
            None,
            None,
        ),
        (
            "recording",
            "outbound",
            1620694942713,
            1620694952459,
            1620694975723,
            23263.819000000003,
            5908860123456789,
            "user",
            4632479632575683,
            "http://www.google.com/m8/feeds/contacts/[email\xa0protected]/base/21042cfc8b367347",
            "google",
            "+16043111111",
            ["https://dialpad.com/r/6086754856781234", "https://dialpad.com/r/6086754856787890"],
            None,
        ),
        (
            "recording",
            "inbound",
            1620694942713,
            1620694952459,
            1620694975723,
            23263.819000000003,
            5908860123456789,
            "user",
            4632479632575683,
            "http://www.google.com/m8/feeds/contacts/[email\xa0protected]/base/21042cfc8b367347",
            "google",
            "+16043111111",
            ["https://dialpad.com/r/6086754856781234", "https://dialpad.com/r/6086754856787890"],
            4.5,
        ),
    ]
    assert query(
        "select payload ->> '$.ai_playbook.playbook_applied_name' from raw.dialpad_call_events "
        "where ai_playbook is not null"
    ) == [("BANT",)]
