"""Review a route map: API coverage, api-mode policy overlaps, changes, a request explained."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from okta_authorizer.api_definition import ApiRoute
from okta_authorizer.errors import Reason
from okta_authorizer.iam import Effect, evaluate
from okta_authorizer.policy import (
    ACTION,
    api_policy,
    patterns_overlap,
    route_policy,
    stage_resource,
)
from okta_authorizer.routes import METHODS, RouteMap, Rule
from okta_authorizer.tokens import AccessToken

#: The API whose stage ARN examples are written against when the operator names no real one.
EXAMPLE_API_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
#: Its stage `dev`: the default of `--stage`.
EXAMPLE_STAGE_ARN = f"{EXAMPLE_API_ARN}/dev"
_NAMED_METHODS = tuple(sorted(METHODS - {"ANY"}))
# Requests tried per pair of rules when looking for an example; the candidates are built from the
# two rules' own segments, so a real overlap shows up within the first few dozen.
_CANDIDATE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Gap:
    """An API route the map does not name: requests to it are denied as `unmapped_route`."""

    route: ApiRoute
    named_methods: tuple[str, ...]  # for an API `ANY` route: the methods the map does name
    fallback: Rule | None  # the rule a concrete request would still match by path (TOKEN events)


@dataclass(frozen=True, slots=True)
class Overlap:
    """In api mode, `refused`'s Deny also covers a request the exact semantics give to `granted`."""

    refused: Rule
    granted: Rule
    method: str
    path: str
    token: AccessToken  # the example token: meets `granted`, not `refused`
    deny_resource: str


@dataclass(frozen=True, slots=True)
class CoverageReview:
    """A route map checked against an API's routes."""

    uncovered: tuple[Gap, ...]
    stale: tuple[Rule, ...]

    @property
    def clean(self) -> bool:
        """True when the map names exactly the API's routes."""
        return not self.uncovered and not self.stale


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One route key whose rule was added, removed or changed between two maps."""

    key: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def kind(self) -> str:
        """`added`, `removed` or `changed`."""
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a rule, what it requires and whether the token meets it."""

    name: str
    required: str
    met: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    """How the authorizer judges one request for one token, in both policy modes."""

    method: str
    path: str
    rule: Rule | None
    reason: Reason | None  # None when the exact semantics allow the request
    conditions: tuple[Condition, ...]
    request_resource: str
    api_effect: Effect
    route_effect: Effect
    statements: tuple[tuple[str, str], ...]  # (effect, resource) of api-mode entries that apply

    @property
    def allowed(self) -> bool:
        """The exact decision (POLICY_MODE=route, simple responses)."""
        return self.reason is None

    def effect(self, policy_mode: str) -> Effect:
        """What the authorizer's answer does to the request in `policy_mode` (api or route)."""
        return self.api_effect if policy_mode == "api" else self.route_effect


def rule_document(rule: Rule) -> dict[str, Any]:
    """A rule as the route-map JSON writes it (defaults left out)."""
    document: dict[str, Any] = {"scopes": list(rule.scopes)}
    if rule.match == "all":
        document["match"] = "all"
    if rule.clients is not None:
        document["clients"] = sorted(rule.clients)
    if rule.claims:
        document["claims"] = {name: sorted(values) for name, values in rule.claims}
    return document


def map_document(route_map: RouteMap) -> dict[str, Any]:
    """A whole map as one route-map JSON document, rules in their order."""
    return {"routes": {rule.key: rule_document(rule) for rule in route_map.rules}}


def review_coverage(route_map: RouteMap, api_routes: Sequence[ApiRoute]) -> CoverageReview:
    """API routes the map does not name, and map rules no API route uses."""
    used: set[str] = set()
    uncovered: list[Gap] = []
    for route in api_routes:
        rule = route_map.lookup(route.method, route.path)
        named: list[str] = []
        if route.method == "ANY":
            # An ANY route receives every method; a named rule of the same path serves that method.
            for method in _NAMED_METHODS:
                found = route_map.lookup(method, route.path)
                if found is not None:
                    used.add(found.key)
                    if found.method == method:
                        named.append(method)
        if rule is not None:
            used.add(rule.key)
            continue
        fallback = route_map.match(_example_method(route.method), example_path(route.path))
        uncovered.append(Gap(route, tuple(named), fallback))
    stale = tuple(rule for rule in route_map.rules if rule.key not in used)
    return CoverageReview(tuple(uncovered), stale)


