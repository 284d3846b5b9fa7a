"""What a landing record is, and its identity hash, or why it is bad (docs/contract.md §2, §8).

A record is a JSON value or a compact JWT. An envelope (`{"received_at", "payload" | "body",
"headers"}`) is opened first; then a JSON array or a list response (`{"data": [...]}`) holds
one record per element. Each element must be a Dialpad call event, a Dialpad agent status event
(`target` and `on_duty_status` or `availability_status`, no `call_id`: docs/contract.md §11), a
MessageBird leg (it has `callId`) or a MessageBird call; anything else is quarantined.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jwt
import polars as pl

from ingest import canonical, hs256
from ingest.errors import CallmartError, QuarantineReason, RecordRejected
from ingest.hs256 import HS256Verifier
from ingest.read import RawRecord

# a compact JWT, loosely: pyjwt accepts `=` padding, and a token with extra segments is a
# malformed JWT rather than text that is not JSON (`ingest.plain` finds a chunk's tokens by it)
JWT = re.compile(r"[A-Za-z0-9_=-]+(?:\.[A-Za-z0-9_=-]*){2,}")
_EMPTY_SCALARS = ("", "0")
_SIGNATURE_HEADER = "messagebird-signature-jwt"
_MESSAGEBIRD_CALL_KEYS = ("status", "numberId", "createdAt", "updatedAt", "endedAt")
_AGENT_STATUS_KEYS = ("on_duty_status", "availability_status")
_MESSAGEBIRD_LEEWAY_S = 1
_DAY_MS = 86_400_000
_FAR_MS = 2**63 - 1
EARLIEST_PLAUSIBLE_MS = 946_684_800_000  # 2000-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The instants a payload's times may plausibly hold (docs/ingest.md, "Impossible times"):
    from 2000-01-01 to a day after the load started. Anything outside is a vendor's clock
    error or a unit mistake (microseconds, seconds): nulled and counted, never loaded as time."""

    earliest_ms: int
    latest_ms: int

    @classmethod
    def for_load_at(cls, started_at_ms: int) -> TimeWindow:
        return cls(EARLIEST_PLAUSIBLE_MS, started_at_ms + _DAY_MS)

    def contains(self, instant_ms: float) -> bool:
        return self.earliest_ms <= instant_ms <= self.latest_ms


DIALPAD = "dialpad"
MESSAGEBIRD = "messagebird"


class Kind(StrEnum):
    """Which raw table a good record goes to."""

    DIALPAD_EVENT = "dialpad_event"
    DIALPAD_AGENT_STATUS = "dialpad_agent_status"
    MESSAGEBIRD_CALL = "messagebird_call"
    MESSAGEBIRD_LEG = "messagebird_leg"

    @property
    def provider(self) -> str:
        dialpad = self is Kind.DIALPAD_EVENT or self is Kind.DIALPAD_AGENT_STATUS
        return DIALPAD if dialpad else MESSAGEBIRD


@dataclass(frozen=True, slots=True)
class Event:
    """A good record: its kind, the canonical payload and where it came from."""

    kind: Kind
    event_hash: str
    payload: str
    received_at_ms: int | None
    line: int
    raw_text: str
    keys: tuple[str, ...]  # the payload's top-level keys, in its order
    received_at_implausible: bool = False  # the envelope's received_at was nulled


@dataclass(frozen=True, slots=True)
class Rejected:
    """A bad record, bound for raw.quarantine."""

    line: int
    raw_text: str
    reason: QuarantineReason
    detail: str
    provider: str | None = None  # dialpad | messagebird, where the record tells
    received_at_ms: int | None = None  # an element's envelope time, to decode it again later


def is_empty(value: object) -> bool:
    """docs/contract.md §3: null, "", "0", 0, {} and [] are empty."""
    kind = type(value)
    if kind is int:  # the usual id
        return value == 0
    if type(value) is str:  # `kind is str` does not narrow `value` for mypy
        return value.strip() in _EMPTY_SCALARS
    if value is None:
        return True
    if kind is dict or kind is list:
        return not value
    number = canonical.as_number(value)
    return number is not None and number == 0


