"""Pre-minting signed tokens in worker processes, so that RSA signing never sits in a timed loop."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_authorizer.localdev.keys import SigningKey, okta_claims

_worker_key: SigningKey | None = None


def _load_key(pem: bytes, kid: str) -> None:
    global _worker_key  # noqa: PLW0603 - one key per worker process, set by the pool initializer
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("expected an RSA private key")
    _worker_key = SigningKey(kid=kid, existing=key)


def _mint(issuer: str, audience: str, scopes: tuple[str, ...], count: int) -> list[str]:
    if _worker_key is None:
        raise RuntimeError("worker has no key")
    return [_worker_key.token(okta_claims(issuer, audience, scopes=scopes)) for _ in range(count)]


class TokenMinter:
    """Signs Okta-shaped tokens (distinct `jti` each) with `key`, on every core."""

    def __init__(self, key: SigningKey, workers: int | None = None) -> None:
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._workers = workers or max(1, os.cpu_count() or 1)
        # spawn: the harness runs server threads, and forking a threaded process is unsafe.
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_key,
            initargs=(pem, key.kid),
        )

    def mint(
        self, issuer: str, audience: str, count: int, scopes: tuple[str, ...] = ("beds:read",)
    ) -> list[str]:
        """`count` valid tokens for `issuer` and `audience`, in one list."""
        tokens: list[str] = []
        for batch in self.stream(issuer, audience, count, scopes, batch=max(1, count // 16)):
            tokens.extend(batch)
        return tokens

    def stream(
        self,
        issuer: str,
        audience: str,
        total: int,
        scopes: tuple[str, ...] = ("beds:read",),
        *,
        batch: int = 500,
    ) -> Iterator[list[str]]:
        """`total` tokens in batches, at most a few batches ahead (so they never pile up in RAM)."""
        pending: deque[Future[list[str]]] = deque()
        remaining = total
        ahead = 2 * self._workers
        while remaining or pending:
            while remaining and len(pending) < ahead:
                size = min(batch, remaining)
                pending.append(self._pool.submit(_mint, issuer, audience, scopes, size))
                remaining -= size
            yield pending.popleft().result()

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TokenMinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def split_token(token: str) -> tuple[bytes, bytes]:
    """(signing input, signature bytes) of a compact JWS, for the bare signature check."""
    import base64

    head, _, signature = token.rpartition(".")
    padded = signature + "=" * (-len(signature) % 4)
    return head.encode("ascii"), base64.urlsafe_b64decode(padded)
