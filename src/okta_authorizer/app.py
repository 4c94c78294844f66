"""Lambda entry point: API Gateway event in, IAM policy (or simple response) out.

The one place where outcomes become API Gateway's answers: an invalid token raises
`Exception("Unauthorized")` (401), a valid token that does not open the route gets a Deny policy
(403), and an outage or misconfiguration raises anything else (500, so clients retry and API
Gateway does not cache a denial).
"""

from __future__ import annotations

import gc

# Cold start: importing this module and making the first decision allocate some 300,000 objects
# that live as long as the process (boto3's service model, Powertools, cryptography), and the
# cyclic collector, triggered by allocation counts, walks them over and over: ~55 ms of a ~600 ms
# cold start (benchmarks/README.md). It is paused from here until the first invocation has
# answered; then what is alive is frozen (out of the collector's reach for good, as the gc.freeze
# documentation suggests for long-lived state) and collection resumes for what warm calls allocate.
gc.disable()

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from okta_authorizer.errors import AuthorizerError, ConfigurationError, Reason, TokenError
from okta_authorizer.observability import get_decision_log, get_tracer, logger
from okta_authorizer.service import AuthorizationRequest, Decision, get_authorizer
from okta_authorizer.settings import Settings, get_settings
from okta_authorizer.snapstart import register_hooks
from okta_authorizer.upstream import invocation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# SnapStart (opt-in in the template): registering the runtime hooks does no I/O; they run only when
# Lambda snapshots or restores this function, and outside Lambda there is nothing to register with.
register_hooks()


class UnauthorizedError(Exception):
    """The exact exception API Gateway turns into 401; its message must be `Unauthorized`."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class AuthorizerUnavailableError(Exception):
    """Raised for outages and misconfiguration: API Gateway answers 500 and does not cache it."""


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Authorize one API Gateway request (REST TOKEN, REST REQUEST or HTTP API 2.0 event)."""
    if gc.isenabled():
        return _authorize(event, context)
    try:
        return _authorize(event, context)
    finally:
        resume_collector()


def resume_collector() -> None:
    """End the cold-start pause: freeze what is alive now and turn the cyclic collector back on."""
    gc.freeze()
    gc.enable()


def _authorize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    # Instead of @logger.inject_lambda_context (which rebuilds the formatter's keys every call,
    # ~18 us) and @metrics.log_metrics (its flush ~54 us): start() puts the request id on every
    # Powertools line, and the decision line carries the context keys and the metrics
    # (observability.py).
    get_decision_log().start(context)
    # Every outside call this invocation makes ends before Lambda's own deadline does.
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    invocation.start(remaining() if callable(remaining) else None)
    try:
        settings = get_settings()
        request = to_request(event, settings)
        if settings.tracing:
            with get_tracer().provider.in_subsegment("## authorize"):
                decision = get_authorizer(settings).authorize(request)
        else:
            decision = get_authorizer(settings).authorize(request)
    except TokenError as error:
        _log_rejection(error, started)
        raise UnauthorizedError from None
    except AuthorizerError as error:
        _log_failure(error.reason, error.detail, started)
        raise AuthorizerUnavailableError(error.reason.value) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence: never leak, always 500
        logger.exception("unexpected error", extra={"error": type(error).__name__})
        _log_failure(Reason.MISCONFIGURED, type(error).__name__, started)
        raise AuthorizerUnavailableError("internal error") from None
    _log_decision(decision, started)
    return dict(decision.response)


# The three event shapes are read as plain dicts. Powertools' event data classes did this before,
# but importing one of them imports the whole data_classes package (~25 ms of cold start on top
# of the handler's other imports); the few fields below follow the same rules (`headers`
# case-insensitive, a missing required field is an error).
def to_request(event: dict[str, Any], settings: Settings) -> AuthorizationRequest:
    """Read the token, ARN and route from any of the three authorizer event formats."""
    if not isinstance(event, dict):
        raise ConfigurationError("event", "is not an API Gateway authorizer event")
    try:
        if event.get("version") == "2.0":
            return _from_http_api(event, settings)
        if event.get("type") == "TOKEN":
            return _from_token(event)
        if event.get("type") == "REQUEST":
            return _from_request(event)
    except (KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError("event", f"lacks a required field ({error})") from None
    raise ConfigurationError("event", "is not an API Gateway authorizer event")


def _text(event: Mapping[str, Any], name: str) -> str:
    value = event[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _header(headers: Mapping[str, Any] | None, name: str) -> Any:
    """A header by case-insensitive name; the last spelling wins, as in Powertools' dict."""
    value = None
    if not headers:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            value = candidate
    return value


def _from_token(event: dict[str, Any]) -> AuthorizationRequest:
    # A TOKEN event names no route, only the concrete method ARN: the route is matched from it.
    arn = _text(event, "methodArn")
    return AuthorizationRequest("token", event.get("authorizationToken"), arn, "")


def _from_request(event: dict[str, Any]) -> AuthorizationRequest:
    return AuthorizationRequest(
        "request",
        _header(event["headers"], "Authorization"),
        _text(event, "methodArn"),
        method=_text(event, "httpMethod"),
        resource=_text(event, "resource"),
    )


def _from_http_api(event: dict[str, Any], settings: Settings) -> AuthorizationRequest:
    sources = event.get("identitySource") or []
    authorization = sources[0] if sources else _header(event["headers"], "Authorization")
    route_key = _text(event, "routeKey")
    method, _, resource = route_key.partition(" ")
    if not resource:  # `$default`: no named route, match the concrete request instead
        method, resource = _text(event["requestContext"]["http"], "method"), ""
    return AuthorizationRequest(
        "http",
        authorization,
        _text(event, "routeArn"),
        method=method,
        resource=resource or None,
        simple=settings.simple_responses,
    )


def _log_decision(decision: Decision, started: float) -> None:
    token = decision.token
    fields = {
        "decision": "allow" if decision.allowed else "deny",
        "reason": decision.reason.value if decision.reason else None,
        "route": decision.route,
        "sub": token.sub,
        "cid": token.cid,
        "jti": token.jti,
        "iss": token.issuer,
        "kid": token.kid,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    size = None if decision.policy_bytes is None else ("PolicyBytes", decision.policy_bytes)
    get_decision_log().write("INFO", fields, "Allowed" if decision.allowed else "Denied", size=size)


def _log_rejection(error: TokenError, started: float) -> None:
    fields = {
        "decision": "unauthorized",
        "reason": error.reason.value,
        "detail": error.detail,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    # The total, and per reason (a second dimension set of the same metric).
    get_decision_log().write("INFO", fields, "Rejected", by_reason=True)


def _log_failure(reason: Reason, detail: str, started: float) -> None:
    fields = {
        "decision": "error",
        "reason": reason.value,
        "detail": detail,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    get_decision_log().write("ERROR", fields, "Unavailable")