@dataclass(frozen=True, slots=True)
class _Token:
    token: str


class Decoder:
    """Turns raw records into events or rejections; holds the secrets, if any, and the window
    of plausible times of this load.

    `secret` verifies Dialpad's HS256 JWT payloads; `messagebird_key` verifies the
    `MessageBird-Signature-JWT` header of captured MessageBird webhooks.
    """

    def __init__(
        self,
        secret: bytes | None,
        messagebird_key: bytes | None = None,
        window: TimeWindow | None = None,
    ) -> None:
        self._dialpad = _verifier(secret, "Dialpad webhook secret")
        self._messagebird = _verifier(messagebird_key, "MessageBird signing key")
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        self.window = window or TimeWindow.for_load_at(now_ms)

    def decode(self, record: RawRecord) -> Iterator[Event | Rejected]:
        """One outcome per record; a list (array or list response) yields one per element."""
        if not record.is_utf8:
            yield Rejected(record.line, record.text, QuarantineReason.NOT_JSON, "not UTF-8 text")
            return
        received_at_ms = record.received_at_ms
        implausible = False
        try:
            parsed = _parse(record.text)
            if _is_envelope(parsed):
                parsed, received_at_ms, implausible = self._open_envelope(parsed)
        except RecordRejected as rejected:
            yield _rejected(record.line, record.text, rejected)
            return
        for element in _elements(parsed):
            text = record.text if element is parsed else _element_text(element)
            yield self._outcome(record.line, element, text, received_at_ms, implausible)

    def _outcome(
        self,
        line: int,
        element: Any,
        text: str,
        received_at_ms: int | None,
        received_at_implausible: bool,
    ) -> Event | Rejected:
        try:
            payload = self._claims(element.token) if isinstance(element, _Token) else element
            kind = classify(payload)
            payload_json = canonical.canonical_json(payload)
        except RecordRejected as rejected:
            return _with_received_at(_rejected(line, text, rejected), received_at_ms)
        except canonical.TooDeep:
            return Rejected(line, text, QuarantineReason.NOT_JSON, "JSON nested too deeply")
        event_hash = canonical.sha256_hex(payload_json)
        return Event(
            kind,
            event_hash,
            payload_json,
            received_at_ms,
            line,
            text,
            tuple(payload),
            received_at_implausible,
        )

    def _open_envelope(self, envelope: dict[str, Any]) -> tuple[Any, int | None, bool]:
        """(what the envelope carries: an object, a list or a JWT; its received_at in unix ms;
        whether a received_at outside the plausible window was nulled)."""
        received_at_ms = parse_instant_ms(envelope.get("received_at"), "received_at")
        implausible = received_at_ms is not None and not self.window.contains(received_at_ms)
        if implausible:
            received_at_ms = None
        inner = envelope["body"] if "body" in envelope else envelope["payload"]
        signature = _header(envelope.get("headers"), _SIGNATURE_HEADER)
        if signature is not None:
            if not isinstance(inner, str):
                detail = "a signed envelope must carry the raw body as text"
                raise RecordRejected(QuarantineReason.BAD_SIGNATURE, detail, MESSAGEBIRD)
            try:
                self.verify_messagebird_signature(
                    signature, inner, envelope.get("url"), received_at_ms
                )
            except RecordRejected as rejected:
                rejected.provider = MESSAGEBIRD
                raise
        if isinstance(inner, str):
            stripped = inner.strip()
            if JWT.fullmatch(stripped):
                return _Token(stripped), received_at_ms, implausible
            try:
                return canonical.loads(stripped), received_at_ms, implausible
            except ValueError as error:
                detail = "payload is neither JSON nor a JWT"
                raise RecordRejected(QuarantineReason.BAD_ENVELOPE, detail) from error
        if isinstance(inner, dict | list):
            return inner, received_at_ms, implausible
        raise RecordRejected(QuarantineReason.BAD_ENVELOPE, "payload is not an object or a JWT")

    def _claims(self, token: str) -> dict[str, Any]:
        """A payload JWT's claims (payload JWTs are Dialpad's: docs/contract.md §2)."""
        try:
            text = self.verify_jwt(token)
            try:
                claims = canonical.loads(text)
            except ValueError as error:
                detail = "claims are not JSON"
                raise RecordRejected(QuarantineReason.MALFORMED_JWT, detail) from error
            if not isinstance(claims, dict):
                detail = "claims are not a JSON object"
                raise RecordRejected(QuarantineReason.MALFORMED_JWT, detail)
        except RecordRejected as rejected:
            rejected.provider = DIALPAD
            raise
        return claims

    def verify_jwt(self, token: str) -> str:
        """The claims' JSON text of a token that verifies as HS256 with the Dialpad secret.

        Claims are not validated (`exp`, `nbf`, `iat`): an archived webhook stays authentic
        after its token would have expired, and a batch load runs long after delivery.
        """
        payload = _verify_hs256(token, self._dialpad)
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, "claims are not UTF-8") from error

    def verify_jwts(self, tokens: pl.Series) -> pl.DataFrame:
        """`verify_jwt` for a column of tokens (text, no nulls), one row each: the claims' JSON
        text (`claims`), or the reason and the detail `verify_jwt` refuses the token with
        (`reason`, `detail`).

        Column-wise (`HS256Verifier.verify_many`) where the signature alone decides, which is
        every token of a sound feed; `verify_jwt` itself, token by token, for the rest: the
        same outcome either way (tests/test_hs256.py). The caller parses `claims` as it parses
        plain JSON, except that claims that are not a JSON object are `malformed_jwt` from
        Dialpad, as `_claims` says (payload JWTs are Dialpad's: docs/contract.md §2).
        """
        if self._dialpad is None:
            verified = pl.Series("verified", [None] * len(tokens), dtype=pl.Boolean)
            claims = pl.Series("claims", [None] * len(tokens), dtype=pl.String)
        else:
            checked = self._dialpad.verify_many(tokens)
            verified, claims = checked.get_column("verified"), _utf8(checked.get_column("payload"))
        refused = verified.not_()
        outcome = pl.select(
            claims=claims,
            reason=pl.when(refused).then(pl.lit(str(QuarantineReason.BAD_SIGNATURE))),
            detail=pl.when(refused).then(pl.lit(hs256.SIGNATURE_FAILED)),
        )
        # not decided column-wise (malformed, padded, another algorithm, no secret, claims
        # that are not UTF-8): verify_jwt says what each is
        undecided = (verified.is_null() | (verified & claims.is_null())).arg_true()
        if undecided.is_empty():
            return outcome
        outcomes = [self._jwt_outcome(token) for token in tokens.gather(undecided).to_list()]
        return outcome.with_columns(
            outcome.get_column(name).scatter(undecided, [row[column] for row in outcomes])
            for column, name in enumerate(outcome.columns)
        )

    def _jwt_outcome(self, token: str) -> tuple[str | None, str | None, str | None]:
        """(claims, reason, detail): what `verify_jwt` says of one token, as a row."""
        try:
            return self.verify_jwt(token), None, None
        except RecordRejected as rejected:
            return None, str(rejected.reason), rejected.detail

    def verify_messagebird_signature(
        self, signature: str, body: str, url: object, received_at_ms: int | None
    ) -> None:
        """MessageBird's request signature: HS256 over claims that hash the URL and the body.

        `payload_hash` must equal SHA-256 of the raw body (and be absent only for an empty
        body); `url_hash` is checked when the envelope kept the request `url`; `nbf`/`exp` are
        checked against `received_at` when the envelope has one.
        """
        payload = _verify_hs256(signature, self._messagebird)
        try:
            claims = canonical.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise RecordRejected(QuarantineReason.MALFORMED_JWT, "claims are not JSON") from error
        if not isinstance(claims, dict) or claims.get("iss") != "MessageBird":
            raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "issuer is not MessageBird")
        body_hash = hashlib.sha256(body.encode("utf-8")).hexdigest()
        if body and not hmac.compare_digest(str(claims.get("payload_hash", "")), body_hash):
            raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "payload_hash does not match")
        if isinstance(url, str):
            url_hash = hashlib.sha256(url.encode("utf-8")).hexdigest()
            if not hmac.compare_digest(str(claims.get("url_hash", "")), url_hash):
                raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "url_hash does not match")
        if "nbf" not in claims or "exp" not in claims:
            raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "nbf or exp is missing")
        if received_at_ms is not None:
            now = received_at_ms / 1000
            if not _number(claims["nbf"]) <= now + _MESSAGEBIRD_LEEWAY_S:
                raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "not valid yet (nbf)")
            if not now - _MESSAGEBIRD_LEEWAY_S < _number(claims["exp"]):
                raise RecordRejected(QuarantineReason.BAD_SIGNATURE, "expired (exp)")


