"""Shared test helpers: a manual clock, an in-memory key-set fetcher, verifiers and tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from okta_authorizer.errors import Reason, TokenError
from okta_authorizer.jwks import KeySet
from okta_authorizer.localdev.keys import SigningKey, b64url
from okta_authorizer.settings import Settings
from okta_authorizer.tokens import VERIFIED_CACHE_LIMIT, AccessToken, TokenVerifier
from okta_authorizer.upstream import FetchResult

#: The route map of DESIGN.md ("The route map"), used by the route and policy tests.
SAMPLE_ROUTES: dict[str, Any] = {
    "GET /beds": {"scopes": ["beds:read"]},
    "GET /beds/{bedId}": {"scopes": ["beds:read", "beds:admin"]},
    "POST /beds": {"scopes": ["beds:write"]},
    "DELETE /beds/{bedId}": {"scopes": ["beds:write", "beds:admin"], "match": "all"},
    "ANY /admin/{proxy+}": {"scopes": ["admin"], "claims": {"groups": ["Admins"]}},
    "GET /reports": {"scopes": [], "clients": ["0oa1reportingjob"]},
}


class ManualClock:
    """A clock tests move by hand; use for both monotonic and wall time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryJwksFetcher:
    """A key-set fetcher serving one JWKS from memory and counting how often it is asked."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.calls = 0

    def __call__(self, url: str) -> FetchResult:
        self.calls += 1
        return FetchResult({"keys": self.keys}, None)


def ec_jwk(kid: str) -> dict[str, Any]:
    """A fresh P-256 public key as a JWK: what an attacker might publish under an RSA key's kid."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


#: The issuer of the tokens `access_token` builds and `memory_verifier` trusts.
ACME_ISSUER = "https://acme.okta.com/oauth2/default"
#: The audience and wall time of `memory_verifier`.
TOKEN_AUDIENCE = "api://default"
TOKEN_NOW = 1_800_000_000


def access_token(
    *scopes: str,
    cid: str | None = "0oa1webapp",
    sub: str = "nurse.joy@example.com",
    uid: str | None = "00u1nursejoy",
    jti: str | None = "AT.abc",
    **claims: Any,
) -> AccessToken:
    """An AccessToken as the verifier returns it, with no token behind it (rule, policy tests)."""
    all_claims = {"sub": sub, "cid": cid, "scp": list(scopes), "iss": ACME_ISSUER, **claims}
    return AccessToken(
        claims=all_claims,
        scopes=scopes,
        sub=sub,
        cid=cid,
        uid=uid,
        jti=jti,
        exp=1_800_003_600,
        issuer=ACME_ISSUER,
        kid="test-key-1",
    )


def write_map(directory: Path, routes: dict[str, Any], name: str = "routes.json") -> Path:
    """A route-map file (`{"routes": ...}`) in `directory`, for the operator commands."""
    path = directory / name
    path.write_text(json.dumps({"routes": routes}), encoding="utf-8")
    return path


def memory_verifier(
    jwks: list[dict[str, Any]],
    *,
    clock: Callable[[], float] | None = None,
    verified_cache_limit: int = VERIFIED_CACHE_LIMIT,
    **settings: Any,
) -> tuple[TokenVerifier, MemoryJwksFetcher]:
    """A verifier trusting ACME_ISSUER for TOKEN_AUDIENCE at TOKEN_NOW, its keys `jwks` in memory.

    `settings` are further Settings fields (allowed clients, leeway, algorithms).
    """
    fetcher = MemoryJwksFetcher(jwks)
    key_set = KeySet(ACME_ISSUER, fetcher=fetcher, jwks_uri=f"{ACME_ISSUER}/v1/keys")
    config = Settings(issuers=(ACME_ISSUER,), audiences=(TOKEN_AUDIENCE,), **settings)
    verifier = TokenVerifier(
        config,
        {ACME_ISSUER: key_set},
        clock=clock or ManualClock(TOKEN_NOW),
        verified_cache_limit=verified_cache_limit,
    )
    return verifier, fetcher


def token_error_reason(call: Callable[..., object], *args: Any) -> Reason:
    """The reason code of the TokenError `call(*args)` raises; the test fails if it raises none."""
    with pytest.raises(TokenError) as caught:
        call(*args)
    return caught.value.reason


def compact_jws(header: bytes | str, payload: bytes | str, signature: bytes) -> str:
    """A compact JWS from raw parts (no signing)."""
    raw_header = header.encode() if isinstance(header, str) else header
    raw_payload = payload.encode() if isinstance(payload, str) else payload
    return f"{b64url(raw_header)}.{b64url(raw_payload)}.{b64url(signature)}"


def sign_raw(key: SigningKey, header: bytes | str, payload: bytes | str) -> str:
    """A real RS256 signature by `key` over raw header and payload (JSON json.dumps won't write)."""
    unsigned = compact_jws(header, payload, b"")[:-1]
    return f"{unsigned}.{b64url(key.sign(unsigned.encode('ascii')))}"
