"""HS256 verification of compact JWTs, exactly as strict as pyjwt's and about ten times faster.

pyjwt (`jwt.api_jws.decode_complete` with `algorithms=["HS256"]`) is the reference; this
module follows its steps in the same order with the same outcomes, and
`tests/test_hs256.py` feeds both the same tokens (valid, forged, other algorithms, bad
base64, truncated, extra segments, non-JSON parts, random mutations) to prove they agree.
Why not pyjwt itself: it checks the base64url alphabet one byte at a time in Python and
prepares the key on every call, about 90 µs a token; real Dialpad feeds are JWTs whenever a
secret is set, so that cost is most of a load. Here the alphabet check is one regular
expression, the key is prepared once (by pyjwt's own `HMACAlgorithm.prepare_key`, so the same
keys are refused), and the header is checked by the rules pyjwt 2.x's `PyJWS` applies on decode
(`_header_error` below, restated here rather than reached through pyjwt's private methods; the
differential test holds them to pyjwt's, one case per rule). pyproject.toml pins pyjwt to the
major version that test runs against.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import HMACAlgorithm

_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")
SIGNATURE_BYTES = hashlib.sha256().digest_size  # an HS256 signature's length
# the critical extensions pyjwt understands (RFC 7515 section 4.1.11): only RFC 7797's `b64`
_SUPPORTED_CRIT = frozenset({"b64"})


class TokenError(Exception):
    """Why a token does not verify: `malformed`, `wrong_algorithm` or `bad_signature`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Parts:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def load(token: str) -> Parts:
    """pyjwt's `_load` and header validation: the parts of a well-formed token, or TokenError."""
    raw = token.encode("utf-8")
    try:
        signing_input, crypto_segment = raw.rsplit(b".", 1)
        header_segment, payload_segment = signing_input.split(b".", 1)
    except ValueError as error:
        raise TokenError("malformed", "Not enough segments") from error
    header = _header(header_segment)
    payload = _segment(payload_segment, "payload")
    signature = _segment(crypto_segment, "crypto")
    _validate_header(header_segment)
    return Parts(header, payload, signing_input, signature)


@functools.lru_cache(maxsize=256)
def _header(segment: bytes) -> dict[str, Any]:
    """The decoded header; a feed's tokens share a handful of headers, so each is read once."""
    header_data = _segment(segment, "header")
    try:
        header = json.loads(header_data)
    except (ValueError, RecursionError) as error:
        raise TokenError("malformed", f"Invalid header string: {error}") from error
    if not isinstance(header, dict):
        raise TokenError("malformed", "Invalid header string: must be a json object")
    if header.get("b64", True) is False:
        # pyjwt accepts an empty payload segment here, then refuses the token in
        # decode_complete (no detached payload is ever given): malformed either way.
        raise TokenError("malformed", "detached payloads (b64 false) are not accepted")
    return header


@functools.lru_cache(maxsize=256)
def _validate_header(segment: bytes) -> None:
    """The header checks pyjwt makes on decode, after the other segments decoded (pyjwt's
    order of errors)."""
    error = _header_error(_header(segment))
    if error is not None:
        raise TokenError("malformed", error)


def _header_error(header: dict[str, Any]) -> str | None:
    """Why pyjwt 2.x refuses this header on decode (`PyJWS._validate_headers`), or None.

    - `kid`, when present, is a string;
    - `crit`, when present, is a non-empty list of strings, each an extension pyjwt supports
      (`b64`) and each present in the header.
    """
    if "kid" in header and not isinstance(header["kid"], str):
        return "Key ID header parameter must be a string"
    if "crit" not in header:
        return None
    crit = header["crit"]
    if not isinstance(crit, list) or len(crit) == 0:
        return "Invalid 'crit' header: must be a non-empty list"
    for extension in crit:
        if not isinstance(extension, str):
            return "Invalid 'crit' header: values must be strings"
        if extension not in _SUPPORTED_CRIT:
            return f"Unsupported critical extension: {extension}"
        if extension not in header:
            return f"Critical extension '{extension}' is missing from headers"
    return None


class HS256Verifier:
    """Verifies tokens against one secret, prepared once as pyjwt prepares it."""

    def __init__(self, key: bytes) -> None:
        self._key = HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)

    def verify(self, parts: Parts) -> bytes:
        """The payload bytes of a token whose `alg` is HS256 and whose signature verifies."""
        if parts.header.get("alg") != "HS256":
            raise TokenError("wrong_algorithm", "The specified alg value is not allowed")
        expected = hmac.new(self._key, parts.signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(parts.signature, expected):
            raise TokenError("bad_signature", "Signature verification failed")
        return parts.payload


def _segment(segment: bytes, name: str) -> bytes:
    """pyjwt's `_decode_base64url_segment`: canonical base64url, optional trailing '='."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4 != 0):
        raise TokenError("malformed", f"Invalid {name} padding")
    if len(stripped) % 4 == 1 or not _BASE64URL.fullmatch(stripped):
        raise TokenError("malformed", f"Invalid {name} padding")
    try:
        decoded = base64.urlsafe_b64decode(stripped + b"=" * (-len(stripped) % 4))
    except (TypeError, binascii.Error) as error:
        raise TokenError("malformed", f"Invalid {name} padding") from error
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped:
        raise TokenError("malformed", f"Invalid {name} padding")
    return decoded