def _rejected(line: int, text: str, rejected: RecordRejected) -> Rejected:
    return Rejected(line, text, rejected.reason, rejected.detail, rejected.provider)


def _with_received_at(rejected: Rejected, received_at_ms: int | None) -> Rejected:
    """An element rejected on its own keeps its envelope's time, to be decoded again later."""
    if received_at_ms is None:
        return rejected
    return Rejected(
        rejected.line, rejected.raw_text, rejected.reason, rejected.detail, rejected.provider,
        received_at_ms,
    )  # fmt: skip


def classify(payload: Any) -> Kind:
    """Which source a payload is from; raises RecordRejected when it is none of them."""
    if not isinstance(payload, dict):
        raise RecordRejected(QuarantineReason.NOT_AN_OBJECT, type(payload).__name__)
    if "callId" in payload:
        _require(payload, "id", QuarantineReason.MISSING_ID, MESSAGEBIRD)
        _require(payload, "callId", QuarantineReason.MISSING_CALL_ID, MESSAGEBIRD)
        return Kind.MESSAGEBIRD_LEG
    if is_agent_status(payload):
        target = payload["target"]
        if not isinstance(target, dict):
            detail = "target is not an object"
            raise RecordRejected(QuarantineReason.MISSING_AGENT_ID, detail, DIALPAD)
        if is_empty(target.get("id")):
            detail = "target.id is absent or empty"
            raise RecordRejected(QuarantineReason.MISSING_AGENT_ID, detail, DIALPAD)
        return Kind.DIALPAD_AGENT_STATUS
    if "call_id" in payload or "state" in payload:
        _require(payload, "call_id", QuarantineReason.MISSING_CALL_ID, DIALPAD)
        _require(payload, "state", QuarantineReason.MISSING_STATE, DIALPAD)
        if not isinstance(payload["state"], str):
            raise RecordRejected(QuarantineReason.MISSING_STATE, "state is not text", DIALPAD)
        return Kind.DIALPAD_EVENT
    if "id" in payload and any(key in payload for key in _MESSAGEBIRD_CALL_KEYS):
        _require(payload, "id", QuarantineReason.MISSING_ID, MESSAGEBIRD)
        return Kind.MESSAGEBIRD_CALL
    detail = "neither a Dialpad call or agent status event nor a MessageBird call or leg"
    raise RecordRejected(QuarantineReason.NOT_AN_EVENT, detail)


