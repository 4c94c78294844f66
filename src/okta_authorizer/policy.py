"""Compile a decision into an IAM policy or an HTTP API simple response, and build the context."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_authorizer.errors import AuthorizerError, Reason

if TYPE_CHECKING:
    from okta_authorizer.routes import RouteMap, Rule
    from okta_authorizer.tokens import AccessToken

ContextValue = str | int | bool

#: Largest context value kept, in UTF-8 bytes; a longer value is dropped, never truncated.
MAX_CONTEXT_VALUE_BYTES = 1024
POLICY_VERSION = "2012-10-17"
ACTION = "execute-api:Invoke"

_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):execute-api:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r":(?P<account>\d{12}):(?P<api_id>[A-Za-z0-9]+)/(?P<stage>\$?[A-Za-z0-9_-]+)"
    r"/(?P<method>[A-Z]+)/(?P<rest>[^\s]*)"
)
_WILDCARDS = frozenset("*?")


@dataclass(frozen=True, slots=True)
class MethodArn:
    """A REST API `methodArn` or HTTP API `routeArn`, taken apart."""

    arn: str
    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    method: str
    path: str

    @classmethod
    def parse(cls, arn: str) -> MethodArn:
        """Parse an execute-api ARN; a malformed one raises AuthorizerError (misconfigured)."""
        parsed = _parse_arn(arn) if isinstance(arn, str) else None
        if parsed is None:
            raise AuthorizerError(
                "the event's method ARN is not an execute-api ARN "
                "(arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>)",
                reason=Reason.MISCONFIGURED,
            )
        return parsed

    @classmethod
    def _from_match(cls, arn: str, parts: re.Match[str]) -> MethodArn:
        return cls(
            arn=arn,
            partition=parts["partition"],
            region=parts["region"],
            account=parts["account"],
            api_id=parts["api_id"],
            stage=parts["stage"],
            method=parts["method"],
            path="/" + parts["rest"],
        )

    @property
    def stage_arn(self) -> str:
        """The ARN of the API stage, the prefix of every resource in its policies."""
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}"
            f":{self.api_id}/{self.stage}"
        )


# An API has few routes and API Gateway sends the same ARNs again and again: the regex and the
# dataclass are paid once per ARN (bounded; MethodArn is immutable, so sharing is safe).
@functools.lru_cache(maxsize=256)
def _parse_arn(arn: str) -> MethodArn | None:
    parts = _ARN.fullmatch(arn)
    return None if parts is None else MethodArn._from_match(arn, parts)


def _as_arn(arn: MethodArn | str) -> MethodArn:
    return arn if isinstance(arn, MethodArn) else MethodArn.parse(arn)


def stage_resource(stage_arn: str, rule: Rule) -> str:
    """The execute-api resource pattern of a rule in an API stage (`arn:...:api-id/stage`)."""
    method = "*" if rule.method == "ANY" else rule.method
    path = "/".join("*" if segment.startswith("{") else segment for segment in rule.segments)
    return f"{stage_arn}/{method}/{path}"


def api_policy(arn: MethodArn | str, route_map: RouteMap, token: AccessToken) -> dict[str, Any]:
    """POLICY_MODE=api: one document for every route, depending only on the token and the map.

    Allow the resources of every rule the token meets; explicitly Deny the resources of every
    rule it does not meet that overlap an allowed one (IAM's `*` spans `/`, so `GET /a/*` would
    otherwise also open `GET /a/b/c`). With nothing allowed it denies the whole stage.

    The document is built once per (map version, stage, granted rules) and shared by every
    decision that needs it: callers must not modify it.
    """
    return _compile_api_policy(route_map, _as_arn(arn).stage_arn, route_map.granted(token))


# Keyed by (map, stage ARN, granted rule keys); RouteMap hashes and compares by its version, so
# a grant set is compiled once per map version.
@functools.lru_cache(maxsize=512)
def _compile_api_policy(
    route_map: RouteMap, stage_arn: str, granted: frozenset[str]
) -> dict[str, Any]:
    allowed = sorted({stage_resource(stage_arn, r) for r in route_map.rules if r.key in granted})
    if not allowed:
        return _document({"Action": ACTION, "Effect": "Deny", "Resource": [f"{stage_arn}/*/*"]})
    refused = {stage_resource(stage_arn, r) for r in route_map.rules if r.key not in granted}
    denied = sorted(
        pattern for pattern in refused if any(patterns_overlap(pattern, allow) for allow in allowed)
    )
    statements = [{"Action": ACTION, "Effect": "Allow", "Resource": allowed}]
    if denied:
        statements.append({"Action": ACTION, "Effect": "Deny", "Resource": denied})
    return _document(*statements)


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def clear_policy_cache() -> None:
    """Forget every compiled api-mode policy (for tests)."""
    _compile_api_policy.cache_clear()


def patterns_overlap(first: str, second: str) -> bool:
    """True if some string matches both IAM wildcard patterns (`*` any run, `?` one character)."""
    # Breadth over the product of the two patterns' positions: a state (i, j) is reachable when
    # some string brings `first` to i and `second` to j; accept at both ends.
    end = (len(first), len(second))
    pending = [(0, 0)]
    seen = {(0, 0)}
    while pending:
        i, j = pending.pop()
        if (i, j) == end:
            return True
        a = first[i] if i < end[0] else None
        b = second[j] if j < end[1] else None
        steps: list[tuple[int, int]] = []
        if a == "*":
            steps.append((i + 1, j))  # the star matches nothing more
        if b == "*":
            steps.append((i, j + 1))
        if a is not None and b is not None:
            if a == "*" and b != "*":
                steps.append((i, j + 1))  # the star absorbs the character `b` stands for
            elif b == "*" and a != "*":
                steps.append((i + 1, j))
            elif "?" in (a, b) or a == b:
                steps.append((i + 1, j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                pending.append(step)
    return False


def route_policy(arn: MethodArn | str, allowed: bool) -> dict[str, Any]:
    """POLICY_MODE=route: a document naming exactly the requested resource, Allow or Deny."""
    parsed = _as_arn(arn)
    # A concrete path holding `*` or `?` cannot be named exactly (IAM reads them as wildcards),
    # so an Allow would open more than the request: compile it as a Deny instead.
    exact = not _WILDCARDS.intersection(parsed.arn)
    effect = "Allow" if allowed and exact else "Deny"
    return _document({"Action": ACTION, "Effect": effect, "Resource": [parsed.arn]})


def build_context(token: AccessToken, extra_claims: tuple[str, ...]) -> dict[str, ContextValue]:
    """The authorizer context: scalars only, each at most 1 KiB; absent claims are omitted.

    Standard keys: sub, cid, uid, scope (space-joined; "" with no scopes), iss, jti, exp. Each
    extra claim is copied under its own name unless it would replace a standard key: strings,
    integers and booleans as they are, a list of strings/numbers comma-joined, anything else
    (objects, mixed lists, floats) as compact JSON; null and NaN are omitted. A value over
    1 KiB is dropped, not truncated, so no consumer ever acts on a partial value (a cut group
    list or identifier could mean something else).
    """
    # Built per new token, so the standard keys skip the generic _put: their types are known
    # (tokens.py checked them), only presence and size need checking, and for a typical token
    # (a few dozen characters each) one sum of lengths settles every size at once.
    sub, cid, uid, iss, jti = token.sub, token.cid, token.uid, token.issuer, token.jti
    scope = " ".join(token.scopes)
    context: dict[str, ContextValue]
    if (
        cid is not None
        and uid is not None
        and jti is not None
        and len(sub) + len(cid) + len(uid) + len(scope) + len(iss) + len(jti) <= _ALWAYS_FITS
    ):
        context = {"sub": sub, "cid": cid, "uid": uid, "scope": scope, "iss": iss, "jti": jti}
    else:
        standard = {"sub": sub, "cid": cid, "uid": uid, "scope": scope, "iss": iss, "jti": jti}
        context = {
            name: text for name, text in standard.items() if text is not None and _fits(text)
        }
    context["exp"] = token.exp  # an int below 2**53: 16 digits at most
    for name in extra_claims:
        if name not in _STANDARD_KEYS and name in token.claims:
            _put(context, name, token.claims[name])
    return context


_STANDARD_KEYS = frozenset({"sub", "cid", "uid", "scope", "iss", "jti", "exp"})
# UTF-8 spends at most 4 bytes per character: a string this short always fits.
_ALWAYS_FITS = MAX_CONTEXT_VALUE_BYTES // 4


def _fits(text: str) -> bool:
    return len(text) <= _ALWAYS_FITS or len(text.encode("utf-8")) <= MAX_CONTEXT_VALUE_BYTES


def _put(context: dict[str, ContextValue], name: str, value: Any) -> None:
    scalar = _scalar(value)
    if scalar is None:
        return
    size = len(scalar.encode("utf-8")) if isinstance(scalar, str) else len(str(scalar))
    if size <= MAX_CONTEXT_VALUE_BYTES:
        context[name] = scalar


def _scalar(value: Any) -> ContextValue | None:
    if value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, list) and all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        return ",".join(str(item) for item in value)
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None


def iam_response(
    principal_id: str, document: dict[str, Any], context: dict[str, ContextValue]
) -> dict[str, Any]:
    """The IAM-format authorizer result (REST APIs, HTTP APIs with payload 1.0 or 2.0)."""
    # Written here rather than with Powertools' APIGatewayAuthorizerResponse: its from_route_arn
    # drops the partition (aws-cn, aws-us-gov), its path check rejects legal characters such as
    # ':', and it rebuilds every statement per call where api mode reuses a cached compilation.
    response: dict[str, Any] = {"principalId": principal_id, "policyDocument": document}
    if context:
        response["context"] = context
    return response


def simple_response(allowed: bool, context: dict[str, ContextValue]) -> dict[str, Any]:
    """The HTTP API payload 2.0 simple response (`isAuthorized`, `context`)."""
    # Same shape as Powertools' APIGatewayAuthorizerResponseV2.asdict() (a test holds them
    # equal); importing it loads the whole data_classes package, ~25 ms of cold start.
    response: dict[str, Any] = {"isAuthorized": allowed}
    if context:
        response["context"] = context
    return response
