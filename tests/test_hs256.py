"""The fast HS256 verifier agrees with pyjwt on every token: the differential test of issue 6."""

from __future__ import annotations

import ast
import base64
import json
import random
import warnings
from pathlib import Path

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
    # the header rules pyjwt applies on decode (ingest.hs256._header_error), one case each
    "kid not text": _sign({"alg": "HS256", "kid": 7}, json.dumps(CLAIMS).encode()),
    "kid null": _sign({"alg": "HS256", "kid": None}, json.dumps(CLAIMS).encode()),
    "kid text": _sign({"alg": "HS256", "kid": "key-1"}, json.dumps(CLAIMS).encode()),
    "crit not a list": _sign(
        {"alg": "HS256", "crit": "b64", "b64": True}, json.dumps(CLAIMS).encode()
    ),
    "crit empty": _sign({"alg": "HS256", "crit": []}, json.dumps(CLAIMS).encode()),
    "crit not text": _sign({"alg": "HS256", "crit": [1]}, json.dumps(CLAIMS).encode()),
    "unknown crit": _sign({"alg": "HS256", "crit": ["exp"], "exp": 1}, json.dumps(CLAIMS).encode()),
    "crit not in header": _sign({"alg": "HS256", "crit": ["b64"]}, json.dumps(CLAIMS).encode()),
    "crit b64 true": _sign(
        {"alg": "HS256", "crit": ["b64"], "b64": True}, json.dumps(CLAIMS).encode()
    ),
    "kid bad, crit bad": _sign({"alg": "HS256", "kid": 1, "crit": 2}, json.dumps(CLAIMS).encode()),
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


HEADER_RULES = {
    "kid not text": "Key ID header parameter must be a string",
    "kid null": "Key ID header parameter must be a string",
    "crit not a list": "Invalid 'crit' header: must be a non-empty list",
    "crit empty": "Invalid 'crit' header: must be a non-empty list",
    "crit not text": "Invalid 'crit' header: values must be strings",
    "unknown crit": "Unsupported critical extension: exp",
    "crit not in header": "Critical extension 'b64' is missing from headers",
    "kid bad, crit bad": "Key ID header parameter must be a string",
}


@pytest.mark.parametrize("name", sorted(HEADER_RULES))
def test_each_header_rule_refuses_as_pyjwt_does(name: str) -> None:
    """Same verdict and same message as pyjwt's own header check."""
    with pytest.raises(TokenError) as ours:
        load(CASES[name])
    with pytest.raises(PyJWTError) as theirs:
        jwt.get_unverified_header(CASES[name])
    assert (ours.value.kind, ours.value.detail) == ("malformed", HEADER_RULES[name])
    assert str(theirs.value) == HEADER_RULES[name]


def test_no_private_pyjwt_api_is_used() -> None:
    """pyjwt is used through public names only: a minor release may change its private ones."""
    tree = ast.parse((Path(__file__).parents[1] / "ingest" / "hs256.py").read_text())
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jwt")
        for alias in node.names
    ]
    assert imported == [("jwt.algorithms", "HMACAlgorithm")]
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private == []


def test_keys_pyjwt_refuses_are_refused() -> None:
    with pytest.raises(PyJWTError):
        HS256Verifier(b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----")
    with pytest.raises(PyJWTError):
        HS256Verifier(b'{"kty": "oct", "k": "abc"}')