def find_overlaps(route_map: RouteMap, stage_arn: str = EXAMPLE_STAGE_ARN) -> list[Overlap]:
    """Pairs of rules where the api-mode policy denies a request the exact semantics allow.

    Each finding is checked end to end: the example request is routed to `granted` by
    RouteMap.match, the example token meets `granted` and not `refused`, and the compiled
    api-mode policy, evaluated like IAM, denies the request through `refused`'s resource.
    """
    resources = {rule.key: stage_resource(stage_arn, rule) for rule in route_map.rules}
    filler = _filler(route_map)
    found: list[Overlap] = []
    for refused, granted in itertools.permutations(route_map.rules, 2):
        deny = resources[refused.key]
        if not patterns_overlap(deny, resources[granted.key]):
            continue
        overlap = _first_overlap(route_map, stage_arn, refused, granted, deny=deny, filler=filler)
        if overlap is not None:
            found.append(overlap)
    return found


def _first_overlap(
    route_map: RouteMap, stage_arn: str, refused: Rule, granted: Rule, *, deny: str, filler: str
) -> Overlap | None:
    tokens = list(_tokens_meeting_only(granted, refused))
    if not tokens:
        return None
    for method, path in itertools.islice(
        _candidate_requests(granted, refused, filler), _CANDIDATE_LIMIT
    ):
        if route_map.match(method, path) is not granted:
            continue
        request = f"{stage_arn}/{method}/{path[1:]}"
        if not patterns_overlap(deny, request):
            continue
        for token in tokens:
            if evaluate(api_policy(request, route_map, token), request) == "Deny":
                return Overlap(refused, granted, method, path, token, deny)
    return None


def _tokens_meeting_only(granted: Rule, refused: Rule) -> Iterator[AccessToken]:
    # The least a token can hold to meet `granted`: one scope (any) or all of them, one client,
    # one value per claim. Holding less makes every other rule harder to meet, so if no such
    # token fails `refused`, none does.
    if not granted.scopes:
        scope_choices: list[tuple[str, ...]] = [()]
    elif granted.match == "all":
        scope_choices = [granted.scopes]
    else:
        scope_choices = [(scope,) for scope in granted.scopes]
    client_choices: list[str | None] = [None]
    if granted.clients is not None:
        client_choices = [*sorted(granted.clients)]
    claim_choices = [[(name, value) for value in sorted(values)] for name, values in granted.claims]
    for scopes, cid, claims in itertools.product(
        scope_choices, client_choices, itertools.product(*claim_choices)
    ):
        token = example_token(scopes, cid, {name: [value] for name, value in claims})
        if granted.check(token) is None and refused.check(token) is not None:
            yield token


def example_token(
    scopes: Sequence[str], cid: str | None, claims: dict[str, Any] | None = None
) -> AccessToken:
    """An AccessToken holding these scopes, client and claims, for analysis (never verified)."""
    all_claims: dict[str, Any] = dict(claims or {})
    all_claims["scp"] = list(scopes)
    if cid is not None:
        all_claims["cid"] = cid
    return AccessToken(
        claims=all_claims,
        scopes=tuple(scopes),
        sub="example",
        cid=cid,
        uid=None,
        jti=None,
        exp=0,
        issuer="",
        kid="",
    )


def _candidate_requests(granted: Rule, refused: Rule, filler: str) -> Iterator[tuple[str, str]]:
    # Parameter values that can line up with the refused rule's pattern: its literal segments,
    # and for a greedy parameter every tail of its path; the filler stands for "anything else".
    literals = [s for s in refused.segments if not s.startswith("{")]
    pool = list(dict.fromkeys([filler, *literals]))
    concrete = [filler if s.startswith("{") else s for s in refused.segments]
    tails = [*pool]
    for start in range(len(concrete)):
        tail = "/".join(concrete[start:])
        tails.extend([tail, f"{filler}/{tail}"])
    tails = list(dict.fromkeys(tails))
    choices: list[list[str]] = []
    for segment in granted.segments:
        if not segment.startswith("{"):
            choices.append([segment])
        else:
            choices.append(tails if segment.endswith("+}") else pool)
    if granted.method != "ANY":
        methods: list[str] = [granted.method]
    else:
        preferred = [refused.method] if refused.method != "ANY" else []
        methods = list(dict.fromkeys([*preferred, *_NAMED_METHODS]))
    for values in itertools.product(*choices):
        for method in methods:
            yield method, "/" + "/".join(values)


