"""Signing keys per issuer: discovery, fetch, cache, rotation, flood control, stale-if-error."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from okta_authorizer.errors import KeysUnavailableError, Reason, TokenError
from okta_authorizer.settings import Settings
from okta_authorizer.upstream import FetchError, FetchResult, get_http_client
from okta_authorizer.urls import check_url

Clock = Callable[[], float]
Observer = Callable[[str], None]

logger = logging.getLogger(__name__)

#: Discovery documents, in the order they are tried (Okta custom authorization servers first).
DISCOVERY_DOCUMENTS: tuple[str, ...] = ("oauth-authorization-server", "openid-configuration")
#: The smallest RSA modulus accepted, in bits.
MIN_RSA_BITS = 2048
#: The only JWS algorithm a key may declare (Okta signs access tokens with RS256).
ACCEPTED_KEY_ALGORITHMS = frozenset({"RS256"})

_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_PUBLIC_MEMBERS = ("kty", "kid", "n", "e", "alg", "use")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_LOG_KID_CHARS = 64


class Fetcher(Protocol):
    """Fetches one URL and returns its parsed JSON; raises FetchError on any failure."""

    def __call__(self, url: str) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One vetted public signing key: RSA, `use` sig or absent, >= 2048 bits, public members."""

    issuer: str
    kid: str
    alg: str | None  # the JWK's `alg` if it had one
    jwk: Mapping[str, Any]  # public members only: kty, kid, n, e (+ alg, use if present)
    # Built from n and e alone when the key is vetted, so a stray private member can never make
    # it a signing key and no token pays for building it; `jwk` holds n and e for equality.
    public_key: rsa.RSAPublicKey = field(compare=False, repr=False)
    # Bytes in a signature by this key (RFC 8017 k): read once here, checked on every new token.
    signature_length: int = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class _Loaded:
    """An immutable snapshot of a good key set, swapped in whole so readers need no lock."""

    keys: Mapping[str, VerificationKey]
    expires_at: float


