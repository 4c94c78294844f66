"""Peers that only validate the token: okta-jwt-verifier and PyJWT with PyJWKClient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from benchmarks.environment import AUDIENCE
from benchmarks.timing import Row, sample


def https_twin(http_issuer: str) -> str:
    """The https spelling of a loopback http issuer (okta-jwt-verifier takes only https)."""
    parts = urlsplit(http_issuer)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise ValueError("only a loopback http issuer has a twin")
    return "https" + http_issuer[len("http") :]


def loopback_executor(https_base: str, http_base: str) -> type[Any]:
    """A RequestExecutor (its documented extension point) that reads the https issuer's keys from
    the loopback http server; anything else is refused, so nothing leaves 127.0.0.1."""
    from okta_jwt_verifier.request_executor import RequestExecutor

    class LoopbackRequestExecutor(RequestExecutor):  # type: ignore[misc]
        def get_sync(self, uri: str, **params: Any) -> Any:
            if not uri.startswith(https_base + "/"):
                raise ValueError("the benchmark fetches keys from the loopback issuer only")
            return super().get_sync(http_base + uri[len(https_base) :], **params)

    return LoopbackRequestExecutor


def measure_okta_jwt_verifier(http_issuer: str, tokens: Sequence[str], warmup: int) -> Row:
    """AccessTokenVerifier.verify_sync: iss, aud, exp and RS256 signature; its JWKS cache warm."""
    from okta_jwt_verifier import AccessTokenVerifier

    https_issuer = https_twin(http_issuer)
    verifier = AccessTokenVerifier(
        issuer=https_issuer,
        audience=AUDIENCE,
        request_executor=loopback_executor(https_issuer, http_issuer),
    )
    row = Row(
        "okta_jwt_verifier",
        "okta-jwt-verifier verify_sync (validation only)",
        note="https issuer name; keys read from loopback http through a RequestExecutor subclass",
    )
    row.samples_ns = sample(verifier.verify_sync, tokens, warmup)
    return row


def measure_pyjwt(keys_url: str, issuer: str, tokens: Sequence[str], warmup: int) -> Row:
    """PyJWKClient (key cache on) + jwt.decode pinned to RS256, audience and issuer checked."""
    import jwt

    client = jwt.PyJWKClient(keys_url, cache_keys=True)
    options: Any = {"require": ["exp", "iat", "iss", "aud", "sub"]}

    def validate(token: str) -> None:
        key = client.get_signing_key_from_jwt(token)
        jwt.decode(
            token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=issuer, options=options
        )

    row = Row("pyjwt_pyjwkclient", "PyJWT + PyJWKClient (validation only)")
    row.samples_ns = sample(validate, tokens, warmup)
    return row
