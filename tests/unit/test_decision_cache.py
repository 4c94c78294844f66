"""The verified-token and decision caches: they may only ever skip work, never change an answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okta_authorizer.errors import (
    AuthorizerError,
    KeysUnavailableError,
    Reason,
    RoutesUnavailableError,
    TokenError,
)
from okta_authorizer.jwks import KeySet
from okta_authorizer.localdev.keys import SigningKey, okta_claims
from okta_authorizer.route_store import RouteStore
from okta_authorizer.service import AuthorizationRequest, Authorizer
from okta_authorizer.settings import Settings
from okta_authorizer.tokens import TokenVerifier
from okta_authorizer.upstream import FetchError, FetchResult
from tests.support import ManualClock

ISSUER = "https://acme.okta.com/oauth2/default"
AUDIENCE = "api://beds"
PATH = "/okta-authorizer/test/routes"
START = 1_800_000_000
ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev"
KEY_A = SigningKey(kid="key-a")
KEY_B = SigningKey(kid="key-b")
ROUTE_MAPS = [
    {"GET /beds": {"scopes": ["beds:read"]}, "POST /beds": {"scopes": ["beds:write"]}},
    {"GET /beds": {"scopes": ["beds:admin"]}, "POST /beds": {"scopes": ["beds:read"]}},
    {"GET /beds": {"scopes": []}},
    {
        "GET /beds": {"scopes": ["beds:read"], "clients": ["0oa1webapp"]},
        "POST /beds": {"scopes": [], "claims": {"groups": ["Nurses"]}},
    },
]


def _token(
    key: SigningKey, *, scopes: tuple[str, ...], issued: int, lifetime: int, **extra: Any
) -> str:
    claims = okta_claims(ISSUER, AUDIENCE, scopes=scopes, now=issued, lifetime=lifetime, **extra)
    return key.token(claims)


# Minted once (RSA signing is slow): valid now, expiring soon, not yet valid, signed by either key.
TOKENS = [
    _token(KEY_A, scopes=("beds:read",), issued=START, lifetime=3600),
    _token(KEY_A, scopes=("beds:write",), issued=START, lifetime=120),
    _token(KEY_B, scopes=("beds:read", "beds:admin"), issued=START, lifetime=600),
    _token(KEY_B, scopes=("beds:write",), issued=START + 300, lifetime=3600),
    _token(KEY_A, scopes=(), issued=START - 3000, lifetime=3100),
    # Same scopes as the first, another client and a group: a different token profile.
    _token(KEY_A, scopes=("beds:read",), issued=START, lifetime=3600, client_id="0oa1kiosk"),
    _token(KEY_B, scopes=("beds:read",), issued=START, lifetime=3600, groups=["Nurses"]),
    _token(KEY_B, scopes=("beds:read",), issued=START, lifetime=3600, groups="Nurses"),
]
REQUESTS = [("GET", "/beds"), ("POST", "/beds"), ("DELETE", "/beds")]


@dataclass
class World:
    """Okta's key endpoint and SSM, in memory, both changeable while the authorizer runs."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    keys: list[SigningKey] = field(default_factory=lambda: [KEY_A, KEY_B])
    route_map: int = 0
    key_fetches: int = 0
    route_loads: int = 0

    def fetch(self, url: str) -> FetchResult:
        self.key_fetches += 1
        return FetchResult({"keys": [key.public_jwk() for key in self.keys]}, None)

    def load(self, path: str) -> Mapping[str, str]:
        self.route_loads += 1
        return {f"{PATH}/api": json.dumps({"routes": ROUTE_MAPS[self.route_map]})}

    def authorizer(self, *, cached: bool, key_set: KeySet, store: RouteStore) -> Authorizer:
        config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,), clock_skew_seconds=60)
        limit = 2048 if cached else 0
        verifier = TokenVerifier(
            config, {ISSUER: key_set}, clock=self.clock, verified_cache_limit=limit
        )
        return Authorizer(
            config, verifier, store, decision_cache_limit=limit, verdict_cache_limit=limit
        )

    def key_set(self) -> KeySet:
        return KeySet(ISSUER, fetcher=self.fetch, clock=self.clock, jwks_uri=f"{ISSUER}/v1/keys")

    def store(self) -> RouteStore:
        return RouteStore(PATH, loader=self.load, clock=self.clock, max_age=30)


