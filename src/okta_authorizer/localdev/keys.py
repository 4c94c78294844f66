"""RSA signing keys and Okta-shaped access tokens, signed with `cryptography` directly."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    """Compact JSON, base64url-encoded."""
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _int_to_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    """An RSA key pair with a `kid`, like one entry of an Okta authorization server's key set."""

    kid: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    bits: int = 2048
    private: rsa.RSAPrivateKey = field(init=False, repr=False)
    existing: InitVar[rsa.RSAPrivateKey | None] = None  # reuse a key instead of generating one

    def __post_init__(self, existing: rsa.RSAPrivateKey | None) -> None:
        self.private = existing or rsa.generate_private_key(
            public_exponent=65537, key_size=self.bits
        )

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        """The public key as Okta publishes it in `/v1/keys`."""
        numbers = self.private.public_key().public_numbers()
        jwk: dict[str, Any] = {
            "kty": "RSA",
            "alg": "RS256",
            "kid": self.kid,
            "use": "sig",
            "e": _int_to_b64(numbers.e),
            "n": _int_to_b64(numbers.n),
        }
        jwk.update(extra)
        return jwk

    def sign(self, signing_input: bytes) -> bytes:
        """RS256 (PKCS#1 v1.5, SHA-256) signature."""
        return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())

    def token(
        self,
        claims: Mapping[str, Any],
        *,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A compact JWS over `claims`; the header defaults to Okta's `{"kid", "alg": "RS256"}`."""
        hdr = {"kid": self.kid, "alg": "RS256"} if header is None else dict(header)
        signing_input = f"{b64url_json(hdr)}.{b64url_json(dict(claims))}".encode("ascii")
        return f"{signing_input.decode('ascii')}.{b64url(self.sign(signing_input))}"


def okta_claims(
    issuer: str,
    audience: str = "api://default",
    *,
    scopes: tuple[str, ...] = ("beds:read",),
    sub: str = "nurse.joy@example.com",
    client_id: str = "0oa1webapp",
    uid: str | None = "00u1nursejoy",
    lifetime: int = 3600,
    now: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Claims shaped like an Okta custom authorization server's access token."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "ver": 1,
        "jti": "AT." + secrets.token_urlsafe(16),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "cid": client_id,
        "scp": list(scopes),
        "sub": sub,
    }
    if uid is not None:
        claims["uid"] = uid
    claims.update(extra)
    return claims


def client_credentials_claims(
    issuer: str, audience: str, client_id: str, **kw: Any
) -> dict[str, Any]:
    """A client-credentials token: no `uid`, `sub` is the client id."""
    return okta_claims(issuer, audience, sub=client_id, client_id=client_id, uid=None, **kw)
