"""RouteStore: cache age, last good map on failure, no map at all."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from okta_authorizer.errors import Reason, RoutesUnavailableError
from okta_authorizer.route_store import RouteStore
from tests.support import ManualClock

PATH = "/okta-authorizer/test/routes"
GOOD = {f"{PATH}/api": json.dumps({"routes": {"GET /beds": {"scopes": ["beds:read"]}}})}
OTHER = {f"{PATH}/api": json.dumps({"routes": {"GET /wards": {"scopes": []}}})}


class Loader:
    """An in-memory SSM: returns `documents`, or raises `failure` when set; counts calls."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self.documents = dict(documents)
        self.failure: Exception | None = None
        self.calls = 0

    def __call__(self, path: str) -> Mapping[str, str]:
        assert path == PATH
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return self.documents


def make_store(loader: Loader, clock: ManualClock, events: list[str]) -> RouteStore:
    return RouteStore(PATH, loader=loader, clock=clock, max_age=300, observer=events.append)


def test_route_store_within_max_age_loads_once() -> None:
    # GIVEN a store with a 300 s cache
    loader, clock, events = Loader(GOOD), ManualClock(), []
    store = make_store(loader, clock, events)

    # WHEN asked repeatedly inside the window
    first = store.current()
    clock.advance(299)
    second = store.current()

    # THEN SSM was read once and the same map served
    assert loader.calls == 1
    assert first is second
    assert [rule.key for rule in first.rules] == ["GET /beds"]


def test_route_store_after_max_age_picks_up_new_map() -> None:
    loader, clock, events = Loader(GOOD), ManualClock(), []
    store = make_store(loader, clock, events)
    store.current()

    # WHEN the parameter changes and the cache ages out
    loader.documents = OTHER
    clock.advance(301)

    # THEN the new map is served
    assert [rule.key for rule in store.current().rules] == ["GET /wards"]
    assert loader.calls == 2


@pytest.mark.parametrize(
    "problem",
    [
        "ssm-error",
        "invalid-json",
        "unknown-field",
        "no-parameters",
    ],
)
def test_route_store_failed_refresh_keeps_last_good_map(problem: str) -> None:
    # GIVEN a store that loaded a good map
    loader, clock, events = Loader(GOOD), ManualClock(), []
    store = make_store(loader, clock, events)
    good = store.current()

    # WHEN the next refresh fails in some way
    if problem == "ssm-error":
        loader.failure = ConnectionError("endpoint unreachable")
    elif problem == "invalid-json":
        loader.documents = {f"{PATH}/api": "{"}
    elif problem == "unknown-field":
        loader.documents = {f"{PATH}/api": json.dumps({"routes": {"GET /x": {"scope": []}}})}
    else:
        loader.documents = {}
    clock.advance(301)

    # THEN the last good map is served, counted, and SSM is not asked again on every call
    assert store.current() is good
    assert store.current() is good
    assert events == ["RoutesStaleServed"]
    assert loader.calls == 2


def test_route_store_failed_refresh_retries_after_30_seconds() -> None:
    loader, clock, events = Loader(GOOD), ManualClock(), []
    store = make_store(loader, clock, events)
    store.current()
    loader.failure = ConnectionError("down")
    clock.advance(301)
    store.current()

    # WHEN SSM recovers and 30 s pass
    loader.failure = None
    loader.documents = OTHER
    clock.advance(31)

    # THEN the fresh map is picked up
    assert [rule.key for rule in store.current().rules] == ["GET /wards"]


@pytest.mark.parametrize(
    "problem", ["ssm-error", "invalid-json", "no-parameters"], ids=["ssm", "json", "empty"]
)
def test_route_store_never_loaded_raises_routes_unavailable(problem: str) -> None:
    # GIVEN SSM failing (or holding nothing usable) from the start
    loader, clock, events = Loader({}), ManualClock(), []
    if problem == "ssm-error":
        loader.failure = ConnectionError("down")
    elif problem == "invalid-json":
        loader.documents = {f"{PATH}/api": "not json"}
    store = make_store(loader, clock, events)

    # WHEN / THEN 500-class error with the fixed reason
    with pytest.raises(RoutesUnavailableError) as caught:
        store.current()
    assert caught.value.reason is Reason.ROUTES_UNAVAILABLE
    assert not store.loaded