class KeySet:
    """The cached key set of one issuer.

    Policy, all ages on the injected clock:
    - a loaded set is used for min(max_age, Cache-Control max-age), never less than min_age;
    - any fetch attempt (expiry, unknown kid, retry after failure) starts a cooldown: an unknown
      kid triggers at most one fetch per cooldown, and so does retrying after a failure;
    - when a refresh fails, the last good set is served for up to stale_grace past its expiry;
    - a discovered jwks_uri is kept until a fetch fails; the next attempt re-discovers it.
    """

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
        observer: Observer | None = None,
    ) -> None:
        self.issuer = issuer
        self._fetcher = fetcher
        self._clock = clock
        self._configured_jwks_uri = jwks_uri
        self._discovered_jwks_uri: str | None = None
        self._max_age = max_age
        self._min_age = min_age
        self._cooldown = cooldown
        self._stale_grace = stale_grace
        self._observer = observer
        # Held across a fetch so concurrent callers wait for it instead of fetching again.
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._last_attempt: float | None = None
        self._last_attempt_failed = False

    # -- public ----------------------------------------------------------------------------
    def key(self, kid: str) -> VerificationKey:
        """The vetted key for `kid`; raises TokenError(UNKNOWN_KEY) or KeysUnavailableError."""
        loaded = self._loaded
        if loaded is not None and self._clock() < loaded.expires_at:
            found = loaded.keys.get(kid)
            if found is not None:
                return found
        with self._lock:
            return self._key_locked(kid)

    def has_key(self, kid: str) -> bool:
        """True if `kid` is in the current key set (no network)."""
        loaded = self._loaded
        return loaded is not None and kid in loaded.keys

    def warm(self) -> None:
        """Load the key set if nothing is loaded yet (cold start); raises KeysUnavailableError."""
        if self._loaded is not None:
            return
        with self._lock:
            if self._loaded is None and self._may_fetch(self._clock(), expired=True):
                self._refresh(self._clock())
            if self._loaded is None:
                raise KeysUnavailableError(f"no key set could be loaded for {self.issuer}")

    def forget_age(self) -> None:
        """Treat the loaded set as due now: after a SnapStart restore its age is unknown.

        The next use refreshes it; if that fails, the set is served stale for the usual grace,
        counted from now.
        """
        with self._lock:
            loaded = self._loaded
            if loaded is not None:
                self._loaded = _Loaded(keys=loaded.keys, expires_at=self._clock())
            self._last_attempt = None
            self._last_attempt_failed = False

    # -- the decision ----------------------------------------------------------------------
    def _key_locked(self, kid: str) -> VerificationKey:
        now = self._clock()
        loaded = self._loaded
        expired = loaded is None or now >= loaded.expires_at
        known = loaded is not None and kid in loaded.keys
        # Another thread may have refreshed while this one waited for the lock: re-check first.
        if (expired or not known) and self._may_fetch(now, expired=expired):
            self._refresh(now)
            now = self._clock()
            loaded = self._loaded
        if loaded is None:
            raise KeysUnavailableError(f"no key set could be loaded for {self.issuer}")
        stale = now >= loaded.expires_at
        if stale and now >= loaded.expires_at + self._stale_grace:
            raise KeysUnavailableError(
                f"the key set of {self.issuer} is stale beyond the grace period"
            )
        found = loaded.keys.get(kid)
        if found is None:
            raise TokenError(
                "no key with this kid in the issuer's key set", reason=Reason.UNKNOWN_KEY
            )
        if stale:
            logger.warning(
                "serving the stale key set of %s, %d s past its expiry: refreshing it failed",
                self.issuer,
                int(now - loaded.expires_at),
            )
            self._notify("KeySetStaleServed")
        return found

    def _may_fetch(self, now: float, *, expired: bool) -> bool:
        if self._last_attempt is None:
            return True
        if expired and not self._last_attempt_failed:
            # The last fetch succeeded and its set has run out: refresh regardless of cooldown.
            return True
        return now - self._last_attempt >= self._cooldown

    # -- fetching --------------------------------------------------------------------------
    def _refresh(self, now: float) -> None:
        self._last_attempt = now
        try:
            keys, cache_max_age = self._fetch_keys()
        except FetchError as exc:
            self._last_attempt_failed = True
            # Re-discover on the next attempt: the metadata may have moved the key endpoint.
            self._discovered_jwks_uri = None
            logger.warning("fetching the key set of %s failed: %s", self.issuer, exc)
            self._notify("KeySetFetchFailed")
            return
        self._last_attempt_failed = False
        age = self._max_age if cache_max_age is None else min(self._max_age, cache_max_age)
        age = max(age, self._min_age)
        self._loaded = _Loaded(keys=MappingProxyType(keys), expires_at=now + age)
        logger.info(
            "loaded the key set of %s: kids %s, cached for %d s", self.issuer, sorted(keys), age
        )
        self._notify("KeySetFetched")

    def _fetch_keys(self) -> tuple[dict[str, VerificationKey], int | None]:
        jwks_uri = self._jwks_uri()
        result = self._fetcher(jwks_uri)
        document = result.document
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise FetchError('the key set is not a JSON object {"keys": [...]}')
        return vet_keys(self.issuer, document["keys"]), result.max_age

    def _jwks_uri(self) -> str:
        if self._configured_jwks_uri is not None:
            problem = check_url(self._configured_jwks_uri)
            if problem is not None:
                raise FetchError(f"refused jwks_uri: {problem}")
            return self._configured_jwks_uri
        if self._discovered_jwks_uri is None:
            self._discovered_jwks_uri = self._discover()
        return self._discovered_jwks_uri

    def _discover(self) -> str:
        problems: list[str] = []
        for name in DISCOVERY_DOCUMENTS:
            url = f"{self.issuer}/.well-known/{name}"
            try:
                return self._jwks_uri_from(self._fetcher(url).document)
            except FetchError as exc:
                problems.append(f"{name}: {exc}")
                logger.warning("discovery via %s refused for %s: %s", name, self.issuer, exc)
        raise FetchError("discovery failed (" + "; ".join(problems) + ")")

    def _jwks_uri_from(self, document: Any) -> str:
        if not isinstance(document, dict):
            raise FetchError("the discovery document is not a JSON object")
        if document.get("issuer") != self.issuer:
            raise FetchError("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise FetchError("the discovery document has no jwks_uri")
        problem = check_url(jwks_uri)
        if problem is not None:
            raise FetchError(f"refused jwks_uri: {problem}")
        return jwks_uri

    def _notify(self, event: str) -> None:
        if self._observer is not None:
            self._observer(event)


# -- key vetting ---------------------------------------------------------------------------
def vet_keys(issuer: str, entries: list[Any]) -> dict[str, VerificationKey]:
    """The usable keys of a JWKS `keys` list by kid; rejected entries are logged and skipped."""
    kid_counts: dict[str, int] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("kid"), str):
            kid_counts[entry["kid"]] = kid_counts.get(entry["kid"], 0) + 1
    keys: dict[str, VerificationKey] = {}
    for index, entry in enumerate(entries):
        vetted = vet_key(entry)
        if not isinstance(vetted, str) and kid_counts[entry["kid"]] > 1:
            vetted = "its kid appears more than once in the key set (ambiguous)"
        if isinstance(vetted, str):
            raw_kid = entry.get("kid") if isinstance(entry, dict) else None
            shown = repr(raw_kid[:_LOG_KID_CHARS]) if isinstance(raw_kid, str) else f"#{index}"
            logger.warning("key %s of %s rejected: %s", shown, issuer, vetted)
            continue
        kid: str = entry["kid"]
        jwk = {m: entry[m] for m in _PUBLIC_MEMBERS if m in entry}
        keys[kid] = VerificationKey(
            issuer=issuer,
            kid=kid,
            alg=entry.get("alg"),
            jwk=MappingProxyType(jwk),
            public_key=vetted,
            signature_length=(vetted.key_size + 7) // 8,
        )
    return keys


