"""The use case: from a bearer token and a requested route to an authorization decision."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import orjson

from okta_authorizer import policy
from okta_authorizer.bounded import make_room, shrink
from okta_authorizer.errors import Reason
from okta_authorizer.jwks import get_key_sets
from okta_authorizer.observability import count, get_decision_log
from okta_authorizer.route_store import RouteStore, get_route_store
from okta_authorizer.tokens import AccessToken, TokenVerifier
from okta_authorizer.upstream import get_http_client, reset_http_client

if TYPE_CHECKING:
    from okta_authorizer.routes import RouteMap, Rule
    from okta_authorizer.settings import Settings

log = logging.getLogger(__name__)

EventKind = Literal["token", "request", "http"]

#: Decisions remembered per container (token x route); each holds a reference to a shared policy.
DECISION_CACHE_LIMIT = 4096
#: Verdicts remembered per container (route x token profile, per route-map version).
VERDICT_CACHE_LIMIT = 4096


# NamedTuples, not frozen dataclasses: built (and the request hashed) on every call, where the
# dataclasses' per-field object.__setattr__ and tuple-building __hash__ cost microseconds.
class AuthorizationRequest(NamedTuple):
    """What the authorizer needs from an API Gateway event, whatever its type."""

    kind: EventKind
    authorization: str | None  # the raw Authorization header value
    arn: str  # methodArn (REST) or routeArn (HTTP API)
    method: str  # the request's HTTP method, or the route key's method for HTTP APIs
    # the route template (REST REQUEST `resource`, HTTP API routeKey path)
    resource: str | None = None
    simple: bool = False  # answer with the HTTP API simple response


class Decision(NamedTuple):
    """The outcome for a valid token: allowed or denied, why, and the response for API Gateway."""

    allowed: bool
    reason: Reason | None  # None when allowed
    route: str  # the rule key that judged the request, or the requested route if unmapped
    token: AccessToken
    response: Mapping[str, Any]
    policy_bytes: int | None = None  # size of the IAM policy document as JSON; None if simple


class _Verdict(NamedTuple):
    """What a request's route and a token's profile decide: shared by tokens of that profile."""

    allowed: bool
    reason: Reason | None
    route: str
    document: dict[str, Any] | None  # the IAM policy; None for simple responses, which have none
    policy_bytes: int | None  # its size as compact JSON, for the PolicyBytes metric


class Authorizer:
    """Wires token verification, the route map and the policy compiler together."""

    def __init__(
        self,
        settings: Settings,
        verifier: TokenVerifier,
        routes: RouteStore,
        *,
        decision_cache_limit: int = DECISION_CACHE_LIMIT,
        verdict_cache_limit: int = VERDICT_CACHE_LIMIT,
    ) -> None:
        self._settings = settings
        self._verifier = verifier
        self._routes = routes
        # (request, route-map version) -> decision. Valid only while the verifier answers with the
        # very AccessToken the decision was built on: it returns a new one whenever it re-verifies.
        self._decisions: dict[tuple[AuthorizationRequest, str], Decision] = {}
        self._decision_limit = decision_cache_limit
        # (map version, arn, method, resource, simple, token profile) -> verdict; see _decide.
        self._verdicts: dict[tuple[Any, ...], _Verdict] = {}
        self._verdict_limit = verdict_cache_limit

    def authorize(self, request: AuthorizationRequest) -> Decision:
        """Decide; raises TokenError (401), OutageError or ConfigurationError (500)."""
        if self._routes.loaded:
            token = self._verifier.verify_bearer(request.authorization)
            route_map = self._routes.current()
        else:
            token, route_map = self._verify_while_loading_routes(request.authorization)
        # Only the documents that apply to the requested API judge it (and enter its policy).
        route_map = route_map.for_api(policy.MethodArn.parse(request.arn).api_id)
        key = (request, route_map.version)
        cached = self._decisions.get(key)
        if cached is not None and cached.token is token:
            return cached
        decision = self._decide(request, token, route_map)
        if self._decision_limit > 0:
            # The size test here rather than in make_room: this runs for every new decision.
            if len(self._decisions) >= self._decision_limit:
                shrink(self._decisions, self._decision_limit)
            self._decisions[key] = decision
        return decision

    def _decide(
        self, request: AuthorizationRequest, token: AccessToken, route_map: RouteMap
    ) -> Decision:
        profile = route_map.profile(token)
        if profile is None or self._verdict_limit <= 0:
            verdict = self._judge(request, token, route_map)
        else:
            # Everything but the context depends only on the route asked for and the token's
            # profile, so a new token of a known kind skips matching, checking and compiling.
            key = (
                route_map.version,
                request.arn,
                request.method,
                request.resource,
                request.simple,
                profile,
            )
            remembered = self._verdicts.get(key)
            if remembered is None:
                verdict = self._judge(request, token, route_map)
                make_room(self._verdicts, self._verdict_limit)
                self._verdicts[key] = verdict
            else:
                verdict = remembered
        context = policy.build_context(token, self._settings.context_claims)
        if verdict.document is None:  # a simple response (request.simple is part of the key)
            response = policy.simple_response(verdict.allowed, context)
            return Decision(verdict.allowed, verdict.reason, verdict.route, token, response)
        response = policy.iam_response(token.sub, verdict.document, context)
        return Decision(
            verdict.allowed, verdict.reason, verdict.route, token, response, verdict.policy_bytes
        )

    def _judge(
        self, request: AuthorizationRequest, token: AccessToken, route_map: RouteMap
    ) -> _Verdict:
        arn = policy.MethodArn.parse(request.arn)
        rule = self._find_rule(route_map, request, arn)
        if rule is None:
            reason: Reason | None = Reason.UNMAPPED_ROUTE
            route = f"{arn.method} {request.resource or arn.path}"
        else:
            reason = rule.check(token)
            route = rule.key
        allowed = reason is None
        if request.simple:
            return _Verdict(allowed, reason, route, None, None)
        if self._settings.policy_mode == "route":
            document = policy.route_policy(arn, allowed)
        else:
            document = policy.api_policy(arn, route_map, token)
        return _Verdict(allowed, reason, route, document, len(orjson.dumps(document)))

    def _verify_while_loading_routes(self, header: str | None) -> tuple[AccessToken, RouteMap]:
        """Verify the token while the first route map loads, so a cold start waits one round trip.

        Both run to the end; a token error wins (the caller gets 401), and a route-map failure is
        logged even then, so that one outage never hides the other.
        """
        outcome: dict[str, Any] = {}

        def load() -> None:
            try:
                outcome["map"] = self._routes.current()
            except Exception as error:  # noqa: BLE001 - handed back to the calling thread below
                outcome["error"] = error

        loader = threading.Thread(target=load, name="route-map-load", daemon=True)
        loader.start()
        try:
            token = self._verifier.verify_bearer(header)
        except Exception:
            loader.join()
            if "error" in outcome:
                log.warning("route map unavailable too: %s", outcome["error"])
            raise
        loader.join()
        if "error" in outcome:
            raise outcome["error"]
        route_map: RouteMap = outcome["map"]
        return token, route_map

    def prepare(self) -> None:
        """Build every client the first decision uses (SnapStart, before the snapshot): no I/O."""
        self._routes.prepare()

    def forget_ages(self) -> None:
        """Mark every cached age unknown and drop pooled connections (after a SnapStart restore)."""
        for key_set in self._verifier.key_sets.values():
            key_set.forget_age()
        self._routes.forget_age()

    @staticmethod
    def _find_rule(
        route_map: RouteMap, request: AuthorizationRequest, arn: policy.MethodArn
    ) -> Rule | None:
        if request.resource is not None:
            return route_map.lookup(request.method, request.resource)
        return route_map.match(arn.method, arn.path)


# The settings object get_settings() hands out is the same every call: an identity check spares
# hashing the frozen dataclass (all its fields) on every invocation.
_current: tuple[Settings, Authorizer] | None = None


def get_authorizer(settings: Settings) -> Authorizer:
    """The process-wide authorizer for these settings, built on first use."""
    global _current  # noqa: PLW0603 - the one process-wide shortcut, cleared by reset()
    current = _current
    if current is not None and current[0] is settings:
        return current[1]
    authorizer = _build_authorizer(settings)
    _current = (settings, authorizer)
    return authorizer


@functools.cache
def _build_authorizer(settings: Settings) -> Authorizer:
    key_sets = get_key_sets(settings, observer=count)
    return Authorizer(settings, TokenVerifier(settings, key_sets), get_route_store(settings))


def prepare(settings: Settings) -> None:
    """Import and build what a decision needs, without any outside call (SnapStart snapshot)."""
    get_authorizer(settings).prepare()
    get_http_client(settings.upstream_deadline_ms / 1000)
    get_decision_log()


def forget_ages() -> None:
    """After a SnapStart restore: no cached age is trusted, no pooled connection is reused."""
    current = _current
    if current is not None:
        current[1].forget_ages()
    reset_http_client()


def reset() -> None:
    """Forget every cache, the HTTP pool and the invocation deadline: for tests."""
    from okta_authorizer.jwks import reset_key_sets
    from okta_authorizer.upstream import invocation

    global _current  # noqa: PLW0603
    _current = None
    _build_authorizer.cache_clear()
    get_route_store.cache_clear()
    reset_key_sets()
    get_decision_log.cache_clear()
    reset_http_client()
    invocation.start(None)
