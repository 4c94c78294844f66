"""The exception tree: every failure carries one fixed reason code."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Fixed reason codes that appear in decision logs, metrics and `explain` output."""

    MISSING_TOKEN = "missing_token"
    MALFORMED_TOKEN = "malformed_token"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    CLIENT_NOT_ALLOWED = "client_not_allowed"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    UNMAPPED_ROUTE = "unmapped_route"
    KEYS_UNAVAILABLE = "keys_unavailable"
    ROUTES_UNAVAILABLE = "routes_unavailable"
    MISCONFIGURED = "misconfigured"


class AuthorizerError(Exception):
    """Base of every error the authorizer raises on purpose; `reason` is the fixed code."""

    reason: Reason = Reason.MISCONFIGURED

    def __init__(self, detail: str, *, reason: Reason | None = None) -> None:
        super().__init__(detail)
        if reason is not None:
            self.reason = reason
        self.detail = detail


class TokenError(AuthorizerError):
    """The bearer token is missing or invalid: API Gateway answers 401."""

    reason = Reason.MALFORMED_TOKEN


class AccessDeniedError(AuthorizerError):
    """The token is valid but does not open the route: a Deny policy (403)."""

    reason = Reason.INSUFFICIENT_SCOPE


class OutageError(AuthorizerError):
    """A dependency (Okta keys, SSM route map) is unavailable: 500 so clients retry."""

    reason = Reason.KEYS_UNAVAILABLE


class KeysUnavailableError(OutageError):
    """No usable key set for the issuer (never fetched, or stale beyond the grace period)."""

    reason = Reason.KEYS_UNAVAILABLE


class RoutesUnavailableError(OutageError):
    """No valid route map could be loaded."""

    reason = Reason.ROUTES_UNAVAILABLE


class RouteMapError(RoutesUnavailableError):
    """A route-map document is invalid; the whole map is rejected."""


class ConfigurationError(AuthorizerError):
    """The function's configuration is invalid; the message names the variable."""

    reason = Reason.MISCONFIGURED

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
