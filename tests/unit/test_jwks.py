"""KeySet with an in-memory fetcher and a manual clock: vetting, ages, rotation, outages."""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from okta_authorizer.errors import KeysUnavailableError, Reason, TokenError
from okta_authorizer.jwks import KeySet, get_key_sets, reset_key_sets
from okta_authorizer.localdev.keys import SigningKey, b64url
from okta_authorizer.settings import Settings
from okta_authorizer.upstream import FetchError, FetchResult, parse_cache_control
from tests.support import ManualClock, ec_jwk

ISSUER = "https://acme.okta.com/oauth2/default"
JWKS_URI = f"{ISSUER}/v1/keys"
OAUTH_METADATA = f"{ISSUER}/.well-known/oauth-authorization-server"
OIDC_METADATA = f"{ISSUER}/.well-known/openid-configuration"
TARGET = "test-key-1"  # the kid of the session-wide `rsa_key`


class MemoryFetcher:
    """A Fetcher serving canned documents by URL; records every call with the clock's time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.responses: dict[str, FetchResult | FetchError] = {}
        self.calls: list[tuple[str, float]] = []

    def __call__(self, url: str) -> FetchResult:
        self.calls.append((url, self.clock()))
        response = self.responses.get(url, FetchError("HTTP status 404"))
        if isinstance(response, FetchError):
            raise response
        return response

    def serve_keys(self, *jwks: Any, max_age: int | None = None, url: str = JWKS_URI) -> None:
        self.responses[url] = FetchResult({"keys": list(jwks)}, max_age)

    def fail(self, url: str = JWKS_URI, why: str = "HTTP status 500") -> None:
        self.responses[url] = FetchError(why)

    def count(self, url: str = JWKS_URI) -> int:
        return sum(1 for called, _ in self.calls if called == url)


@dataclass
class Harness:
    """A KeySet wired to a manual clock, an in-memory fetcher and an event recorder."""

    clock: ManualClock
    fetcher: MemoryFetcher
    events: list[str] = field(default_factory=list)

    def key_set(self, **kwargs: Any) -> KeySet:
        kwargs.setdefault("jwks_uri", JWKS_URI)
        return KeySet(
            ISSUER, fetcher=self.fetcher, clock=self.clock, observer=self.events.append, **kwargs
        )

    def warm_key_set(self, *jwks: dict[str, Any]) -> KeySet:
        """A key set that has loaded `jwks` once (the endpoint keeps serving them)."""
        self.fetcher.serve_keys(*jwks)
        key_set = self.key_set()
        key_set.warm()
        return key_set


@pytest.fixture
def harness() -> Harness:
    clock = ManualClock()
    return Harness(clock=clock, fetcher=MemoryFetcher(clock))


@dataclass(frozen=True)
class Material:
    """Real keys for the vetting matrix."""

    good: SigningKey
    other: SigningKey
    weak: SigningKey

    def good_jwk(self, **extra: Any) -> dict[str, Any]:
        return self.good.public_jwk(**extra)

    def without(self, *members: str) -> dict[str, Any]:
        jwk = self.good.public_jwk()
        for member in members:
            del jwk[member]
        return jwk

    def private_member(self, member: str) -> dict[str, Any]:
        numbers = self.good.private.private_numbers()
        values = {
            "d": numbers.d,
            "p": numbers.p,
            "q": numbers.q,
            "dp": numbers.dmp1,
            "dq": numbers.dmq1,
            "qi": numbers.iqmp,
        }
        if member == "oth":
            return self.good_jwk(oth=[{"r": "AQAB", "d": "AQAB", "t": "AQAB"}])
        if member == "k":
            return self.good_jwk(k=b64url(secrets.token_bytes(32)))
        value = values[member]
        return self.good_jwk(**{member: b64url(value.to_bytes((value.bit_length() + 7) // 8))})

    def exponent_above_modulus(self) -> dict[str, Any]:
        # Odd and >= 3, so only cryptography's own check (e < n) can refuse it.
        modulus = self.good.private.public_key().public_numbers().n
        return self.good_jwk(e=b64url((modulus + 2).to_bytes(257, "big").lstrip(b"\0")))


@pytest.fixture(scope="module")
def material(rsa_key: SigningKey) -> Material:
    return Material(
        good=rsa_key, other=SigningKey(kid="bystander"), weak=SigningKey(kid=TARGET, bits=1024)
    )


# -- vetting ---------------------------------------------------------------------------------
VETTING: list[tuple[str, Callable[[Material], list[Any]], bool]] = [
    ("okta-shaped", lambda m: [m.good_jwk()], True),
    ("no-alg-no-use", lambda m: [m.without("alg", "use")], True),
    ("key-ops-verify", lambda m: [m.good_jwk(key_ops=["verify"])], True),
    ("use-enc", lambda m: [m.good_jwk(use="enc")], False),
    ("1024-bit", lambda m: [m.weak.public_jwk()], False),
    ("ec-key", lambda _: [ec_jwk(TARGET)], False),
    ("kty-oct", lambda m: [m.good_jwk(kty="oct")], False),
    ("kty-missing", lambda m: [m.without("kty")], False),
    ("alg-rs512", lambda m: [m.good_jwk(alg="RS512")], False),
    ("alg-hs256", lambda m: [m.good_jwk(alg="HS256")], False),
    ("alg-none", lambda m: [m.good_jwk(alg="none")], False),
    ("alg-not-string", lambda m: [m.good_jwk(alg=256)], False),
    ("key-ops-encrypt", lambda m: [m.good_jwk(key_ops=["encrypt"])], False),
    ("key-ops-not-list", lambda m: [m.good_jwk(key_ops="verify")], False),
    ("n-not-base64url", lambda m: [m.good_jwk(n="not base64!")], False),
    ("n-padded", lambda m: [m.good_jwk(n=m.good_jwk()["n"] + "=")], False),
    ("n-impossible-length", lambda m: [m.good_jwk(n=m.good_jwk()["n"][:-1])], False),
    ("n-not-string", lambda m: [m.good_jwk(n=12345)], False),
    ("n-missing", lambda m: [m.without("n")], False),
    ("e-even", lambda m: [m.good_jwk(e="Ag")], False),
    ("e-one", lambda m: [m.good_jwk(e="AQ")], False),
    ("e-not-base64url", lambda m: [m.good_jwk(e="AQ+B")], False),
    ("e-above-n", lambda m: [m.exponent_above_modulus()], False),
    ("e-missing", lambda m: [m.without("e")], False),
    *[
        (f"private-{member}", lambda m, member=member: [m.private_member(member)], False)
        for member in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
    ],
    ("duplicate-rsa-kid", lambda m: [m.good_jwk(), m.good_jwk()], False),
    ("duplicate-ec-shares-rsa-kid", lambda m: [m.good_jwk(), ec_jwk(TARGET)], False),
    ("duplicate-enc-shares-rsa-kid", lambda m: [m.good_jwk(), m.good_jwk(use="enc")], False),
]


@pytest.mark.parametrize(
    ("build", "accepted"),
    [(build, accepted) for _, build, accepted in VETTING],
    ids=[name for name, _, _ in VETTING],
)
def test_key_vetting_matrix_serves_only_acceptable_keys(
    harness: Harness,
    material: Material,
    caplog: pytest.LogCaptureFixture,
    build: Callable[[Material], list[Any]],
    accepted: bool,
) -> None:
    # GIVEN a key set holding the case's entries next to an unrelated good key
    harness.fetcher.serve_keys(*build(material), material.other.public_jwk())
    key_set = harness.key_set()
    caplog.set_level(logging.WARNING, logger="okta_authorizer.jwks")

    # WHEN the key set loads
    key_set.warm()

    # THEN the case's key is served or refused, and a refused one is logged with its kid
    assert key_set.has_key(TARGET) is accepted
    if accepted:
        assert key_set.key(TARGET).kid == TARGET
    else:
        with pytest.raises(TokenError) as caught:
            key_set.key(TARGET)
        assert caught.value.reason is Reason.UNKNOWN_KEY
        assert any(
            "rejected" in record.getMessage() and TARGET in record.getMessage()
            for record in caplog.records
        )
    # a rejected key is never fatal to the others
    assert key_set.key("bystander").kid == "bystander"


@pytest.mark.parametrize(
    "entry",
    ["not-a-key", 42, None, ["kty", "RSA"], {"kty": "RSA"}, {"kid": 7, "kty": "RSA"}, {"kid": ""}],
    ids=["string", "number", "null", "list", "no-kid", "kid-not-string", "kid-empty"],
)
def test_key_vetting_entry_without_usable_kid_is_skipped(
    harness: Harness, material: Material, entry: Any
) -> None:
    # GIVEN a key set with one junk entry and one good key
    harness.fetcher.serve_keys(entry, material.good_jwk())
    key_set = harness.key_set()

    # WHEN it loads THEN the good key is served
    assert key_set.key(TARGET).kid == TARGET


def test_verification_key_keeps_only_public_members(harness: Harness, material: Material) -> None:
    # GIVEN an Okta key that also carries certificate members and key_ops
    harness.fetcher.serve_keys(
        material.good_jwk(x5c=["MIIB"], x5t="abc", key_ops=["verify"], ext=True)
    )

    # WHEN it is served
    key = harness.key_set().key(TARGET)

    # THEN only the members needed to verify remain
    assert set(key.jwk) == {"kty", "kid", "n", "e", "alg", "use"}
    assert key.jwk["n"] == material.good_jwk()["n"]
    # and the signature check's key is built from n and e alone
    assert key.public_key.public_numbers() == material.good.private.public_key().public_numbers()
    assert key.signature_length == 256  # bytes of a 2048-bit modulus: RFC 8017's k
    assert key.alg == "RS256"
    assert key.issuer == ISSUER


def test_verification_key_without_alg_has_alg_none(harness: Harness, material: Material) -> None:
    harness.fetcher.serve_keys(material.without("alg", "use"))

    key = harness.key_set().key(TARGET)

    assert key.alg is None
    assert set(key.jwk) == {"kty", "kid", "n", "e"}


@pytest.mark.parametrize(
    "document",
    [[], {}, {"keys": {}}, {"keys": "none"}, "keys", None, {"jwks": []}],
    ids=["list", "empty-object", "keys-object", "keys-string", "string", "null", "wrong-member"],
)
def test_key_set_document_not_a_jwks_is_a_fetch_failure(harness: Harness, document: Any) -> None:
    # GIVEN a key endpoint answering a JSON document that is not {"keys": [...]}
    harness.fetcher.responses[JWKS_URI] = FetchResult(document, None)
    key_set = harness.key_set()

    # WHEN the key set loads THEN no keys are available and the failure is reported
    with pytest.raises(KeysUnavailableError) as caught:
        key_set.warm()
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE
    assert harness.events == ["KeySetFetchFailed"]


# -- cache age -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("configured", "cache_control", "expected"),
    [
        (3600, None, 3600),
        (3600, 120, 120),
        (3600, 10, 60),
        (3600, 999_999, 3600),
        (3600, 0, 60),
        (300, None, 300),
        (300, 600, 300),
    ],
    ids=[
        "no-header-uses-max",
        "shorter-header-wins",
        "header-below-floor-uses-60",
        "header-above-max-uses-max",
        "no-store-uses-floor",
        "configured-max",
        "header-above-configured-max",
    ],
)
def test_key_set_age_bounded_by_max_age_and_floor_refreshes_once_expired(
    harness: Harness, material: Material, configured: int, cache_control: int | None, expected: int
) -> None:
    # GIVEN a key set loaded with the case's Cache-Control max-age
    harness.fetcher.serve_keys(material.good_jwk(), max_age=cache_control)
    key_set = harness.key_set(max_age=configured)
    key_set.warm()

    # WHEN keys are used until just before the expected age
    harness.clock.advance(expected - 1)
    key_set.key(TARGET)

    # THEN no refresh happened; at the expected age exactly one happens
    assert harness.fetcher.count() == 1
    harness.clock.advance(1)
    key_set.key(TARGET)
    key_set.key(TARGET)
    assert harness.fetcher.count() == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=60", 60),
        ("public, max-age=300, must-revalidate", 300),
        ("MAX-AGE=5", 5),
        ("max-age = 90", 90),
        ('max-age="120"', 120),
        ("max-age=60, max-age=30", 30),
        ("max-age=abc", None),
        ("max-age=", None),
        ("max-age=-1", None),
        ("max-age=1.5", None),
        ("s-maxage=100", None),
        ("no-store", 0),
        ("no-cache, max-age=300", 0),
        ("private, No-Store", 0),
    ],
    ids=[
        "absent",
        "empty",
        "plain",
        "among-others",
        "upper-case",
        "spaces",
        "quoted",
        "conflicting-takes-shortest",
        "not-a-number",
        "no-value",
        "negative",
        "fraction",
        "shared-cache-only",
        "no-store",
        "no-cache-wins",
        "no-store-mixed-case",
    ],
)
def test_parse_cache_control_header_yields_max_age(
    header: str | None, expected: int | None
) -> None:
    assert parse_cache_control(header) == expected


# -- rotation and unknown kids ---------------------------------------------------------------
def test_rotation_new_kid_is_picked_up_with_exactly_one_refresh(
    harness: Harness, material: Material
) -> None:
    # GIVEN a warm key set, a cooldown's time later, and Okta publishing a new key
    key_set = harness.warm_key_set(material.good_jwk())
    harness.clock.advance(30)
    harness.fetcher.serve_keys(material.good_jwk(), material.other.public_jwk())

    # WHEN tokens signed with the new key arrive
    first = key_set.key("bystander")
    second = key_set.key("bystander")

    # THEN the new key is served after one refresh, and the old key still works
    assert first == second
    assert first.kid == "bystander"
    assert harness.fetcher.count() == 2
    assert key_set.key(TARGET).kid == TARGET
    assert harness.fetcher.count() == 2


def test_rotation_removed_key_stops_being_served_after_refresh(
    harness: Harness, material: Material
) -> None:
    # GIVEN a warm key set with two keys, then Okta retiring the first one
    harness.fetcher.serve_keys(material.good_jwk(), material.other.public_jwk())
    key_set = harness.key_set()
    key_set.warm()
    assert key_set.key(TARGET).kid == TARGET
    harness.fetcher.serve_keys(material.other.public_jwk())

    # WHEN the set expires and refreshes
    harness.clock.advance(3600)
    key_set.key("bystander")

    # THEN the retired key is no longer served
    assert not key_set.has_key(TARGET)
    with pytest.raises(TokenError) as caught:
        key_set.key(TARGET)
    assert caught.value.reason is Reason.UNKNOWN_KEY


def test_unknown_kid_within_cooldown_of_last_fetch_is_rejected_without_fetching(
    harness: Harness, material: Material
) -> None:
    # GIVEN a key set warmed 10 s ago and a new key published since
    key_set = harness.warm_key_set(material.good_jwk())
    harness.fetcher.serve_keys(material.good_jwk(), material.other.public_jwk())
    harness.clock.advance(10)

    # WHEN the new kid is asked for inside the cooldown THEN it is unknown and nothing is fetched
    with pytest.raises(TokenError):
        key_set.key("bystander")
    assert harness.fetcher.count() == 1

    # WHEN the cooldown has passed THEN one refresh picks it up
    harness.clock.advance(20)
    assert key_set.key("bystander").kid == "bystander"
    assert harness.fetcher.count() == 2


def test_flood_of_random_kids_costs_at_most_one_fetch_per_cooldown(
    harness: Harness, material: Material
) -> None:
    # GIVEN a warm key set
    key_set = harness.warm_key_set(material.good_jwk())

    # WHEN 10,000 tokens with random kids arrive over 100 s (a bit more than three cooldowns)
    reasons: list[Reason] = []
    for _ in range(10_000):
        harness.clock.advance(0.01)
        try:
            key_set.key(secrets.token_urlsafe(12))
        except TokenError as exc:
            reasons.append(exc.reason)

    # THEN every token is rejected and fetches are at least a cooldown apart
    assert reasons == [Reason.UNKNOWN_KEY] * 10_000
    times = [at for url, at in harness.fetcher.calls if url == JWKS_URI]
    assert 2 <= len(times) <= 4
    assert all(later - earlier >= 30 for earlier, later in itertools.pairwise(times))
    # the good key never stopped working
    assert key_set.key(TARGET).kid == TARGET


# -- outages -----------------------------------------------------------------------------------
def test_stale_if_error_serves_old_keys_up_to_grace_then_keys_unavailable(
    harness: Harness, material: Material, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a key set loaded at t0 (age 3600 s) and the key endpoint failing afterwards
    key_set = harness.warm_key_set(material.good_jwk())
    harness.fetcher.fail()
    caplog.set_level(logging.WARNING, logger="okta_authorizer.jwks")

    # WHEN the set expires: the refresh fails, the old key is still served (and counted)
    harness.clock.advance(3600)
    assert key_set.key(TARGET).kid == TARGET
    assert harness.events == ["KeySetFetched", "KeySetFetchFailed", "KeySetStaleServed"]
    assert any("stale" in record.getMessage() for record in caplog.records)

    # THEN retries happen at most once per cooldown, not on every call
    key_set.key(TARGET)
    harness.clock.advance(29)
    key_set.key(TARGET)
    assert harness.fetcher.count() == 2
    harness.clock.advance(1)
    key_set.key(TARGET)
    assert harness.fetcher.count() == 3
    assert harness.events.count("KeySetStaleServed") == 4

    # AND the old key is served until 24 h past expiry, not after
    harness.clock.advance(86400 - 30 - 1)
    assert key_set.key(TARGET).kid == TARGET
    harness.clock.advance(1)
    with pytest.raises(KeysUnavailableError) as caught:
        key_set.key(TARGET)
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE


def test_stale_if_error_unknown_kid_is_unknown_key(harness: Harness, material: Material) -> None:
    # GIVEN an expired key set whose refresh fails
    key_set = harness.warm_key_set(material.good_jwk())
    harness.fetcher.fail()
    harness.clock.advance(3600)

    # WHEN a token with a kid the stale set lacks arrives THEN it is rejected as unknown
    with pytest.raises(TokenError) as caught:
        key_set.key("bystander")
    assert caught.value.reason is Reason.UNKNOWN_KEY
    assert "KeySetStaleServed" not in harness.events


def test_stale_if_error_recovery_serves_fresh_keys_again(
    harness: Harness, material: Material
) -> None:
    # GIVEN a stale key set being served during an outage
    key_set = harness.warm_key_set(material.good_jwk())
    harness.fetcher.fail()
    harness.clock.advance(3600)
    key_set.key(TARGET)

    # WHEN the endpoint recovers with a rotated key set and the cooldown has passed
    harness.fetcher.serve_keys(material.other.public_jwk())
    harness.clock.advance(30)
    served = key_set.key("bystander")

    # THEN the fresh set is served and no longer counted as stale
    assert served.kid == "bystander"
    assert harness.events[-1] == "KeySetFetched"
    assert harness.events.count("KeySetStaleServed") == 1
    assert not key_set.has_key(TARGET)


def test_refresh_failure_while_fresh_keeps_serving_without_stale_event(
    harness: Harness, material: Material
) -> None:
    # GIVEN a fresh key set and a failing key endpoint
    key_set = harness.warm_key_set(material.good_jwk())
    harness.fetcher.fail()
    harness.clock.advance(30)

    # WHEN an unknown kid forces a refresh that fails
    with pytest.raises(TokenError):
        key_set.key("bystander")

    # THEN known keys are served as usual (the set has not expired)
    assert key_set.key(TARGET).kid == TARGET
    assert harness.events == ["KeySetFetched", "KeySetFetchFailed"]


def test_never_fetched_key_set_is_keys_unavailable_and_retries_per_cooldown(
    harness: Harness,
) -> None:
    # GIVEN a key endpoint that has never answered
    harness.fetcher.fail()
    key_set = harness.key_set()

    # WHEN keys are needed THEN the outage is reported (500), not a token error (401)
    with pytest.raises(KeysUnavailableError) as caught:
        key_set.warm()
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE
    with pytest.raises(KeysUnavailableError):
        key_set.key(TARGET)
    assert harness.fetcher.count() == 1
    assert harness.events == ["KeySetFetchFailed"]

    # AND the next attempt waits for the cooldown
    harness.clock.advance(30)
    with pytest.raises(KeysUnavailableError):
        key_set.key(TARGET)
    assert harness.fetcher.count() == 2


# -- observer, key material, has_key --------------------------------------------------------
def test_observer_receives_fetched_and_failed_events(harness: Harness, material: Material) -> None:
    # GIVEN a key set that loads once, then meets a failing endpoint on expiry
    key_set = harness.warm_key_set(material.good_jwk())
    key_set.warm()  # already loaded: no event
    harness.fetcher.fail()
    harness.clock.advance(3600)
    key_set.key(TARGET)

    # THEN each fetch outcome and each stale use is reported once
    assert harness.events == ["KeySetFetched", "KeySetFetchFailed", "KeySetStaleServed"]


def test_same_kid_with_new_material_is_served_after_refresh(
    harness: Harness, material: Material
) -> None:
    # GIVEN a loaded key set
    harness.fetcher.serve_keys(material.good_jwk())
    key_set = harness.key_set()
    first = key_set.key(TARGET)

    # WHEN the issuer keeps the kid but replaces the key, and the set ages out
    replaced = SigningKey(kid=TARGET)
    harness.fetcher.serve_keys(replaced.public_jwk())
    harness.clock.advance(3600)

    # THEN the new material is served, and compares unequal to the old key (a verified token
    # is served from cache only while its key set answers with an equal key)
    served = key_set.key(TARGET)
    assert served.jwk["n"] == replaced.public_jwk()["n"]
    assert served.public_key.public_numbers() == replaced.private.public_key().public_numbers()
    assert served != first


def test_has_key_needs_no_network(harness: Harness, material: Material) -> None:
    # GIVEN a key set not loaded yet
    harness.fetcher.serve_keys(material.good_jwk())
    key_set = harness.key_set()

    # WHEN asked before and after loading THEN it answers from memory only
    assert not key_set.has_key(TARGET)
    assert harness.fetcher.calls == []
    key_set.warm()
    harness.clock.advance(99_999)
    assert key_set.has_key(TARGET)
    assert not key_set.has_key("bystander")
    assert harness.fetcher.count() == 1


# -- concurrency -----------------------------------------------------------------------------
class BlockingFetcher:
    """Holds its first call until released, so other threads pile up behind it."""

    def __init__(self, inner: MemoryFetcher) -> None:
        self.inner = inner
        self.armed = True
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, url: str) -> FetchResult:
        if self.armed and not self.entered.is_set():
            self.entered.set()
            self.release.wait(timeout=10)
        return self.inner(url)


@pytest.fixture
def blocking(harness: Harness) -> Iterator[BlockingFetcher]:
    fetcher = BlockingFetcher(harness.fetcher)
    yield fetcher
    fetcher.release.set()


def test_concurrent_cold_start_callers_cause_one_fetch(
    harness: Harness, material: Material, blocking: BlockingFetcher
) -> None:
    # GIVEN a cold key set whose first fetch is held open
    harness.fetcher.serve_keys(material.good_jwk())
    key_set = KeySet(ISSUER, fetcher=blocking, clock=harness.clock, jwks_uri=JWKS_URI)
    results: list[str] = []
    asking = [threading.Event() for _ in range(9)]

    def ask(index: int) -> None:
        asking[index].set()
        results.append(key_set.key(TARGET).kid)

    # WHEN nine threads ask for the same key while the first fetch is in flight
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(9)]
    threads[0].start()
    assert blocking.entered.wait(timeout=10)
    for thread in threads[1:]:
        thread.start()
    # Every thread is inside its call before the fetch may finish; the short pause lets them
    # reach the key set's lock (the count below holds whatever the interleaving).
    assert all(event.wait(timeout=10) for event in asking)
    time.sleep(0.05)
    blocking.release.set()
    for thread in threads:
        thread.join(timeout=10)

    # THEN all of them get the key from a single fetch
    assert results == [TARGET] * 9
    assert harness.fetcher.count() == 1


def test_known_key_is_served_while_a_refresh_is_in_flight(
    harness: Harness, material: Material, blocking: BlockingFetcher
) -> None:
    # GIVEN a warm key set and a refresh for an unknown kid held open in another thread
    harness.fetcher.serve_keys(material.good_jwk())
    key_set = KeySet(ISSUER, fetcher=blocking, clock=harness.clock, jwks_uri=JWKS_URI)
    blocking.armed = False
    key_set.warm()
    blocking.armed = True
    harness.clock.advance(30)
    outcomes: list[Reason] = []

    def refresh_for_unknown_kid() -> None:
        try:
            key_set.key("nope")
        except TokenError as exc:
            outcomes.append(exc.reason)

    refresher = threading.Thread(target=refresh_for_unknown_kid)
    refresher.start()
    assert blocking.entered.wait(timeout=10)

    # WHEN a token with the known kid arrives meanwhile
    served: list[str] = []
    reader = threading.Thread(target=lambda: served.append(key_set.key(TARGET).kid))
    reader.start()
    reader.join(timeout=10)

    # THEN it is served without waiting for the refresh
    assert served == [TARGET]
    blocking.release.set()
    refresher.join(timeout=10)
    assert outcomes == [Reason.UNKNOWN_KEY]
    assert harness.fetcher.count() == 2


# -- discovery -------------------------------------------------------------------------------
def metadata(issuer: str = ISSUER, jwks_uri: Any = JWKS_URI) -> FetchResult:
    return FetchResult({"issuer": issuer, "jwks_uri": jwks_uri}, None)


def test_discovery_uses_oauth_authorization_server_metadata(
    harness: Harness, material: Material
) -> None:
    # GIVEN Okta metadata at the OAuth location
    harness.fetcher.responses[OAUTH_METADATA] = metadata()
    harness.fetcher.serve_keys(material.good_jwk())

    # WHEN the key set loads twice (expiry in between)
    key_set = harness.key_set(jwks_uri=None)
    key_set.warm()
    harness.clock.advance(3600)
    key_set.key(TARGET)

    # THEN discovery ran once, its jwks_uri was used and then cached
    assert harness.fetcher.count(OAUTH_METADATA) == 1
    assert harness.fetcher.count(OIDC_METADATA) == 0
    assert harness.fetcher.count() == 2


def test_discovery_falls_back_to_openid_configuration(harness: Harness, material: Material) -> None:
    # GIVEN only the OpenID location answers
    harness.fetcher.responses[OIDC_METADATA] = metadata()
    harness.fetcher.serve_keys(material.good_jwk())

    # WHEN the key set loads THEN both were tried, in order, and the keys are served
    key_set = harness.key_set(jwks_uri=None)
    assert key_set.key(TARGET).kid == TARGET
    assert [url for url, _ in harness.fetcher.calls] == [OAUTH_METADATA, OIDC_METADATA, JWKS_URI]


@pytest.mark.parametrize(
    "document",
    [
        metadata(issuer="https://evil.example.com/oauth2/default"),
        metadata(issuer=ISSUER + "/"),
        metadata(jwks_uri="http://keys.example.com/keys"),
        metadata(jwks_uri=["https://acme.okta.com/keys"]),
        metadata(jwks_uri="https://user:pw@acme.okta.com/keys"),
        FetchResult({"jwks_uri": JWKS_URI}, None),
        FetchResult([ISSUER, JWKS_URI], None),
    ],
    ids=[
        "other-issuer",
        "issuer-trailing-slash",
        "http-jwks-uri",
        "jwks-uri-not-string",
        "jwks-uri-credentials",
        "no-issuer",
        "not-an-object",
    ],
)
def test_discovery_refuses_bad_metadata_without_fetching_keys(
    harness: Harness, document: FetchResult
) -> None:
    # GIVEN both metadata locations answering the case's document
    harness.fetcher.responses[OAUTH_METADATA] = document
    harness.fetcher.responses[OIDC_METADATA] = document
    key_set = harness.key_set(jwks_uri=None)

    # WHEN the key set loads THEN nothing but metadata is fetched and keys are unavailable
    with pytest.raises(KeysUnavailableError):
        key_set.warm()
    assert {url for url, _ in harness.fetcher.calls} == {OAUTH_METADATA, OIDC_METADATA}
    assert harness.events == ["KeySetFetchFailed"]


def test_discovery_repeats_after_a_key_fetch_failure(harness: Harness, material: Material) -> None:
    # GIVEN a discovered key endpoint that starts failing, and metadata that moved it
    moved = f"{ISSUER}/v2/keys"
    harness.fetcher.responses[OAUTH_METADATA] = metadata()
    harness.fetcher.serve_keys(material.good_jwk())
    key_set = harness.key_set(jwks_uri=None)
    key_set.warm()
    harness.fetcher.fail()
    harness.fetcher.responses[OAUTH_METADATA] = metadata(jwks_uri=moved)
    harness.fetcher.serve_keys(material.good_jwk(), material.other.public_jwk(), url=moved)

    # WHEN the set expires (the old endpoint fails) and the next retry comes
    harness.clock.advance(3600)
    key_set.key(TARGET)
    harness.clock.advance(30)

    # THEN the retry re-discovers and loads from the new endpoint
    assert key_set.key("bystander").kid == "bystander"
    assert harness.fetcher.count(OAUTH_METADATA) == 2
    assert harness.fetcher.count(moved) == 1


def test_configured_jwks_uri_skips_discovery(harness: Harness, material: Material) -> None:
    harness.fetcher.serve_keys(material.good_jwk())

    harness.key_set(jwks_uri=JWKS_URI).warm()

    assert [url for url, _ in harness.fetcher.calls] == [JWKS_URI]


def test_configured_non_loopback_http_jwks_uri_is_refused_without_fetching(
    harness: Harness,
) -> None:
    key_set = harness.key_set(jwks_uri="http://keys.example.com/keys")

    with pytest.raises(KeysUnavailableError):
        key_set.warm()

    assert harness.fetcher.calls == []


# -- the registry ----------------------------------------------------------------------------
@pytest.mark.usefixtures("fresh_registry")
def test_get_key_sets_builds_one_key_set_per_issuer_once_without_io() -> None:
    # GIVEN settings trusting two issuers
    second = "https://acme.okta.com/oauth2/aus1partners"
    settings = Settings(issuers=(ISSUER, second), audiences=("api://default",))

    # WHEN the registry is asked twice
    first_call = get_key_sets(settings)
    second_call = get_key_sets(settings)

    # THEN it holds one unloaded KeySet per issuer, the same objects each time
    assert set(first_call) == {ISSUER, second}
    assert first_call[ISSUER] is second_call[ISSUER]
    assert first_call[ISSUER].issuer == ISSUER
    assert first_call[second].issuer == second
    assert not first_call[ISSUER].has_key(TARGET)


@pytest.mark.usefixtures("fresh_registry")
def test_reset_key_sets_forgets_the_registry() -> None:
    settings = Settings(issuers=(ISSUER,), audiences=("api://default",))
    before = get_key_sets(settings)[ISSUER]

    reset_key_sets()

    assert get_key_sets(settings)[ISSUER] is not before