def request(token: str, method: str = "GET", path: str = "/beds") -> AuthorizationRequest:
    return AuthorizationRequest("token", f"Bearer {token}", f"{ARN}/{method}{path}", method="")


def outcome(authorizer: Authorizer, req: AuthorizationRequest) -> tuple[Any, ...]:
    """Everything observable about one decision (or the error it raised)."""
    try:
        decision = authorizer.authorize(req)
    except AuthorizerError as error:
        return ("error", type(error).__name__, error.reason)
    return ("decision", decision.allowed, decision.reason, decision.route, decision.response)


def test_cache_repeated_token_skips_signature_and_returns_same_decision() -> None:
    # GIVEN a cached authorizer that has judged a token once
    world = World()
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    first = authorizer.authorize(request(TOKENS[0]))

    # WHEN the same request comes again
    second = authorizer.authorize(request(TOKENS[0]))

    # THEN the very same decision object is served, and nothing was fetched again
    assert second is first
    assert (world.key_fetches, world.route_loads) == (1, 1)


def test_cache_token_expires_at_exp_plus_leeway() -> None:
    # GIVEN a token valid for 120 s, judged and cached
    world = World()
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    assert authorizer.authorize(request(TOKENS[1], "POST")).allowed

    # WHEN the clock passes exp + 60 s of leeway (the key set and route map are refreshed meanwhile)
    world.clock.advance(120 + 59)
    still_valid = authorizer.authorize(request(TOKENS[1], "POST")).allowed
    world.clock.advance(1)

    # THEN it was served up to the last second of the leeway, and is rejected as expired after
    assert still_valid
    with pytest.raises(TokenError) as caught:
        authorizer.authorize(request(TOKENS[1], "POST"))
    assert caught.value.reason is Reason.EXPIRED


def test_cache_is_bounded_and_evicts_oldest() -> None:
    # GIVEN a verifier that may remember two tokens
    world = World()
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,))
    verifier = TokenVerifier(
        config, {ISSUER: world.key_set()}, clock=world.clock, verified_cache_limit=2
    )

    # WHEN three tokens are verified
    first = verifier.verify(TOKENS[0])
    verifier.verify(TOKENS[2])
    verifier.verify(TOKENS[4])

    # THEN only two are remembered, and the oldest is verified afresh (a new object)
    assert verifier.remembered == 2
    assert verifier.verify(TOKENS[0]) is not first


def test_cache_decisions_are_bounded_and_oldest_is_decided_afresh() -> None:
    # GIVEN an authorizer that may remember four decisions
    world = World()
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,))
    verifier = TokenVerifier(config, {ISSUER: world.key_set()}, clock=world.clock)
    authorizer = Authorizer(config, verifier, world.store(), decision_cache_limit=4)
    paths = ["/beds", "/wards", "/nurses", "/rooms", "/reports"]

    # WHEN one token asks for five different routes
    first = [authorizer.authorize(request(TOKENS[0], "GET", path)) for path in paths]

    # THEN the oldest was dropped (decided again: a new object), the newest is still remembered
    assert authorizer.authorize(request(TOKENS[0], "GET", paths[-1])) is first[-1]
    again = authorizer.authorize(request(TOKENS[0], "GET", paths[0]))
    assert again is not first[0]
    assert again.allowed == first[0].allowed


def test_cache_verdicts_are_bounded_and_oldest_is_judged_afresh() -> None:
    # GIVEN route mode (a new policy document per judgement), no decision cache, four verdicts
    world = World()
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,), policy_mode="route")
    verifier = TokenVerifier(config, {ISSUER: world.key_set()}, clock=world.clock)
    authorizer = Authorizer(
        config, verifier, world.store(), decision_cache_limit=0, verdict_cache_limit=4
    )
    paths = ["/beds", "/wards", "/nurses", "/rooms", "/reports"]

    def policy(path: str) -> Any:
        return authorizer.authorize(request(TOKENS[0], "GET", path)).response["policyDocument"]

    # WHEN one token profile asks for five different routes
    first = [policy(path) for path in paths]

    # THEN the newest verdict is reused (same document), the oldest was judged again
    assert policy(paths[-1]) is first[-1]
    again = policy(paths[0])
    assert again is not first[0]
    assert again == first[0]


