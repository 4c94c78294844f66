"""Shared test helpers: a manual clock and an in-memory key-set fetcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from okta_authorizer.jwks import FetchResult
from okta_authorizer.localdev.keys import b64url
from okta_authorizer.tokens import AccessToken

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


#: The issuer of the tokens `access_token` builds.
ACME_ISSUER = "https://acme.okta.com/oauth2/default"


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
