"""What a landing record is (a payload, a JWT, an envelope, a list), and its identity hash,
or why it is bad (CONTRACT section 2)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from ingest import canonical
from ingest.errors import QuarantineReason, RecordRejected
from ingest.read import RawRecord

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_EMPTY_SCALARS = ("", "0")
_JWT_OPTIONS: dict[str, Any] = {
    # An archived webhook stays authentic after its token expires: the signature is what counts.
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


@dataclass(frozen=True, slots=True)
class Event:
    """A good record: the canonical payload and where it came from."""

    event_hash: str
    payload: str
    received_at_ms: int | None
    line: int
    raw_text: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A bad record, bound for raw.quarantine."""

    line: int
    raw_text: str
    reason: QuarantineReason
    detail: str


def is_empty(value: object) -> bool:
    """CONTRACT section 3: null, "", "0", 0, {} and [] are empty."""
    if value is None or value == {} or value == []:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and value.strip() in _EMPTY_SCALARS


class Decoder:
    """Turns raw records into events or rejections; holds the HS256 secret, if any."""

    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret

    def decode(self, record: RawRecord) -> Iterator[Event | Rejected]:
        """One outcome per record; a list (array or list response) yields one per element."""
        if not record.is_utf8:
            yield Rejected(record.line, record.text, QuarantineReason.NOT_JSON, "not UTF-8 text")
            return
        try:
            parsed = self._parse(record.text)
        except RecordRejected as rejected:
            yield Rejected(record.line, record.text, rejected.reason, rejected.detail)
            return
        elements = _elements(parsed)
        for element in elements:
            text = record.text if element is parsed else _element_text(element)
            yield self._outcome(record.line, element, text)

    def _parse(self, text: str) -> Any:
        if _JWT.fullmatch(text):
            return _Token(text)
        try:
            return canonical.loads(text)
        except ValueError as error:
            raise RecordRejected(
                QuarantineReason.NOT_JSON, "neither JSON nor a compact JWT"
            ) from error

    def _outcome(self, line: int, element: Any, text: str) -> Event | Rejected:
        try:
            payload, received_at_ms = self._payload(element)
            _require_event_keys(payload)
        except RecordRejected as rejected:
            return Rejected(line, text, rejected.reason, rejected.detail)
        payload_json = canonical.canonical_json(payload)
        return Event(canonical.sha256_hex(payload_json), payload_json, received_at_ms, line, text)

    def _payload(self, element: Any) -> tuple[dict[str, Any], int | None]:
        """(the decoded payload, the envelope's received_at in unix ms)."""
        if isinstance(element, _Token):
            return self._claims(element.token), None
        if not isinstance(element, dict):
            raise RecordRejected(QuarantineReason.NOT_AN_OBJECT, type(element).__name__)
        if "payload" in element and "call_id" not in element:
            return self._envelope(element)
        return element, None

    def _envelope(self, envelope: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        received_at_ms = parse_instant_ms(envelope.get("received_at"), "received_at")
        inner = envelope["payload"]
        if isinstance(inner, str) and _JWT.fullmatch(inner.strip()):
            return self._claims(inner.strip()), received_at_ms
        if isinstance(inner, str) and inner.strip().startswith("{"):
            return _object(_loads(inner)), received_at_ms
        if isinstance(inner, dict):
            return inner, received_at_ms
        raise RecordRejected(QuarantineReason.BAD_ENVELOPE, "payload is not an object or a JWT")

    def _claims(self, token: str) -> dict[str, Any]:
        text = self.verify_jwt(token)
        try:
            claims = canonical.loads(text)
        except ValueError as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, "claims are not JSON") from error
        if not isinstance(claims, dict):
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, "claims are not a JSON object")
        return claims

    def verify_jwt(self, token: str) -> str:
        """The claims' JSON text of a token that verifies as HS256 with our secret."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, str(error)) from error
        algorithm = header.get("alg")
        if algorithm != "HS256":
            raise RecordRejected(QuarantineReason.WRONG_ALGORITHM, f"alg is {algorithm!r}")
        if self._secret is None:
            raise RecordRejected(QuarantineReason.NO_SECRET, "no JWT secret is configured")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # short sample secrets: not the data's fault
                decoded = jwt.api_jws.decode_complete(
                    token, self._secret, algorithms=["HS256"], options=_JWT_OPTIONS
                )
        except jwt.InvalidSignatureError as error:
            raise RecordRejected(QuarantineReason.BAD_SIGNATURE, str(error)) from error
        except jwt.InvalidAlgorithmError as error:
            raise RecordRejected(QuarantineReason.WRONG_ALGORITHM, str(error)) from error
        except jwt.PyJWTError as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, str(error)) from error
        try:
            return decoded["payload"].decode("utf-8")
        except UnicodeDecodeError as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, "claims are not UTF-8") from error


@dataclass(frozen=True, slots=True)
class _Token:
    token: str


def _elements(parsed: Any) -> list[Any]:
    """A JSON array, or a list response `{"data": [...]}`, holds one record per element."""
    if isinstance(parsed, list):
        return [_Token(e) if isinstance(e, str) and _JWT.fullmatch(e) else e for e in parsed]
    is_list_response = isinstance(parsed, dict) and isinstance(parsed.get("data"), list)
    if is_list_response and "call_id" not in parsed:
        return parsed["data"]
    return [parsed]


def _element_text(element: Any) -> str:
    """The text of one element of a list record, as it would be quarantined."""
    if isinstance(element, _Token):
        return element.token
    return canonical.canonical_json(element)


def _loads(text: str) -> Any:
    try:
        return canonical.loads(text)
    except ValueError as error:
        raise RecordRejected(QuarantineReason.NOT_JSON, str(error)) from error


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordRejected(QuarantineReason.NOT_AN_OBJECT, type(value).__name__)
    return value


def _require_event_keys(payload: dict[str, Any]) -> None:
    if is_empty(payload.get("call_id")):
        raise RecordRejected(QuarantineReason.MISSING_CALL_ID, "call_id is absent or empty")
    state = payload.get("state")
    if is_empty(state) or not isinstance(state, str):
        raise RecordRejected(QuarantineReason.MISSING_STATE, "state is absent or empty")


def parse_instant_ms(value: object, field: str) -> int | None:
    """Unix ms (number or numeric string) or ISO-8601 (naive means UTC) as unix ms."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordRejected(QuarantineReason.UNPARSEABLE_FIELD, field)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        try:
            return int(stripped)
        except ValueError:
            pass
        try:
            instant = datetime.fromisoformat(stripped)
        except ValueError as error:
            raise RecordRejected(QuarantineReason.UNPARSEABLE_FIELD, field) from error
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return round(instant.timestamp() * 1000)
    raise RecordRejected(QuarantineReason.UNPARSEABLE_FIELD, field)