def test_cache_verdict_is_shared_by_tokens_of_one_profile_only() -> None:
    # GIVEN route mode (a new policy document per judgement), no decision cache, map 0 (which
    # names no claims, so a token's profile is its scopes and client)
    world = World()
    config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,), policy_mode="route")
    verifier = TokenVerifier(config, {ISSUER: world.key_set()}, clock=world.clock)
    authorizer = Authorizer(config, verifier, world.store(), decision_cache_limit=0)

    def policy(token: str) -> Any:
        return authorizer.authorize(request(token)).response["policyDocument"]

    # WHEN a reader asks for GET /beds
    first = policy(TOKENS[0])

    # THEN another token of the same scopes and client (other key, jti and groups) reuses the
    # verdict, while a token of another client is judged on its own
    assert policy(TOKENS[6]) is first
    other_client = policy(TOKENS[5])
    assert other_client is not first
    assert other_client == first


def test_cache_simple_and_iam_answers_for_one_route_keep_their_own_verdicts() -> None:
    # GIVEN a cached authorizer that answered an HTTP API simple-response request
    world = World()
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    simple = AuthorizationRequest(
        "http",
        f"Bearer {TOKENS[0]}",
        f"{ARN}/GET/beds",
        method="GET",
        resource="/beds",
        simple=True,
    )
    assert authorizer.authorize(simple).response["isAuthorized"] is True

    # WHEN the same route and token come with an IAM answer asked for
    response = authorizer.authorize(simple._replace(simple=False)).response

    # THEN it gets an IAM policy, not the simple verdict (which holds no document)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert "isAuthorized" not in response


def test_cache_key_removed_from_key_set_rejects_cached_token() -> None:
    # GIVEN a token signed by key B, cached
    world = World()
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    assert authorizer.authorize(request(TOKENS[2])).allowed

    # WHEN Okta stops publishing key B and the key set is refreshed (after its 1 h age)
    world.keys = [KEY_A]
    world.clock.advance(3601)

    # THEN the cached token is rejected as signed by an unknown key
    with pytest.raises(TokenError) as caught:
        authorizer.authorize(request(TOKENS[2]))
    assert caught.value.reason is Reason.UNKNOWN_KEY


def test_cache_route_map_change_changes_decision() -> None:
    # GIVEN a reader allowed on GET /beds, cached
    world = World()
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    assert authorizer.authorize(request(TOKENS[0])).allowed

    # WHEN the route map now requires beds:admin for it and the store refreshes
    world.route_map = 1
    world.clock.advance(31)

    # THEN the decision follows the new map
    decision = authorizer.authorize(request(TOKENS[0]))
    assert not decision.allowed
    assert decision.reason is Reason.INSUFFICIENT_SCOPE


@pytest.mark.parametrize(
    ("first", "second", "method", "outcomes"),
    [
        (0, 5, "GET", (None, Reason.CLIENT_NOT_ALLOWED)),
        (6, 0, "POST", (None, Reason.INSUFFICIENT_SCOPE)),
        (6, 7, "POST", (None, None)),
    ],
    ids=["same-scopes-other-client", "group-then-no-group", "group-list-then-group-string"],
)
def test_cache_verdict_is_shared_only_by_tokens_of_one_profile(
    first: int, second: int, method: str, outcomes: tuple[Reason | None, Reason | None]
) -> None:
    # GIVEN a map with a client rule and a group rule, and a token of one profile judged first
    world = World(route_map=3)
    authorizer = world.authorizer(cached=True, key_set=world.key_set(), store=world.store())
    one = authorizer.authorize(request(TOKENS[first], method))

    # WHEN a token with the same scopes but another client or other groups asks for the route
    two = authorizer.authorize(request(TOKENS[second], method))

    # THEN each is judged on its own profile
    assert (one.reason, two.reason) == outcomes
    assert (one.allowed, two.allowed) == (outcomes[0] is None, outcomes[1] is None)


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("call"),
            st.integers(0, len(TOKENS) - 1),
            st.integers(0, len(REQUESTS) - 1),
        ),
        st.tuples(st.just("advance"), st.sampled_from([1, 29, 31, 59, 61, 119, 300, 3601])),
        st.tuples(st.just("keys"), st.sampled_from(["a", "b", "ab"])),
        st.tuples(st.just("routes"), st.integers(0, len(ROUTE_MAPS) - 1)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations)