def _filler(route_map: RouteMap) -> str:
    literals = {s for rule in route_map.rules for s in rule.segments}
    return next(value for value in ("17", "x", "example", "x-1") if value not in literals)


def _example_method(method: str) -> str:
    return "GET" if method == "ANY" else method


def example_path(template: str) -> str:
    """A concrete path for a route template (`{name}` -> `17`), for messages."""
    if not template.startswith("/"):
        return template
    parts = [
        "17" if part.startswith("{") and part.endswith("}") else part
        for part in template[1:].split("/")
    ]
    return "/" + "/".join(parts)


def diff_route_maps(old: RouteMap, new: RouteMap) -> list[RuleChange]:
    """Rules added, removed or changed from `old` to `new`, by route key, sorted by key."""
    before = {rule.key: rule_document(rule) for rule in old.rules}
    after = {rule.key: rule_document(rule) for rule in new.rules}
    changes: list[RuleChange] = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was is None or now is None or _canonical(was) != _canonical(now):
            changes.append(RuleChange(key, was, now))
    return changes


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    # Scope order is not part of a rule's meaning.
    return {**document, "scopes": sorted(document["scopes"])}


def explain_request(
    route_map: RouteMap,
    method: str,
    path: str,
    token: AccessToken,
    *,
    resource: str | None = None,
    stage_arn: str = EXAMPLE_STAGE_ARN,
) -> Explanation:
    """Which rule judges `method path`, whether `token` meets it and why not, and the policies.

    `resource` is the route template a REST REQUEST or HTTP API event names (then the rule is
    looked up by template, as the authorizer does); without it the concrete path is matched, as
    for a TOKEN event's method ARN.
    """
    method = method.upper()
    rule = route_map.lookup(method, resource) if resource else route_map.match(method, path)
    request = f"{stage_arn}/{method}/{path[1:]}"
    if rule is None:
        reason: Reason | None = Reason.UNMAPPED_ROUTE
        conditions: tuple[Condition, ...] = ()
    else:
        reason = rule.check(token)
        conditions = _conditions(rule, token)
    document = api_policy(request, route_map, token)
    statements = tuple(
        (statement["Effect"], pattern)
        for statement in document["Statement"]
        for pattern in statement["Resource"]
        if evaluate({"Statement": [{**statement, "Resource": pattern}]}, request, ACTION)
        != "ImplicitDeny"
    )
    return Explanation(
        method=method,
        path=path,
        rule=rule,
        reason=reason,
        conditions=conditions,
        request_resource=request,
        api_effect=evaluate(document, request),
        route_effect=evaluate(route_policy(request, reason is None), request),
        statements=statements,
    )


def _conditions(rule: Rule, token: AccessToken) -> tuple[Condition, ...]:
    # Each condition is judged by Rule.check itself, on a copy of the rule holding only it.
    bare = dataclasses.replace(rule, scopes=(), clients=None, claims=())
    conditions = []
    if rule.scopes:
        wanted = "all of" if rule.match == "all" else "any of"
        only = dataclasses.replace(bare, scopes=rule.scopes, match=rule.match)
        conditions.append(
            Condition("scopes", f"{wanted} {list(rule.scopes)}", only.check(token) is None)
        )
    else:
        conditions.append(Condition("scopes", "none required", True))
    if rule.clients is not None:
        only = dataclasses.replace(bare, clients=rule.clients)
        conditions.append(
            Condition("client", f"cid in {sorted(rule.clients)}", only.check(token) is None)
        )
    for name, values in rule.claims:
        only = dataclasses.replace(bare, claims=((name, values),))
        conditions.append(
            Condition(
                f"claim {name}", f"shares a value with {sorted(values)}", only.check(token) is None
            )
        )
    return tuple(conditions)
