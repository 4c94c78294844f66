"""Signing keys per issuer: discovery, fetch, cache, rotation, flood control, stale-if-error.

INTERFACE SKELETON - to be implemented. Public names and signatures below are the contract that
tokens.py and service.py rely on; keep them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched JSON document and the `Cache-Control: max-age` it came with (None if absent)."""

    document: Any
    max_age: int | None


class FetchError(Exception):
    """A fetch failed (network, timeout, status, size, JSON); the message says which, never a body."""


class Fetcher(Protocol):
    """Fetches one URL and returns its parsed JSON; raises FetchError on any failure."""

    def __call__(self, url: str) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One vetted public signing key: RSA, `use` sig or absent, >= 2048 bits, public members only."""

    issuer: str
    kid: str
    alg: str | None  # the JWK's `alg` if it had one
    jwk: Mapping[str, Any]  # public members only: kty, kid, n, e (+ alg, use if present)


class KeySet:
    """The cached key set of one issuer."""

    def __init__(
        self,
        issuer: str,
        *,
        fetcher: Fetcher,
        clock: Clock = time.monotonic,
        jwks_uri: str | None = None,
        max_age: int = 3600,
        min_age: int = 60,
        cooldown: int = 30,
        stale_grace: int = 86400,
        observer: Callable[[str], None] | None = None,
    ) -> None:
        raise NotImplementedError

    def key(self, kid: str) -> VerificationKey:
        """The vetted key for `kid`; raises TokenError(UNKNOWN_KEY) or KeysUnavailableError."""
        raise NotImplementedError

    def has_key(self, kid: str) -> bool:
        """True if `kid` is in the current key set (no network)."""
        raise NotImplementedError

    @property
    def generation(self) -> int:
        """Changes whenever the set of keys changes (used to invalidate caches built on it)."""
        raise NotImplementedError

    def warm(self) -> None:
        """Load the key set if nothing is loaded yet (cold start); raises KeysUnavailableError."""
        raise NotImplementedError
