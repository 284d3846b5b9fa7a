"""The one exception root the command line reports, and the quarantine reason codes."""

from __future__ import annotations

from enum import StrEnum


class CallmartError(Exception):
    """Root of every error the command line reports as one clear line."""


class LandingPathError(CallmartError):
    """A landing path does not exist, matches nothing, or cannot be read."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class SecretError(CallmartError):
    """A JWT secret file was named but cannot be read."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"cannot read the JWT secret file {path}: {why}")
        self.path = path


class BuildError(CallmartError):
    """The dbt build failed (a model error or an error-severity test)."""


class QuarantineReason(StrEnum):
    """Why a landing record was not loaded; stored in raw.quarantine.reason."""

    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    BAD_ENVELOPE = "bad_envelope"
    MALFORMED_JWT = "malformed_jwt"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ALGORITHM = "wrong_algorithm"
    NO_SECRET = "no_secret"
    NOT_AN_EVENT = "not_an_event"
    MISSING_ID = "missing_id"
    MISSING_CALL_ID = "missing_call_id"
    MISSING_STATE = "missing_state"
    UNPARSEABLE_FIELD = "unparseable_field"
    NO_EVENT_TIME = "no_event_time"


class RecordRejected(Exception):
    """Raised inside decoding for one record; caught and turned into a quarantine row."""

    def __init__(self, reason: QuarantineReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
