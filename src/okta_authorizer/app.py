"""Lambda entry point: API Gateway event in, IAM policy (or simple response) out.

The one place where outcomes become API Gateway's answers: an invalid token raises
`Exception("Unauthorized")` (401), a valid token that does not open the route gets a Deny policy
(403), and an outage or misconfiguration raises anything else (500, so clients retry and API
Gateway does not cache a denial).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from okta_authorizer.errors import AuthorizerError, ConfigurationError, Reason, TokenError
from okta_authorizer.observability import count, count_rejection, get_tracer, logger, metrics
from okta_authorizer.service import AuthorizationRequest, Decision, get_authorizer
from okta_authorizer.settings import Settings, get_settings


class UnauthorizedError(Exception):
    """The exact exception API Gateway turns into 401; its message must be `Unauthorized`."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class AuthorizerUnavailableError(Exception):
    """Raised for outages and misconfiguration: API Gateway answers 500 and does not cache it."""


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    """Authorize one API Gateway request (REST TOKEN, REST REQUEST or HTTP API 2.0 event)."""
    started = time.perf_counter()
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


def to_request(event: dict[str, Any], settings: Settings) -> AuthorizationRequest:
    """Read the token, ARN and route from any of the three authorizer event formats."""
    if not isinstance(event, dict):
        raise ConfigurationError("event", "is not an API Gateway authorizer event")
    try:
        if event.get("version") == "2.0":
            return _from_http_api(APIGatewayAuthorizerEventV2(event), settings)
        if event.get("type") == "TOKEN":
            return _from_token(APIGatewayAuthorizerTokenEvent(event))
        if event.get("type") == "REQUEST":
            return _from_request(APIGatewayAuthorizerRequestEvent(event))
    except (KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError("event", f"lacks a required field ({error})") from None
    raise ConfigurationError("event", "is not an API Gateway authorizer event")


def _from_token(event: APIGatewayAuthorizerTokenEvent) -> AuthorizationRequest:
    # A TOKEN event names no route, only the concrete method ARN: the route is matched from it.
    arn = event.method_arn
    return AuthorizationRequest("token", event.get("authorizationToken"), arn, method="")


def _from_request(event: APIGatewayAuthorizerRequestEvent) -> AuthorizationRequest:
    headers = event.headers  # case-insensitive in Powertools v3
    return AuthorizationRequest(
        "request",
        headers.get("Authorization"),
        event.method_arn,
        method=event.http_method,
        resource=event.resource,
    )


def _from_http_api(event: APIGatewayAuthorizerEventV2, settings: Settings) -> AuthorizationRequest:
    sources = event.identity_source
    authorization = sources[0] if sources else event.headers.get("Authorization")
    route_key = event.route_key
    method, _, resource = route_key.partition(" ")
    if not resource:  # `$default`: no named route, match the concrete request instead
        method, resource = event.request_context.http.method, ""
    return AuthorizationRequest(
        "http",
        authorization,
        event.route_arn,
        method=method,
        resource=resource or None,
        simple=settings.simple_responses,
    )


def _log_decision(decision: Decision, started: float) -> None:
    token = decision.token
    count("Allowed" if decision.allowed else "Denied")
    logger.info(
        "decision",
        extra={
            "decision": "allow" if decision.allowed else "deny",
            "reason": decision.reason.value if decision.reason else None,
            "route": decision.route,
            "sub": token.sub,
            "cid": token.cid,
            "jti": token.jti,
            "iss": token.issuer,
            "kid": token.kid,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )


def _log_rejection(error: TokenError, started: float) -> None:
    count("Rejected")  # the total, with the invocation's other metrics
    count_rejection(error.reason.value)  # and by reason, in a blob of its own
    logger.info(
        "decision",
        extra={
            "decision": "unauthorized",
            "reason": error.reason.value,
            "detail": error.detail,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )


def _log_failure(reason: Reason, detail: str, started: float) -> None:
    count("Unavailable")
    logger.error(
        "decision",
        extra={
            "decision": "error",
            "reason": reason.value,
            "detail": detail,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
