"""TokenVerifier with two trusted issuers, each a loopback server behind a real HttpClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from okta_authorizer.errors import Reason, TokenError
from okta_authorizer.jwks import KeySet
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import SigningKey, okta_claims
from okta_authorizer.settings import Settings
from okta_authorizer.tokens import TokenVerifier
from okta_authorizer.upstream import HttpClient

AUDIENCE = "api://beds"


@dataclass
class TwoIssuers:
    """Issuers A and B, trusted together, and the verifier built on their discovered key sets."""

    a: LocalIssuer
    b: LocalIssuer
    verifier: TokenVerifier

    def token(self, issuer: LocalIssuer, key: SigningKey | None = None) -> str:
        signer = issuer.key if key is None else key
        return signer.token(okta_claims(issuer.issuer, AUDIENCE))


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    """Issuer B's own signing key (A uses the session's `rsa_key`)."""
    return SigningKey(kid="b-key-1")


@pytest.fixture
def two_issuers(rsa_key: SigningKey, key_b: SigningKey) -> Iterator[TwoIssuers]:
    with (
        LocalIssuer("aus-a", keys=[rsa_key]) as a,
        LocalIssuer("aus-b", keys=[key_b]) as b,
    ):
        settings = Settings(issuers=(a.issuer, b.issuer), audiences=(AUDIENCE,))
        fetcher = HttpClient()
        key_sets = {issuer: KeySet(issuer, fetcher=fetcher) for issuer in settings.issuers}
        yield TwoIssuers(a, b, TokenVerifier(settings, key_sets))


def test_tokens_issuer_token_passes_through_discovery(two_issuers: TwoIssuers) -> None:
    # GIVEN two trusted issuers whose key sets have never been loaded
    a = two_issuers.a

    # WHEN a token from A arrives
    result = two_issuers.verifier.verify(two_issuers.token(a))

    # THEN A's keys were discovered and fetched once, and the token passes
    assert (result.issuer, result.kid) == (a.issuer, a.key.kid)
    assert a.count("discovery") == 1
    assert a.count("keys") == 1


def test_tokens_token_from_b_is_checked_only_against_b(two_issuers: TwoIssuers) -> None:
    # GIVEN two trusted issuers
    a, b = two_issuers.a, two_issuers.b

    # WHEN tokens from B arrive
    first = two_issuers.verifier.verify(two_issuers.token(b))
    second = two_issuers.verifier.verify(two_issuers.token(b))

    # THEN they pass with B's key, B's keys were fetched once, and A's server saw no request at all
    assert first.issuer == second.issuer == b.issuer
    assert first.kid == b.key.kid
    assert b.count("keys") == 1
    assert (a.count("discovery"), a.count("keys"), a.count("other")) == (0, 0, 0)


def test_tokens_b_key_under_a_kid_does_not_validate_a_tokens(two_issuers: TwoIssuers) -> None:
    # GIVEN B publishes a key under A's kid (a compromised or malicious co-tenant issuer)
    a, b = two_issuers.a, two_issuers.b
    impostor = SigningKey(kid=a.key.kid)
    b.publish(impostor)
    assert two_issuers.verifier.verify(two_issuers.token(b, impostor)).issuer == b.issuer

    # WHEN B's key signs a token that claims issuer A and names A's kid
    forged = impostor.token(okta_claims(a.issuer, AUDIENCE))
    with pytest.raises(TokenError) as caught:
        two_issuers.verifier.verify(forged)

    # THEN it is checked against A's key set only, and the signature does not match
    assert caught.value.reason is Reason.BAD_SIGNATURE
    assert a.count("keys") == 1
    assert two_issuers.verifier.verify(two_issuers.token(a)).issuer == a.issuer


def test_tokens_untrusted_issuer_on_loopback_causes_no_request(
    two_issuers: TwoIssuers, key_b: SigningKey
) -> None:
    # GIVEN a third issuer that is running but not trusted
    with LocalIssuer("aus-c", keys=[key_b]) as c:
        token = c.key.token(okta_claims(c.issuer, AUDIENCE))

        # WHEN its token arrives
        with pytest.raises(TokenError) as caught:
            two_issuers.verifier.verify(token)

        # THEN it is untrusted and nobody was asked for keys
        assert caught.value.reason is Reason.UNTRUSTED_ISSUER
        assert c.count("discovery") + c.count("keys") == 0
    assert two_issuers.a.count("keys") + two_issuers.b.count("keys") == 0
