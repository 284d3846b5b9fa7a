"""The fast HS256 verifier agrees with pyjwt on every token: the differential test of issue 6,
and of issue 15's column path (`HS256Verifier.verify_many`, `Decoder.verify_jwts`)."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import pickle
import random
import warnings
from pathlib import Path

import jwt
import polars as pl
import pytest
from jwt.exceptions import InvalidAlgorithmError, InvalidSignatureError, PyJWTError

from ingest.decode import Decoder
from ingest.errors import RecordRejected
from ingest.hs256 import HS256Verifier, TokenError, _canonical_length_and_tail, _segment, load

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


def column(tokens: list[str], key: bytes = KEY) -> list[object]:
    """The column path's verdicts, each as `fast` gives it; where it does not decide, `fast`'s."""
    checked = HS256Verifier(key).verify_many(pl.Series(tokens, dtype=pl.String))
    return [
        fast(token, key) if verified is None else payload if verified else "bad_signature"
        for token, verified, payload in zip(tokens, *checked.get_columns(), strict=True)
    ]


def decided(tokens: list[str], key: bytes = KEY) -> list[bool]:
    """Whether the column path decided each token itself."""
    checked = HS256Verifier(key).verify_many(pl.Series(tokens, dtype=pl.String))
    return checked.get_column("verified").is_not_null().to_list()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(header: dict, payload: bytes, key: bytes = KEY) -> str:
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


def test_the_column_path_agrees_with_pyjwt() -> None:
    """All the cases in one column, as a chunk of a load holds them."""
    names = sorted(CASES)
    verdicts = column([CASES[name] for name in names])
    assert dict(zip(names, verdicts, strict=True)) == {n: reference(CASES[n]) for n in names}


def test_the_column_path_decides_sound_tokens_and_forgeries_itself() -> None:
    """Every token whose verdict is its signature's (it verifies, or only its signature fails)
    is decided column-wise, unless it has `=` padding; no other token is."""
    names = sorted(CASES)
    by_name = dict(zip(names, decided([CASES[name] for name in names]), strict=True))
    signature_decides = {
        name
        for name in names
        if reference(CASES[name]) not in ("malformed", "wrong_algorithm") and "=" not in CASES[name]
    }
    assert {name for name, is_decided in by_name.items() if is_decided} == signature_decides
    assert {"valid", "forged signature", "other key", "empty signature"} <= signature_decides


def test_the_cases_cover_every_verdict() -> None:
    verdicts = {v if isinstance(v, str) else "valid" for v in map(reference, CASES.values())}
    assert verdicts == {"valid", "malformed", "wrong_algorithm", "bad_signature"}
    assert fast(VALID) == json.dumps(CLAIMS, separators=(",", ":")).encode()


def test_random_mutations_get_the_same_verdict() -> None:
    rng = random.Random(20261121)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/!é "
    seeds = [CASES["valid"], CASES["alg none"], CASES["padded segments"], CASES["kid not text"]]
    disagreements, mutated = [], []
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
        mutated.append(text)
    assert disagreements == []
    verdicts = column(mutated)
    assert [t for t, v in zip(mutated, verdicts, strict=True) if v != reference(t)] == []


def _segments_with_every_character() -> list[str]:
    """Tokens whose payload (signed again) or signature has one character replaced by each of
    256 code points and a few beyond, at the last position and in the middle, for every length
    mod 4: `ingest.hs256._base64url_decoded` leaves the alphabet to polars' decoder and checks
    the rest itself, and this holds both halves to pyjwt."""
    characters = [chr(code) for code in range(256)] + ["é", "€", "\U0001f600"]
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    tokens = []
    for extra in range(4):  # the payload's length mod 4 (1 is never canonical)
        body = (_b64(json.dumps(CLAIMS).encode())[:64] + "AAA")[: 64 + extra]
        for character in characters:
            for position in (len(body) - 1, len(body) // 2):
                signing_input = f"{header}.{body[:position]}{character}{body[position + 1 :]}"
                signature = hmac.digest(KEY, signing_input.encode(), "sha256")
                tokens.append(f"{signing_input}.{_b64(signature)}")
    for position in (42, 21):
        tokens += [f"{HEAD}.{BODY}.{SIG[:position]}{c}{SIG[position + 1 :]}" for c in characters]
    return tokens


def test_every_character_in_every_position_gets_pyjwts_verdict() -> None:
    tokens = _segments_with_every_character()
    verdicts = column(tokens)
    assert [t for t, v in zip(tokens, verdicts, strict=True) if v != reference(t)] == []
    assert sum(decided(tokens)) > 100  # the alphabet's own characters are decided column-wise


def test_the_tail_check_is_segments_own() -> None:
    """polars' decoder refuses a non-canonical tail too, so the check of the tail in
    `ingest.hs256` is held to `_segment` on its own: every character last, every length."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    texts = [("QUJD" * 2)[:length] + last for length in range(4, 8) for last in alphabet]
    checked = pl.select(_canonical_length_and_tail(pl.lit(pl.Series(texts)))).to_series()
    assert checked.to_list() == [_decodes(text) for text in texts]


