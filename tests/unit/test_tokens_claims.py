"""TokenVerifier step 6: the claim matrix, on real RS256 tokens and a real in-memory KeySet."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from okta_authorizer.errors import Reason
from okta_authorizer.localdev.keys import (
    SigningKey,
    client_credentials_claims,
    okta_claims,
)
from okta_authorizer.tokens import AccessToken, TokenVerifier
from tests.support import (
    ACME_ISSUER,
    TOKEN_AUDIENCE,
    TOKEN_NOW,
    MemoryJwksFetcher,
    memory_verifier,
    sign_raw,
    token_error_reason,
)

ISSUER = ACME_ISSUER
AUDIENCE = TOKEN_AUDIENCE
NOW = TOKEN_NOW
SKEW = 60
WEB_APP = "0oa1webapp"
REPORTING_JOB = "0oa1reportingjob"


def make_verifier(rsa_key: SigningKey, **settings: Any) -> tuple[TokenVerifier, MemoryJwksFetcher]:
    return memory_verifier([rsa_key.public_jwk()], **settings)


@pytest.fixture
def verifier(rsa_key: SigningKey) -> TokenVerifier:
    """A verifier trusting ISSUER, with a client allow-list, at wall time NOW."""
    verifier, _ = make_verifier(
        rsa_key, allowed_client_ids=frozenset({WEB_APP, REPORTING_JOB}), clock_skew_seconds=SKEW
    )
    return verifier


def claims(**changes: Any) -> dict[str, Any]:
    """Okta-shaped claims issued at NOW; a change to None removes the claim."""
    base = okta_claims(ISSUER, AUDIENCE, scopes=("beds:read", "beds:write"), now=NOW)
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def test_tokens_okta_shaped_token_passes(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    # GIVEN an access token shaped like Okta's: header alg + kid only, ver/jti/uid/scp claims
    issued = claims()
    token = rsa_key.token(issued)

    # WHEN it is verified
    result = verifier.verify(token)

    # THEN every trusted field is read from it
    assert result == AccessToken(
        claims=issued,
        scopes=("beds:read", "beds:write"),
        sub="nurse.joy@example.com",
        cid=WEB_APP,
        uid="00u1nursejoy",
        jti=issued["jti"],
        exp=NOW + 3600,
        issuer=ISSUER,
        kid=rsa_key.kid,
    )


def test_tokens_client_credentials_token_passes_without_uid(
    verifier: TokenVerifier, rsa_key: SigningKey
) -> None:
    # GIVEN a client-credentials token: no uid, sub is the client id
    token = rsa_key.token(
        client_credentials_claims(ISSUER, AUDIENCE, REPORTING_JOB, scopes=("reports:run",), now=NOW)
    )

    # WHEN it is verified
    result = verifier.verify(token)

    # THEN it passes with the client as subject and no user id
    assert (result.sub, result.cid, result.uid) == (REPORTING_JOB, REPORTING_JOB, None)
    assert result.scopes == ("reports:run",)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("beds:read beds:write", ("beds:read", "beds:write")),
        ("beds:read", ("beds:read",)),
        ("", ()),
        ("beds:read  beds:read", ("beds:read",)),
    ],
    ids=["two-scopes", "one-scope", "empty", "repeated-scope"],
)
def test_tokens_scope_string_claim_is_split_into_scopes(
    verifier: TokenVerifier, rsa_key: SigningKey, scope: str, expected: tuple[str, ...]
) -> None:
    # GIVEN a token carrying the RFC 9068 space-separated `scope` instead of Okta's `scp` list
    token = rsa_key.token(claims(scp=None, scope=scope))

    # WHEN / THEN its scopes are the words of the string
    assert verifier.verify(token).scopes == expected


@pytest.mark.parametrize(
    ("scp", "expected"),
    [
        (["beds:read", "beds:write"], ("beds:read", "beds:write")),
        (["beds:write", "beds:read", "beds:write"], ("beds:write", "beds:read")),
        ([], ()),
    ],
    ids=["distinct-scopes-in-order", "repeated-scope-kept-once-first-place", "empty-list"],
)
def test_tokens_scp_list_becomes_scopes_each_once_in_order(
    verifier: TokenVerifier, rsa_key: SigningKey, scp: list[str], expected: tuple[str, ...]
) -> None:
    # GIVEN Okta's `scp` list, possibly naming a scope twice
    token = rsa_key.token(claims(scp=scp))

    # WHEN / THEN each scope appears once, where it first appeared
    assert verifier.verify(token).scopes == expected


def test_tokens_token_without_scope_claims_has_no_scopes(
    verifier: TokenVerifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.token(claims(scp=None))

    assert verifier.verify(token).scopes == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": NOW - SKEW + 1},
        {"nbf": NOW + SKEW},
        {"iat": NOW + SKEW},
        {"aud": ["api://other", AUDIENCE]},
        {"typ_header": "at+jwt"},
        {"typ_header": "JWT"},
    ],
    ids=[
        "expired-within-leeway",
        "nbf-future-within-leeway",
        "iat-future-within-leeway",
        "aud-list-with-ours",
        "typ-at+jwt",
        "typ-JWT",
    ],
)
def test_tokens_edge_of_validity_passes(
    verifier: TokenVerifier, rsa_key: SigningKey, changes: dict[str, Any]
) -> None:
    # GIVEN a token at the edge of what is accepted
    typ = changes.pop("typ_header", None)
    header = {"kid": rsa_key.kid, "alg": "RS256"} | ({"typ": typ} if typ else {})
    token = rsa_key.token(claims(**changes), header=header)

    # WHEN / THEN it is accepted
    assert verifier.verify(token).sub == "nurse.joy@example.com"


REJECTED_CLAIMS: list[tuple[str, dict[str, Any], Reason]] = [
    ("iss-wrong", {"iss": "https://evil.okta.com/oauth2/default"}, Reason.UNTRUSTED_ISSUER),
    ("iss-trailing-slash", {"iss": f"{ISSUER}/"}, Reason.UNTRUSTED_ISSUER),
    ("iss-missing", {"iss": None}, Reason.UNTRUSTED_ISSUER),
    ("iss-not-string", {"iss": ["https://acme.okta.com/oauth2/default"]}, Reason.UNTRUSTED_ISSUER),
    ("iss-okta-org-server", {"iss": "https://acme.okta.com"}, Reason.UNTRUSTED_ISSUER),
    ("aud-wrong", {"aud": "api://other"}, Reason.WRONG_AUDIENCE),
    ("aud-list-without-ours", {"aud": ["api://a", "api://b"]}, Reason.WRONG_AUDIENCE),
    ("aud-missing", {"aud": None}, Reason.WRONG_AUDIENCE),
    ("aud-empty-list", {"aud": []}, Reason.WRONG_AUDIENCE),
    ("aud-list-with-non-string", {"aud": [AUDIENCE, 1]}, Reason.WRONG_AUDIENCE),
    ("aud-object", {"aud": {AUDIENCE: True}}, Reason.WRONG_AUDIENCE),
    ("exp-missing", {"exp": None}, Reason.MALFORMED_TOKEN),
    ("iat-missing", {"iat": None}, Reason.MALFORMED_TOKEN),
    ("exp-string", {"exp": str(NOW + 3600)}, Reason.MALFORMED_TOKEN),
    ("exp-float", {"exp": NOW + 3600.5}, Reason.MALFORMED_TOKEN),
    ("exp-float-integral", {"exp": float(NOW + 3600)}, Reason.MALFORMED_TOKEN),
    ("exp-bool", {"exp": True}, Reason.MALFORMED_TOKEN),
    ("exp-beyond-safe-integers", {"exp": 10**30}, Reason.MALFORMED_TOKEN),
    ("iat-string", {"iat": str(NOW)}, Reason.MALFORMED_TOKEN),
    ("iat-bool", {"iat": False}, Reason.MALFORMED_TOKEN),
    ("iat-float", {"iat": NOW + 0.5}, Reason.MALFORMED_TOKEN),
    ("iat-beyond-safe-integers", {"iat": 10**30}, Reason.MALFORMED_TOKEN),
    ("nbf-string", {"nbf": str(NOW)}, Reason.MALFORMED_TOKEN),
    ("nbf-bool", {"nbf": True}, Reason.MALFORMED_TOKEN),
    ("nbf-float", {"nbf": NOW - 0.5}, Reason.MALFORMED_TOKEN),
    ("nbf-beyond-safe-integers", {"nbf": 10**30}, Reason.MALFORMED_TOKEN),
    ("exp-below-safe-integers", {"exp": -(10**30)}, Reason.MALFORMED_TOKEN),
    ("iat-below-safe-integers", {"iat": -(10**30)}, Reason.MALFORMED_TOKEN),
    ("exp-beyond-leeway", {"exp": NOW - SKEW - 1}, Reason.EXPIRED),
    ("exp-at-leeway-boundary", {"exp": NOW - SKEW}, Reason.EXPIRED),
    ("nbf-future-beyond-leeway", {"nbf": NOW + SKEW + 1}, Reason.NOT_YET_VALID),
    ("iat-future-beyond-leeway", {"iat": NOW + SKEW + 1}, Reason.NOT_YET_VALID),
    ("cid-not-allowed", {"cid": "0oa1stranger"}, Reason.CLIENT_NOT_ALLOWED),
    ("cid-missing-with-allow-list", {"cid": None}, Reason.CLIENT_NOT_ALLOWED),
    ("cid-not-string", {"cid": 7}, Reason.MALFORMED_TOKEN),
    ("sub-missing", {"sub": None}, Reason.MALFORMED_TOKEN),
    ("sub-empty", {"sub": ""}, Reason.MALFORMED_TOKEN),
    ("sub-not-string", {"sub": 42}, Reason.MALFORMED_TOKEN),
    ("scp-string", {"scp": "beds:read"}, Reason.MALFORMED_TOKEN),
    ("scp-list-with-number", {"scp": ["beds:read", 1]}, Reason.MALFORMED_TOKEN),
    ("scp-list-with-list", {"scp": [["beds:read"]]}, Reason.MALFORMED_TOKEN),
    ("scp-object", {"scp": {"beds:read": True}}, Reason.MALFORMED_TOKEN),
    ("scope-list", {"scp": None, "scope": ["beds:read"]}, Reason.MALFORMED_TOKEN),
    ("uid-not-string", {"uid": 1}, Reason.MALFORMED_TOKEN),
    ("jti-not-string", {"jti": {"id": 1}}, Reason.MALFORMED_TOKEN),
]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [(changes, reason) for _, changes, reason in REJECTED_CLAIMS],
    ids=[case_id for case_id, _, _ in REJECTED_CLAIMS],
)
def test_tokens_invalid_claims_are_rejected_with_reason(
    verifier: TokenVerifier, rsa_key: SigningKey, changes: dict[str, Any], reason: Reason
) -> None:
    # GIVEN a correctly signed token whose claims break one rule
    token = rsa_key.token(claims(**changes))

    # WHEN / THEN it is rejected with that rule's reason code
    assert token_error_reason(verifier.verify, token) is reason


@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
def test_tokens_exp_1e999_in_raw_json_is_malformed(
    verifier: TokenVerifier, rsa_key: SigningKey, name: str
) -> None:
    # GIVEN a signed payload whose JSON text really says e.g. "exp":1e999 (infinity once parsed)
    body = json.dumps(claims(**{name: None}), separators=(",", ":"))
    payload = body[:-1] + f',"{name}":1e999}}'
    assert f'"{name}":1e999' in payload
    token = sign_raw(rsa_key, json.dumps({"kid": rsa_key.kid, "alg": "RS256"}), payload)

    # WHEN / THEN it is malformed, not an overflow and not a token that never expires
    assert token_error_reason(verifier.verify, token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize("name", ["cid", "uid", "jti", "scp", "sub"])
def test_tokens_optional_claim_present_as_null_is_malformed(
    verifier: TokenVerifier, rsa_key: SigningKey, name: str
) -> None:
    # GIVEN a signed payload whose JSON text says e.g. "uid":null (present, not absent)
    body = json.dumps(claims(**{name: None}), separators=(",", ":"))
    token = sign_raw(
        rsa_key, json.dumps({"kid": rsa_key.kid, "alg": "RS256"}), body[:-1] + f',"{name}":null}}'
    )

    # WHEN / THEN null is not a string (or list), so the token is malformed
    assert token_error_reason(verifier.verify, token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity"], ids=["nan", "infinity", "minus-infinity"]
)
def test_tokens_non_json_constants_in_payload_are_malformed(
    verifier: TokenVerifier, rsa_key: SigningKey, literal: str
) -> None:
    # GIVEN a signed payload using Python's JSON extensions, which are not JSON
    body = json.dumps(claims(), separators=(",", ":"))
    token = sign_raw(
        rsa_key, json.dumps({"kid": rsa_key.kid, "alg": "RS256"}), body[:-1] + f',"x":{literal}}}'
    )

    # WHEN / THEN the payload is refused
    assert token_error_reason(verifier.verify, token) is Reason.MALFORMED_TOKEN


def test_tokens_payload_with_whitespace_around_json_passes(
    verifier: TokenVerifier, rsa_key: SigningKey
) -> None:
    # GIVEN header and payload JSON with the whitespace JSON allows around a value
    header = json.dumps({"kid": rsa_key.kid, "alg": "RS256"}, indent=1)
    token = sign_raw(rsa_key, f" {header}\n", "\t" + json.dumps(claims(), indent=2) + "\r\n")

    # WHEN / THEN it verifies like the compact form
    assert verifier.verify(token).issuer == ISSUER


def test_tokens_payload_with_trailing_data_is_malformed(
    verifier: TokenVerifier, rsa_key: SigningKey
) -> None:
    # GIVEN a payload with a second JSON value after the object
    header = json.dumps({"kid": rsa_key.kid, "alg": "RS256"})
    token = sign_raw(rsa_key, header, json.dumps(claims()) + ' {"scp":["admin"]}')

    # WHEN / THEN it is malformed
    assert token_error_reason(verifier.verify, token) is Reason.MALFORMED_TOKEN


def test_tokens_org_server_issuer_is_logged_clearly_without_the_token(
    verifier: TokenVerifier, rsa_key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a token from Okta's org authorization server (no /oauth2/ in its issuer)
    token = rsa_key.token(claims(iss="https://acme.okta.com"))

    # WHEN it is verified
    with caplog.at_level(logging.WARNING, logger="okta_authorizer.tokens"):
        reason = token_error_reason(verifier.verify, token)

    # THEN it is untrusted, the log says why, and neither the token nor its signature is logged
    assert reason is Reason.UNTRUSTED_ISSUER
    assert "org authorization server" in caplog.text
    assert "https://acme.okta.com" in caplog.text
    assert token.split(".")[2] not in caplog.text
    assert token.split(".")[1] not in caplog.text


def test_tokens_untrusted_issuer_is_rejected_before_any_key_fetch(rsa_key: SigningKey) -> None:
    # GIVEN a verifier whose key set has never been loaded
    verifier, fetcher = make_verifier(rsa_key)
    token = rsa_key.token(claims(iss="https://evil.example/oauth2/default"))

    # WHEN a token names another issuer
    reason = token_error_reason(verifier.verify, token)

    # THEN it is rejected without touching the network
    assert reason is Reason.UNTRUSTED_ISSUER
    assert fetcher.calls == 0


def test_tokens_without_client_allow_list_any_client_passes(rsa_key: SigningKey) -> None:
    # GIVEN no ALLOWED_CLIENT_IDS
    verifier, _ = make_verifier(rsa_key)

    # WHEN a token from any client arrives, THEN it passes
    assert verifier.verify(rsa_key.token(claims(cid="0oa1stranger"))).cid == "0oa1stranger"


def test_tokens_clock_skew_setting_widens_the_leeway(rsa_key: SigningKey) -> None:
    # GIVEN a 300 s leeway
    verifier, _ = make_verifier(rsa_key, clock_skew_seconds=300)

    # WHEN a token expired 299 s ago arrives, THEN it still passes
    assert verifier.verify(rsa_key.token(claims(exp=NOW - 299))).exp == NOW - 299


def test_tokens_zero_clock_skew_rejects_token_expiring_now(rsa_key: SigningKey) -> None:
    # GIVEN no leeway at all
    verifier, _ = make_verifier(rsa_key, clock_skew_seconds=0)

    # WHEN a token whose exp is exactly now arrives, THEN it has expired (exp is exclusive)
    assert token_error_reason(verifier.verify, rsa_key.token(claims(exp=NOW))) is Reason.EXPIRED
