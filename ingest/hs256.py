"""HS256 verification of compact JWTs, exactly as strict as pyjwt's and ten to thirty times faster.

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

A load verifies whole chunks at once (`HS256Verifier.verify_many`, about 4 µs a token instead of
this module's 27 per token, issue 15): a token whose header passed every check once for its
chunk, and whose payload and signature are canonical base64url without padding, has the
verdict of its signature alone, so the base64 work is done column-wise by polars and only the
HMAC is computed token by token, from precomputed key states. Every other token gets its
verdict from the per-token path above; the differential test runs both.
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

import polars as pl
import pyarrow as pa
from jwt.algorithms import HMACAlgorithm

_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")
SIGNATURE_BYTES = hashlib.sha256().digest_size  # an HS256 signature's length
SIGNATURE_FAILED = "Signature verification failed"  # pyjwt's words, on either path
_BLOCK_BYTES = hashlib.sha256().block_size  # HMAC's key block (RFC 2104)
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


def decides_alone(header_segment: bytes) -> bool:
    """Whether a token with this header segment has the verdict of its signature alone: the
    header decodes, passes every check of `load` and names HS256 (issue 15's column path)."""
    try:
        header = _header(header_segment)
        _validate_header(header_segment)
    except TokenError:
        return False
    return header.get("alg") == "HS256"


class HS256Verifier:
    """Verifies tokens against one secret, prepared once as pyjwt prepares it."""

    def __init__(self, key: bytes) -> None:
        self._key = HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)
        # HMAC (RFC 2104) is SHA-256 over the key's inner pad, then the message, then the same
        # over the outer pad and that digest: both pads hashed once here, each state copied per
        # token (a third less CPU than `hmac.digest`, which sets the key up on every call)
        block = self._key if len(self._key) <= _BLOCK_BYTES else hashlib.sha256(self._key).digest()
        block = block.ljust(_BLOCK_BYTES, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def __reduce__(self) -> tuple[type[HS256Verifier], tuple[bytes]]:
        """Pickled as its key: a load sends its decoder to the worker processes, and hash
        states do not pickle (the key prepared again is the same key)."""
        return (HS256Verifier, (self._key,))

    def sign(self, signing_input: bytes | memoryview) -> bytes:
        """HMAC-SHA256 of `signing_input` with the key: what `hmac.digest` computes."""
        inner = self._inner.copy()
        inner.update(signing_input)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def verify(self, parts: Parts) -> bytes:
        """The payload bytes of a token whose `alg` is HS256 and whose signature verifies."""
        if parts.header.get("alg") != "HS256":
            raise TokenError("wrong_algorithm", "The specified alg value is not allowed")
        if not hmac.compare_digest(parts.signature, self.sign(parts.signing_input)):
            raise TokenError("bad_signature", SIGNATURE_FAILED)
        return parts.payload

    def verify_many(self, tokens: pl.Series) -> pl.DataFrame:
        """`verify(load(token))` for a column of tokens, column-wise where the signature alone
        decides: one row per token, `verified` and `payload` (Binary).

        `verified` is true when the token verifies (`payload` holds its payload), false when it
        is well formed, HS256, and its signature does not verify (`bad_signature`,
        SIGNATURE_FAILED), and null when this path does not decide: anything but three
        segments of canonical base64url without `=` padding under a header that
        `decides_alone`. Those tokens, rare in a real feed, get their verdict from `load` and
        `verify`, one at a time.
        """
        headers = tokens.str.splitn(".", 2).struct.field("field_0").drop_nulls().unique()
        plain_headers = [header for header in headers if decides_alone(header.encode())]
        token = pl.col("token")
        frame = (
            tokens.to_frame("token")
            .lazy()
            .select(
                token.str.splitn(".", 3)
                .struct.rename_fields(["header", "payload", "signature"])
                .struct.unnest(),
                # '+', '/' and '=' are not base64url; a fourth segment is a dot too many
                shaped=(token.str.count_matches(".", literal=True) == 2)
                & ~token.str.contains("[+/=]"),
            )
            .with_columns(
                decided=pl.col("shaped") & pl.col("header").is_in(plain_headers),
                # the signing input: all but the last dot and the signature
                signed_bytes=pl.col("header").str.len_bytes()
                + 1
                + pl.col("payload").str.len_bytes(),
            )
            .pipe(_base64url_decoded, "payload", "signature")
            .with_columns(
                decided=pl.col("decided")
                & pl.col("payload").is_not_null()
                & pl.col("signature").is_not_null()
            )
            .collect()
        )
        data, starts = _buffer(tokens)
        sign = self.sign
        verified = [
            hmac.compare_digest(signature, sign(data[start : start + length])) if decided else None
            for decided, signature, length, start in zip(
                frame.get_column("decided").to_list(),
                frame.get_column("signature").to_list(),
                frame.get_column("signed_bytes").to_list(),
                starts,
                strict=True,
            )
        ]
        return frame.select(
            verified=pl.Series(verified, dtype=pl.Boolean),
            payload=pl.col("payload"),
        ).with_columns(payload=pl.when("verified").then("payload"))


# the last character of canonical base64url after 2 or 3 of a group of 4: its low 4 or 2 bits
# are padding and zero (the base64 values that are multiples of 16, of 4)
_LAST_OF_2 = list("AQgw")
_LAST_OF_3 = list("AEIMQUYcgkosw048")


def _base64url_decoded(frame: pl.LazyFrame, *names: str) -> pl.LazyFrame:
    """Each named column of base64url text without `=` as its bytes where `_segment` would
    decode it, else null.

    `_segment`'s rules, column-wise: a length other than 1 mod 4 and a last character whose
    padding bits are zero are checked here; that every character is in the alphabet, by the
    decoder (polars': the standard alphabet, padding required), once '-' and '_' are written as
    '+' and '/' (the caller refused '+' and '/' themselves). tests/test_hs256.py holds this to
    `_segment` on every byte in every position that matters.
    """
    return (
        frame.with_columns(
            pl.when(_canonical_length_and_tail(pl.col(name)))
            .then(pl.col(name).str.replace_many(["-", "_"], ["+", "/"]))
            .alias(name)
            for name in names
        )
        .with_columns(
            pl.col(name).str.pad_end((pl.col(name).str.len_bytes() + 3) // 4 * 4, "=")
            for name in names
        )
        .with_columns(pl.col(name).str.decode("base64", strict=False) for name in names)
    )


def _canonical_length_and_tail(text: pl.Expr) -> pl.Expr:
    rest, last = text.str.len_bytes() % 4, text.str.slice(-1)
    return (
        (rest == 0)
        | ((rest == 2) & last.is_in(_LAST_OF_2))
        | ((rest == 3) & last.is_in(_LAST_OF_3))
    )


def _buffer(column: pl.Series) -> tuple[memoryview, list[int]]:
    """A text column's bytes as one buffer, and where each value starts in it: hashing a
    token's signing input then copies nothing."""
    array = column.cast(pl.Binary).rechunk().to_arrow().cast(pa.large_binary())
    _, offsets, data = array.buffers()
    starts = memoryview(offsets).cast("q")[array.offset : array.offset + len(array)].tolist()
    return memoryview(data if data is not None else b""), starts


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