def test_cache_never_answers_differently_from_uncached_path(steps: list[tuple[Any, ...]]) -> None:
    # GIVEN a cached and an uncached authorizer sharing the same key set, route store and clock
    world = World()
    key_set, store = world.key_set(), world.store()
    cached = world.authorizer(cached=True, key_set=key_set, store=store)
    uncached = world.authorizer(cached=False, key_set=key_set, store=store)
    keys = {"a": [KEY_A], "b": [KEY_B], "ab": [KEY_A, KEY_B]}

    for step in steps:
        # WHEN tokens, clock steps, key rotations and route-map changes come in any order
        if step[0] == "call":
            method, path = REQUESTS[step[2]]
            req = request(TOKENS[step[1]], method, path)
            # THEN both give the same answer every time
            assert outcome(cached, req) == outcome(uncached, req)
        elif step[0] == "advance":
            world.clock.advance(step[1])
        elif step[0] == "keys":
            world.keys = keys[step[1]]
        else:
            world.route_map = step[1]


class Rendezvous:
    """Makes the key fetch and the route load wait for each other: passes only if they overlap."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=5)
        self.key_fetches = 0
        self.route_loads = 0
        self.keys_fail = False
        self.routes_fail = False

    def fetch(self, url: str) -> FetchResult:
        self.key_fetches += 1
        self.barrier.wait()
        if self.keys_fail:
            raise FetchError("HTTP status 503")
        return FetchResult({"keys": [KEY_A.public_jwk()]}, None)

    def load(self, path: str) -> Mapping[str, str]:
        self.route_loads += 1
        self.barrier.wait()
        if self.routes_fail:
            raise ConnectionError("SSM endpoint unreachable")
        return {f"{PATH}/api": json.dumps({"routes": ROUTE_MAPS[0]})}

    def authorizer(self) -> Authorizer:
        clock = ManualClock(START)
        config = Settings(issuers=(ISSUER,), audiences=(AUDIENCE,))
        key_set = KeySet(ISSUER, fetcher=self.fetch, clock=clock, jwks_uri=f"{ISSUER}/v1/keys")
        verifier = TokenVerifier(config, {ISSUER: key_set}, clock=clock)
        store = RouteStore(PATH, loader=self.load, clock=clock)
        return Authorizer(config, verifier, store)


def test_cold_start_fetches_keys_and_route_map_concurrently_once_each() -> None:
    # GIVEN a fresh authorizer whose key fetch and route load each wait for the other
    world = Rendezvous()
    authorizer = world.authorizer()

    # WHEN the first decision is made (a barrier timeout would mean they ran one after the other)
    decision = authorizer.authorize(request(TOKENS[0]))
    authorizer.authorize(request(TOKENS[0], "POST"))

    # THEN both were fetched exactly once
    assert decision.allowed
    assert (world.key_fetches, world.route_loads) == (1, 1)


@pytest.mark.parametrize(
    ("keys_fail", "routes_fail", "raised"),
    [
        (True, False, KeysUnavailableError),
        (False, True, RoutesUnavailableError),
        (True, True, KeysUnavailableError),
    ],
    ids=["keys-down", "ssm-down", "both-down"],
)
def test_cold_start_one_failure_does_not_hide_the_other(
    keys_fail: bool,
    routes_fail: bool,
    raised: type[Exception],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN Okta's keys and/or SSM failing on the cold start
    world = Rendezvous()
    world.keys_fail, world.routes_fail = keys_fail, routes_fail

    # WHEN the first decision is attempted
    with pytest.raises(raised):
        world.authorizer().authorize(request(TOKENS[0]))

    # THEN each was tried once, and a route-map failure is logged even when the key error wins
    assert (world.key_fetches, world.route_loads) == (1, 1)
    if routes_fail:
        assert "SSM endpoint unreachable" in caplog.text
    if keys_fail and routes_fail:
        assert any(
            record.name == "okta_authorizer.service"
            and "route map unavailable too" in record.getMessage()
            for record in caplog.records
        )