def _decodes(text: str) -> bool:
    try:
        _segment(text.encode(), "payload")
    except TokenError:
        return False
    return True


def test_a_sliced_or_chunked_column_is_verified_row_by_row() -> None:
    """The HMAC reads the tokens' one Arrow buffer by offsets: a slice or several chunks must
    not shift them."""
    tokens = [CASES["valid"], CASES["forged signature"], CASES["kid text"], CASES["other key"]]
    expected = [reference(token) for token in tokens]
    chunked = pl.concat([pl.Series(tokens[:2]), pl.Series(tokens[2:])], rechunk=False)
    assert chunked.n_chunks() == 2
    for series in (chunked, pl.Series(["x", *tokens, "y"]).slice(1, 4)):
        checked = HS256Verifier(KEY).verify_many(series)
        verdicts = [
            payload if verified else "bad_signature"
            for verified, payload in zip(*checked.get_columns(), strict=True)
        ]
        assert verdicts == expected


@pytest.mark.parametrize("size", [1, 4, 32, 63, 64, 65, 131, 300])
def test_the_precomputed_hmac_is_hmac(size: int) -> None:
    key = bytes(index % 251 for index in range(size))
    message = b"eyJhbGciOiJIUzI1NiJ9." + bytes(range(256)) * 5
    assert HS256Verifier(key).sign(message) == hmac.digest(key, message, "sha256")


def test_a_verifier_pickles_as_its_key() -> None:
    """A load sends its decoder to worker processes (spawn): the verifier must pickle."""
    verifier = pickle.loads(pickle.dumps(HS256Verifier(KEY)))
    assert verifier.verify(load(CASES["valid"])) == fast(CASES["valid"])
    decoder = pickle.loads(pickle.dumps(Decoder(KEY)))
    assert decoder.verify_jwts(pl.Series([CASES["valid"]])).rows() == [
        (json.dumps(CLAIMS, separators=(",", ":")), None, None)
    ]


def test_rfc_4231_test_vectors() -> None:
    """HMAC-SHA-256 of RFC 4231's test cases 2 and 6 (a key longer than the block is hashed)."""
    jefe = HS256Verifier(b"Jefe").sign(b"what do ya want for nothing?")
    assert jefe.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    long_key = HS256Verifier(b"\xaa" * 131).sign(
        b"Test Using Larger Than Block-Size Key - Hash Key First"
    )
    assert long_key.hex() == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def _verify_jwt(decoder: Decoder, token: str) -> tuple[str | None, str | None, str | None]:
    try:
        return decoder.verify_jwt(token), None, None
    except RecordRejected as rejected:
        return None, str(rejected.reason), rejected.detail


def test_verify_jwts_says_what_verify_jwt_says() -> None:
    """The decoder's column of outcomes, row by row, with and without a secret; claims that
    are not UTF-8 or not JSON included (the caller parses the JSON)."""
    rng = random.Random(15)
    tokens = [*CASES.values(), _sign({"alg": "HS256"}, b"\xff\xfe{}"), _sign({"alg": "HS256"}, b"")]
    tokens += ["".join(rng.sample(CASES["valid"], len(CASES["valid"]))) for _ in range(50)]
    tokens += [CASES["valid"]] * 3 + [CASES["forged signature"]] * 2
    for decoder in (Decoder(KEY), Decoder(None), Decoder(b"another-secret-0123456789abcdef0123")):
        outcomes = decoder.verify_jwts(pl.Series(tokens, dtype=pl.String))
        assert outcomes.columns == ["claims", "reason", "detail"]
        assert outcomes.rows() == [_verify_jwt(decoder, token) for token in tokens]


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
