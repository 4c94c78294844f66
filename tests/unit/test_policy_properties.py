"""Property tests: compiled policies, read the way API Gateway reads them, never over-allow."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from okta_authorizer.iam import evaluate
from okta_authorizer.policy import (
    api_policy,
    patterns_overlap,
    route_policy,
    stage_resource,
)
from okta_authorizer.routes import RouteMap, parse_route_map
from okta_authorizer.tokens import AccessToken
from tests.support import access_token

STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"
SCOPES = ["s1", "s2", "s3"]
CLIENTS = ["c1", "c2", "c3"]
GROUPS = ["g1", "g2"]
# Few literals, so that generated routes collide, nest and overlap often.
LITERALS = ["a", "b"]
VALUES = ["a", "b", "x"]
FAST = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Request:
    method: str
    path: str

    @property
    def arn(self) -> str:
        return f"{STAGE}/{self.method}/{self.path[1:]}"


# Strategies are built once: hypothesis validates each new strategy object, which would
# otherwise dominate the run time.
_METHODS = st.sampled_from(["GET", "POST", "ANY"])
_CONCRETE_METHODS = st.sampled_from(["GET", "POST", "DELETE", "PATCH"])
_TEMPLATE_SEGMENTS = st.lists(st.sampled_from([*LITERALS, "{p}"]), max_size=3)
_SCOPE_LISTS = st.lists(st.sampled_from(SCOPES), unique=True, max_size=2)
_MATCHES = st.sampled_from(["any", "all"])
_ONE_IN_FOUR = st.integers(0, 3)
_CLIENT_LISTS = st.lists(st.sampled_from(CLIENTS), unique=True, min_size=1)
_GROUP_LISTS = st.lists(st.sampled_from(GROUPS), unique=True, min_size=1)
_HELD_SCOPES = st.lists(st.sampled_from(SCOPES), unique=True)
_CIDS = st.sampled_from(CLIENTS)
_HELD_GROUPS = st.one_of(
    st.lists(st.sampled_from(GROUPS), unique=True), st.sampled_from(GROUPS), st.none()
)
_VALUE = st.sampled_from(VALUES)
_REST = st.lists(_VALUE, min_size=1, max_size=3)


@st.composite
def route_keys(draw: st.DrawFn) -> str:
    segments = draw(_TEMPLATE_SEGMENTS)
    names = [f"{{p{i}}}" if s == "{p}" else s for i, s in enumerate(segments)]
    if draw(st.booleans()):
        names.append("{rest+}")
    return f"{draw(_METHODS)} /" + "/".join(names)


@st.composite
def rule_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"scopes": draw(_SCOPE_LISTS), "match": draw(_MATCHES)}
    if draw(_ONE_IN_FOUR) == 0:
        body["clients"] = draw(_CLIENT_LISTS)
    if draw(_ONE_IN_FOUR) == 0:
        body["claims"] = {"groups": draw(_GROUP_LISTS)}
    return body


def _shape(key: str) -> tuple[str, ...]:
    method, path = key.split(" ", 1)
    return (method, *("{+}" if "+" in s else "{}" if "{" in s else s for s in path.split("/")))


_KEY_LISTS = st.lists(route_keys(), min_size=1, max_size=7, unique_by=_shape)
_BODIES = rule_bodies()


@st.composite
def route_maps(draw: st.DrawFn) -> RouteMap:
    keys = draw(_KEY_LISTS)
    routes = {key: draw(_BODIES) for key in keys}
    # Split over two parameters, as an operator might.
    cut = draw(st.integers(0, len(keys)))
    documents = {
        "/routes/1": json.dumps({"routes": dict(list(routes.items())[:cut])}),
        "/routes/2": json.dumps({"routes": dict(list(routes.items())[cut:])}),
    }
    return parse_route_map(documents)


@st.composite
def tokens(draw: st.DrawFn) -> AccessToken:
    scopes = tuple(draw(_HELD_SCOPES))
    cid = draw(_CIDS)
    groups: Any = draw(_HELD_GROUPS)
    claims: dict[str, Any] = {} if groups is None else {"groups": groups}
    return access_token(*scopes, cid=cid, sub="user", uid=None, jti="AT.1", **claims)


def draw_request(data: st.DataObject, route_map: RouteMap) -> Request:
    """A concrete request that the map declares (some rule's template matches it)."""
    rule = route_map.rules[data.draw(st.integers(0, len(route_map.rules) - 1))]
    method = data.draw(_CONCRETE_METHODS) if rule.method == "ANY" else rule.method
    parts: list[str] = []
    for segment in rule.segments:
        if segment.endswith("+}"):
            parts.extend(data.draw(_REST))
        elif segment.startswith("{"):
            parts.append(data.draw(_VALUE))
        else:
            parts.append(segment)
    return Request(method, "/" + "/".join(parts))


def exact_decision(route_map: RouteMap, token: AccessToken, request: Request) -> bool:
    rule = route_map.match(request.method, request.path)
    return rule is not None and rule.check(token) is None


def no_patterns_overlap(route_map: RouteMap) -> bool:
    patterns = [stage_resource(STAGE, rule) for rule in route_map.rules]
    return not any(patterns_overlap(a, b) for a, b in itertools.combinations(patterns, 2))


@FAST
@given(data=st.data(), route_map=route_maps(), token=tokens())
def test_api_policy_never_allows_what_route_semantics_deny(
    data: st.DataObject, route_map: RouteMap, token: AccessToken
) -> None:
    # GIVEN the policy compiled for the token's first request (what API Gateway caches)
    first = draw_request(data, route_map)
    document = api_policy(first.arn, route_map, token)

    # WHEN it is applied to any declared request of the same token
    request = draw_request(data, route_map)
    allowed = evaluate(document, request.arn) == "Allow"

    # THEN it never allows what the exact semantics deny, and without overlaps it is exact
    exact = exact_decision(route_map, token, request)
    if allowed:
        assert exact
    if no_patterns_overlap(route_map):
        assert allowed is exact


def _pattern(key: str) -> str:
    method, path = key.split(" ", 1)
    segments = ("*" if s.startswith("{") else s for s in path[1:].split("/"))
    return f"{'*' if method == 'ANY' else method}/{'/'.join(segments)}"


@st.composite
def non_overlapping_route_maps(draw: st.DrawFn) -> RouteMap:
    # Keep each drawn route only if its pattern overlaps none kept so far: no rejection sampling.
    kept: dict[str, str] = {}
    for key in draw(_KEY_LISTS):
        pattern = _pattern(key)
        if not any(patterns_overlap(pattern, other) for other in kept.values()):
            kept[key] = pattern
    routes = {key: draw(_BODIES) for key in kept}
    return parse_route_map({"/routes": json.dumps({"routes": routes})})


@FAST
@given(data=st.data(), route_map=non_overlapping_route_maps(), token=tokens())
def test_api_policy_without_overlapping_patterns_is_exact(
    data: st.DataObject, route_map: RouteMap, token: AccessToken
) -> None:
    # GIVEN a map in which no two rules' resource patterns overlap
    assert no_patterns_overlap(route_map)
    document = api_policy(draw_request(data, route_map).arn, route_map, token)

    # WHEN / THEN every declared request gets exactly the route semantics' decision
    request = draw_request(data, route_map)
    allowed = evaluate(document, request.arn) == "Allow"
    assert allowed is exact_decision(route_map, token, request)
    assert not any(s["Effect"] == "Deny" for s in document["Statement"]) or not any(
        s["Effect"] == "Allow" for s in document["Statement"]
    )


@FAST
@given(data=st.data(), route_map=route_maps(), token=tokens())
def test_route_policy_always_agrees_with_route_semantics(
    data: st.DataObject, route_map: RouteMap, token: AccessToken
) -> None:
    # GIVEN the exact decision for a declared request
    request = draw_request(data, route_map)
    exact = exact_decision(route_map, token, request)

    # WHEN the route-mode policy is applied to that same request
    decision = evaluate(route_policy(request.arn, exact), request.arn)

    # THEN
    assert (decision == "Allow") is exact


@FAST
@given(route_map=route_maps(), token=tokens())
def test_api_policy_allows_every_rule_the_token_meets_unless_an_overlap_denies(
    route_map: RouteMap, token: AccessToken
) -> None:
    # GIVEN the api-mode policy for a token
    document = api_policy(STAGE + "/GET/", route_map, token)
    denied = {r for s in document["Statement"] if s["Effect"] == "Deny" for r in s["Resource"]}

    # WHEN / THEN each granted rule's pattern is allowed; a refused one is not, or is also denied
    # (a granted rule can compile to the same pattern: `/a/{id}` and `/a/{rest+}` are both `a/*`)
    for rule in route_map.rules:
        resource = stage_resource(STAGE, rule)
        if rule.check(token) is None:
            assert _allowed_pattern(document, resource)
        else:
            assert not _allowed_pattern(document, resource) or resource in denied


def _allowed_pattern(document: dict[str, Any], resource: str) -> bool:
    return any(
        statement["Effect"] == "Allow" and resource in statement["Resource"]
        for statement in document["Statement"]
    )


_GLOB = st.text(alphabet="ab*?", max_size=4)


@FAST
@given(first=_GLOB, second=_GLOB)
def test_patterns_overlap_agrees_with_brute_force(first: str, second: str) -> None:
    # GIVEN every string over the alphabet up to the longest witness that could be needed: each
    # character of a shortest common match uses up a non-star character of one of the patterns
    bound = len(first.replace("*", "")) + len(second.replace("*", ""))
    candidates = (
        "".join(chars) for n in range(bound + 1) for chars in itertools.product("ab", repeat=n)
    )

    # WHEN / THEN patterns overlap exactly when some string matches both
    witness = any(_matches(first, text) and _matches(second, text) for text in candidates)
    assert patterns_overlap(first, second) is witness


def _matches(pattern: str, text: str) -> bool:
    statement = {"Effect": "Allow", "Action": "*", "Resource": pattern}
    return evaluate({"Statement": statement}, text) == "Allow"