def vet_key(entry: Any) -> str | rsa.RSAPublicKey:
    """Why one JWK may not verify access tokens, or its RSA public key if it may."""
    if not isinstance(entry, dict):
        return "not a JSON object"
    if not isinstance(entry.get("kid"), str) or not entry["kid"]:
        return "no string kid"
    if entry.get("kty") != "RSA":
        return "kty is not RSA"
    private = [m for m in _PRIVATE_MEMBERS if m in entry]
    if private:
        return "has private members"
    if "use" in entry and entry["use"] != "sig":
        return "use is not sig"
    if "alg" in entry and entry["alg"] not in ACCEPTED_KEY_ALGORITHMS:
        return "alg is not RS256"
    if "key_ops" in entry:
        ops = entry["key_ops"]
        if not isinstance(ops, list) or "verify" not in ops:
            return "key_ops does not allow verify"
    modulus = _b64url_int(entry.get("n"))
    exponent = _b64url_int(entry.get("e"))
    if modulus is None:
        return "n is not a base64url string"
    if exponent is None:
        return "e is not a base64url string"
    if modulus.bit_length() < MIN_RSA_BITS:
        return f"modulus shorter than {MIN_RSA_BITS} bits"
    if exponent < 3 or exponent % 2 == 0:
        return "e is not a valid RSA public exponent"
    try:
        # cryptography checks the numbers again (odd e, 3 <= e < n) and builds the key.
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError:
        return "cryptography refuses its numbers (e must be below n)"


def _b64url_int(value: Any) -> int | None:
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw, "big")


# -- the process-wide registry -------------------------------------------------------------
@functools.cache
def get_key_sets(settings: Settings, observer: Observer | None = None) -> Mapping[str, KeySet]:
    """One KeySet per trusted issuer, built on first use and shared across invocations."""
    fetcher = get_http_client(settings.upstream_deadline_ms / 1000)
    return MappingProxyType(
        {
            issuer: KeySet(
                issuer,
                fetcher=fetcher,
                jwks_uri=settings.jwks_uri,
                max_age=settings.jwks_cache_seconds,
                observer=observer,
            )
            for issuer in settings.issuers
        }
    )


def reset_key_sets() -> None:
    """Forget every KeySet (tests, or a configuration change)."""
    get_key_sets.cache_clear()
