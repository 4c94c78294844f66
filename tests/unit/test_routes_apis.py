"""Route-map documents scoped to API ids (`"apis"`): validation, duplicates, per-API views."""

from __future__ import annotations

import json
from typing import Any

import pytest

from okta_authorizer.errors import Reason, RouteMapError
from okta_authorizer.routes import parse_route_map
from tests.support import access_token

ORDERS = "/okta-authorizer/dev/routes/orders"
BEDS = "/okta-authorizer/dev/routes/beds"
SHARED = "/okta-authorizer/dev/routes/shared"


def doc(routes: dict[str, Any], apis: list[str] | None = None) -> str:
    document: dict[str, Any] = {"routes": routes}
    if apis is not None:
        document["apis"] = apis
    return json.dumps(document)


def two_api_map() -> dict[str, str]:
    return {
        BEDS: doc({"GET /health": {"scopes": ["beds:read"]}}, ["bedsapi01"]),
        ORDERS: doc({"GET /health": {"scopes": ["orders:read"]}}, ["ordersapi1"]),
        SHARED: doc({"GET /status": {"scopes": []}}),
    }


def test_parse_route_map_same_route_for_two_apis_is_not_a_duplicate() -> None:
    # WHEN two documents scoped to two APIs both name GET /health
    route_map = parse_route_map(two_api_map())

    # THEN the map holds both rules and knows both API ids
    assert sorted(rule.source for rule in route_map.rules if rule.key == "GET /health") == [
        BEDS,
        ORDERS,
    ]
    assert route_map.apis == frozenset({"bedsapi01", "ordersapi1"})


def test_route_map_for_api_holds_its_documents_and_the_unscoped_ones() -> None:
    route_map = parse_route_map(two_api_map())

    # WHEN the views of each API (and of an API no document names) are taken
    beds = route_map.for_api("bedsapi01")
    orders = route_map.for_api("ordersapi1")
    other = route_map.for_api("someotherapi")

    # THEN each judges with its own rule, the unscoped document applies to all of them
    assert {r.key: r.source for r in beds.rules} == {"GET /health": BEDS, "GET /status": SHARED}
    assert {r.key: r.source for r in orders.rules} == {"GET /health": ORDERS, "GET /status": SHARED}
    assert {r.key for r in other.rules} == {"GET /status"}
    beds_rule, orders_rule = beds.match("GET", "/health"), orders.match("GET", "/health")
    assert beds_rule is not None
    assert orders_rule is not None
    reader = access_token("beds:read")
    assert beds_rule.check(reader) is None
    assert orders_rule.check(reader) is Reason.INSUFFICIENT_SCOPE
    assert other.match("GET", "/health") is None


def test_route_map_for_api_versions_differ_per_view_and_views_are_cached() -> None:
    route_map = parse_route_map(two_api_map())

    versions = {
        route_map.version,
        route_map.for_api("bedsapi01").version,
        route_map.for_api("ordersapi1").version,
        route_map.for_api("someotherapi").version,
    }

    assert len(versions) == 4
    assert route_map.for_api("bedsapi01") is route_map.for_api("bedsapi01")
    # every API no document names shares one view: the cache is bounded by the map
    assert route_map.for_api("unnamed1") is route_map.for_api("unnamed2")


def test_route_map_for_api_unscoped_map_keeps_its_version() -> None:
    # GIVEN a map without "apis" (as before documents could be scoped)
    documents = {BEDS: doc({"GET /beds": {"scopes": ["beds:read"]}})}
    plain = parse_route_map(documents)

    # THEN its version is unchanged by scoping support and every API sees every rule
    assert plain.apis == frozenset()
    assert [r.key for r in plain.for_api("anyapi").rules] == ["GET /beds"]
    scoped = parse_route_map({BEDS: doc({"GET /beds": {"scopes": ["beds:read"]}}, ["a1"])})
    assert scoped.version != plain.version


@pytest.mark.parametrize(
    "documents",
    [
        {
            BEDS: doc({"GET /health": {"scopes": []}}, ["api1"]),
            ORDERS: doc({"GET /health": {"scopes": ["x"]}}, ["api2", "api1"]),
        },
        {
            BEDS: doc({"GET /health": {"scopes": []}}, ["api1"]),
            SHARED: doc({"GET /health": {"scopes": []}}),
        },
        {BEDS: doc({"GET /beds/{a}": {"scopes": []}, "GET /beds/{b}": {"scopes": []}}, ["api1"])},
    ],
    ids=["overlapping-api-lists", "scoped-and-unscoped", "same-shape-in-one-document"],
)
def test_parse_route_map_same_route_twice_for_one_api_rejects_the_map(
    documents: dict[str, str],
) -> None:
    with pytest.raises(RouteMapError, match="duplicates route") as caught:
        parse_route_map(documents)
    assert caught.value.reason is Reason.ROUTES_UNAVAILABLE


@pytest.mark.parametrize(
    "apis",
    [[], "api1", [""], ["api/1"], ["api*"], [1]],
    ids=["empty", "not-a-list", "empty-id", "slash", "wildcard", "number"],
)
def test_parse_route_map_bad_apis_rejects_the_map_naming_the_parameter(apis: Any) -> None:
    text = json.dumps({"apis": apis, "routes": {"GET /beds": {"scopes": []}}})
    with pytest.raises(RouteMapError, match=f"parameter {BEDS}: 'apis' must be"):
        parse_route_map({BEDS: text})
