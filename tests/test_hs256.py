"""The fast HS256 verifier agrees with pyjwt on every token: the differential test of issue 6."""

from __future__ import annotations

import base64
import json
import random
import warnings

import jwt
import pytest
from jwt.exceptions import InvalidAlgorithmError, InvalidSignatureError, PyJWTError

from ingest.hs256 import HS256Verifier, TokenError, load

KEY = b"differential-secret-0123456789abcdef0123456789"
CLAIMS = {"call_id": 4978137078431744, "state": "hangup", "duration": 16464.904000000002}


def reference(token: str, key: bytes = KEY) -> object:
    """pyjwt's verdict, in the decoder's order: header first, then algorithm, then signature."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            return "malformed"
        if header.get("alg") != "HS256":
            return "wrong_algorithm"
        try:
            return jwt.api_jws.decode_complete(token, key, algorithms=["HS256"])["payload"]
        except InvalidSignatureError:
            return "bad_signature"
        except InvalidAlgorithmError:
            return "wrong_algorithm"
        except PyJWTError:
            return "malformed"


def fast(token: str, key: bytes = KEY) -> object:
    try:
        return HS256Verifier(key).verify(load(token))
    except TokenError as error:
        return error.kind


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(header: dict, payload: bytes, key: bytes = KEY) -> str:
    import hashlib
    import hmac

    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


VALID = jwt.encode(CLAIMS, KEY, algorithm="HS256")
HEAD, BODY, SIG = VALID.split(".")

CASES = {
    "valid": VALID,
    "forged signature": f"{HEAD}.{BODY}.{_b64(b'x' * 32)}",
    "other key": jwt.encode(CLAIMS, b"another-secret-0123456789abcdef01234567", algorithm="HS256"),
    "alg none": jwt.encode(CLAIMS, None, algorithm="none"),
    "alg HS512": jwt.encode(CLAIMS, KEY + KEY, algorithm="HS512"),
    "alg RS256 header": _sign({"alg": "RS256", "typ": "JWT"}, json.dumps(CLAIMS).encode()),
    "no alg": _sign({"typ": "JWT"}, json.dumps(CLAIMS).encode()),
    "padded segments": f"{HEAD}==.{BODY}.{SIG}",
    "signature with padding": f"{HEAD}.{BODY}.{SIG}=",
    "three padding chars": f"{HEAD}.{BODY}.{SIG}===",
    "bad base64 character": f"{HEAD}.{BODY[:-1]}!.{SIG}",
    "standard base64 alphabet": f"{HEAD}.{BODY.replace('-', '+').replace('_', '/')}.{SIG}",
    "non-canonical base64 tail": f"{HEAD}.{BODY}.{SIG[:-1]}{'B' if SIG[-1] != 'B' else 'C'}",
    "length 1 mod 4": f"{HEAD}.{BODY}.{SIG}A",
    "truncated": VALID[: len(VALID) // 2],
    "two segments": f"{HEAD}.{BODY}",
    "one segment": HEAD,
    "extra segment": f"{VALID}.{SIG}",
    "empty parts": "..",
    "header not JSON": f"{_b64(b'not json')}.{BODY}.{SIG}",
    "header a list": _sign([], json.dumps(CLAIMS).encode()),  # type: ignore[arg-type]
    "non-JSON payload, signed": _sign({"alg": "HS256"}, b"not json at all"),
    "kid not text": _sign({"alg": "HS256", "kid": 7}, json.dumps(CLAIMS).encode()),
    "unknown crit": _sign({"alg": "HS256", "crit": ["exp"], "exp": 1}, json.dumps(CLAIMS).encode()),
    "b64 false": _sign({"alg": "HS256", "b64": False, "crit": ["b64"]}, b""),
    "empty signature": f"{HEAD}.{BODY}.",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_agrees_with_pyjwt(name: str) -> None:
    assert fast(CASES[name]) == reference(CASES[name])


def test_the_cases_cover_every_verdict() -> None:
    verdicts = {v if isinstance(v, str) else "valid" for v in map(reference, CASES.values())}
    assert verdicts == {"valid", "malformed", "wrong_algorithm", "bad_signature"}
    assert fast(VALID) == json.dumps(CLAIMS, separators=(",", ":")).encode()


def test_random_mutations_get_the_same_verdict() -> None:
    rng = random.Random(20261121)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/!é "
    seeds = [CASES["valid"], CASES["alg none"], CASES["padded segments"], CASES["kid not text"]]
    disagreements = []
    for _ in range(4000):
        token = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(token) + 1)
            action = rng.random()
            if action < 0.4 and position < len(token):
                token[position] = rng.choice(alphabet)
            elif action < 0.7:
                token.insert(position, rng.choice(alphabet))
            elif position < len(token):
                del token[position]
        text = "".join(token)
        if fast(text) != reference(text):
            disagreements.append(text)
    assert disagreements == []


def test_keys_pyjwt_refuses_are_refused() -> None:
    with pytest.raises(PyJWTError):
        HS256Verifier(b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----")
    with pytest.raises(PyJWTError):
        HS256Verifier(b'{"kty": "oct", "k": "abc"}')