def is_agent_status(payload: dict[str, Any]) -> bool:
    """docs/contract.md §11: a record with `target` and `on_duty_status` or
    `availability_status` and no `call_id` is a Dialpad agent status event (whatever their
    values: an empty or malformed `target` is then quarantined as `missing_agent_id`)."""
    return (
        "call_id" not in payload
        and "target" in payload
        and any(key in payload for key in _AGENT_STATUS_KEYS)
    )


def _require(payload: dict[str, Any], key: str, reason: QuarantineReason, provider: str) -> None:
    if is_empty(payload.get(key)):
        raise RecordRejected(reason, f"{key} is absent or empty", provider)


def _verify_hs256(token: str, verifier: HS256Verifier | None) -> bytes:
    """The payload of a token pinned to HS256 that verifies; each failure has its reason."""
    try:
        parts = hs256.load(token)
    except hs256.TokenError as error:
        raise RecordRejected(QuarantineReason.MALFORMED_JWT, error.detail) from error
    algorithm = parts.header.get("alg")
    if algorithm != "HS256":
        raise RecordRejected(QuarantineReason.WRONG_ALGORITHM, f"alg is {algorithm!r}")
    if verifier is None:
        raise RecordRejected(QuarantineReason.NO_SECRET, "no secret is configured for this JWT")
    try:
        return verifier.verify(parts)
    except hs256.TokenError as error:
        raise RecordRejected(_TOKEN_REASONS[error.kind], error.detail) from error


