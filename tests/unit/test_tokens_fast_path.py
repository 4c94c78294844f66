"""The verifier's shortcuts (header cache, bearer shortcut, eviction) never change an answer."""

from __future__ import annotations

from typing import Any

import pytest

from okta_authorizer.errors import Reason, TokenError
from okta_authorizer.localdev.keys import SigningKey, okta_claims
from okta_authorizer.tokens import TokenVerifier, extract_bearer
from tests.support import (
    ACME_ISSUER,
    TOKEN_AUDIENCE,
    TOKEN_NOW,
    ManualClock,
    memory_verifier,
    token_error_reason,
)

ISSUER = ACME_ISSUER
AUDIENCE = TOKEN_AUDIENCE
NOW = TOKEN_NOW
KEY = SigningKey(kid="fast-path-key")
FORGER = SigningKey(kid="fast-path-key")  # same kid, other private key


def make_verifier(**options: Any) -> TokenVerifier:
    return memory_verifier([KEY.public_jwk()], **options)[0]


def token(key: SigningKey = KEY, **changes: Any) -> str:
    return key.token(okta_claims(ISSUER, AUDIENCE, now=NOW) | changes)


def test_tokens_known_header_with_forged_signature_is_bad_signature() -> None:
    # GIVEN a verifier that has seen (and remembered) this key's header
    verifier = make_verifier()
    verifier.verify(token())
    forged = token(FORGER, sub="mallory")
    assert forged.split(".")[0] == token().split(".")[0]

    # WHEN / THEN a token with the same header but another signer is still refused
    assert token_error_reason(verifier.verify, forged) is Reason.BAD_SIGNATURE


def test_tokens_known_header_with_bad_claims_is_still_refused() -> None:
    # GIVEN a remembered header
    verifier = make_verifier()
    verifier.verify(token())

    # WHEN / THEN the claims of the next token behind that header are checked in full
    assert token_error_reason(verifier.verify, token(aud="api://other")) is Reason.WRONG_AUDIENCE
    assert (
        token_error_reason(verifier.verify, token(exp=NOW - 3600, iat=NOW - 7200)) is Reason.EXPIRED
    )


def test_tokens_refused_header_stays_refused() -> None:
    # GIVEN a header the verifier refused once (a forbidden `jku`)
    verifier = make_verifier()
    header = {"kid": KEY.kid, "alg": "RS256", "jku": "https://keys.example.com"}
    bad = KEY.token(okta_claims(ISSUER, AUDIENCE, now=NOW), header=header)
    first = token_error_reason(verifier.verify, bad)

    # WHEN / THEN the same header is refused again, for the same reason
    assert token_error_reason(verifier.verify, bad) is first is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic abc", "Bearer a.b", "Bearer a..c", "Bearer é.b.c", "Bearer a.b.c\n"],
    ids=["absent", "empty", "basic", "two-segments", "empty-payload", "non-ascii", "newline"],
)
def test_tokens_verify_bearer_fails_exactly_like_extract_bearer(header: str | None) -> None:
    # GIVEN a malformed Authorization value
    verifier = make_verifier()
    with pytest.raises(TokenError) as expected:
        extract_bearer(header)

    # WHEN it goes through the one-step shortcut
    with pytest.raises(TokenError) as caught:
        verifier.verify_bearer(header)

    # THEN the reason is the same
    assert caught.value.reason is expected.value.reason


def test_tokens_verify_bearer_valid_header_yields_the_claims() -> None:
    # GIVEN a valid token
    verifier = make_verifier()
    value = token(sub="nurse.joy@example.com")

    # WHEN / THEN the shortcut returns what verify() returns
    assert verifier.verify_bearer(f"Bearer {value}").sub == "nurse.joy@example.com"


def test_tokens_full_cache_evicts_oldest_quarter_and_stays_bounded() -> None:
    # GIVEN a verifier that may remember eight tokens, holding eight
    verifier = make_verifier(verified_cache_limit=8)
    tokens = [token(jti=f"AT.{index}") for index in range(9)]
    first = [verifier.verify(value) for value in tokens[:8]]
    assert verifier.remembered == 8

    # WHEN a ninth arrives
    verifier.verify(tokens[8])

    # THEN the two oldest are gone (verified afresh: new objects), the newer ones remembered
    assert verifier.remembered == 7
    assert verifier.verify(tokens[0]) is not first[0]
    assert verifier.verify(tokens[7]) is first[7]


def test_tokens_full_cache_drops_expired_first_and_still_frees_a_quarter() -> None:
    # GIVEN a full cache of eight where the oldest token has expired since it was verified
    clock = ManualClock(NOW)
    verifier = make_verifier(verified_cache_limit=8, clock=clock)
    tokens = [token(jti="AT.short", exp=NOW + 60)]
    tokens += [token(jti=f"AT.{index}") for index in range(1, 9)]
    first = [verifier.verify(value) for value in tokens[:8]]
    clock.advance(60 + 300)  # past exp and the default leeway

    # WHEN a ninth arrives
    verifier.verify(tokens[8])

    # THEN the expired one is gone and, though that freed a slot, so is the oldest live one: the
    # cache keeps room for a quarter of its size, so the next new tokens do not sweep again
    assert verifier.remembered == 7
    assert verifier.verify(tokens[1]) is not first[1]
    assert verifier.verify(tokens[7]) is first[7]