_TOKEN_REASONS = {
    "malformed": QuarantineReason.MALFORMED_JWT,
    "wrong_algorithm": QuarantineReason.WRONG_ALGORITHM,
    "bad_signature": QuarantineReason.BAD_SIGNATURE,
}


def _utf8(payloads: pl.Series) -> pl.Series:
    """Payload bytes as text; null where they are not UTF-8 (`verify_jwt` then says so)."""
    try:
        return payloads.cast(pl.String)
    except pl.exceptions.PolarsError:  # a signed payload that is not UTF-8: the rare case
        return pl.Series([_utf8_or_none(payload) for payload in payloads], dtype=pl.String)


def _utf8_or_none(payload: bytes | None) -> str | None:
    try:
        return None if payload is None else payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _verifier(key: bytes | None, name: str) -> HS256Verifier | None:
    if key is None:
        return None
    try:
        return HS256Verifier(key)
    except jwt.PyJWTError as error:  # pyjwt refuses keys that look asymmetric or like a JWK
        raise CallmartError(f"the {name} cannot be an HMAC secret: {error}") from error


def _parse(text: str) -> Any:
    if JWT.fullmatch(text):
        return _Token(text)
    try:
        return canonical.loads(text)
    except canonical.TooDeep as error:
        raise RecordRejected(QuarantineReason.NOT_JSON, str(error)) from error
    except ValueError as error:
        detail = "neither JSON nor a compact JWT"
        raise RecordRejected(QuarantineReason.NOT_JSON, detail) from error


def _is_envelope(parsed: Any) -> bool:
    if not isinstance(parsed, dict) or not ("payload" in parsed or "body" in parsed):
        return False
    # a capture layer may add its own keys (an id, say); an event's own keys rule it out
    return not any(key in parsed for key in ("call_id", "state", "callId", "status"))


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def _elements(parsed: Any) -> list[Any]:
    """A JSON array, or a list response `{"data": [...]}`, holds one record per element."""
    if isinstance(parsed, list):
        return [_Token(e) if isinstance(e, str) and JWT.fullmatch(e) else e for e in parsed]
    is_list_response = isinstance(parsed, dict) and isinstance(parsed.get("data"), list)
    if is_list_response and "call_id" not in parsed and "callId" not in parsed:
        return parsed["data"]
    return [parsed]


def _element_text(element: Any) -> str:
    """The text of one element of a list record, as it would be quarantined."""
    if isinstance(element, _Token):
        return element.token
    return canonical.canonical_json(element)


def _number(value: object) -> float:
    number = canonical.as_number(value)
    if number is None:
        raise RecordRejected(QuarantineReason.MALFORMED_JWT, "nbf/exp is not a number")
    return number


def parse_instant_ms(value: object, field: str) -> int | None:
    """Unix ms (number or numeric string) or ISO-8601 (naive means UTC) as unix ms."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordRejected(QuarantineReason.UNPARSEABLE_FIELD, field)
    number = canonical.as_number(value)
    if number is not None:
        # 1e400 is infinite: as far from any plausible instant as it gets
        return int(number) if math.isfinite(number) else _FAR_MS
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise RecordRejected(QuarantineReason.UNPARSEABLE_FIELD, field) from error
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return round(instant.timestamp() * 1000)
