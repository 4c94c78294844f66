"""Configuration: one frozen dataclass built once from the environment."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from okta_authorizer.errors import ConfigurationError
from okta_authorizer.urls import check_url

PolicyMode = Literal["api", "route"]

#: Algorithms the authorizer ever accepts; Okta signs access tokens with RS256.
DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256",)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration of the authorizer."""

    issuers: tuple[str, ...]
    audiences: tuple[str, ...]
    routes_parameter_path: str = "/okta-authorizer/routes"
    jwks_uri: str | None = None
    allowed_client_ids: frozenset[str] | None = None
    jwks_cache_seconds: int = 3600
    clock_skew_seconds: int = 60
    routes_cache_seconds: int = 300
    policy_mode: PolicyMode = "api"
    context_claims: tuple[str, ...] = ()
    simple_responses: bool = False
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    tracing: bool = False
    upstream_deadline_ms: int = 1500

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the configuration; raise ConfigurationError naming the variable."""
        env = os.environ if environ is None else environ
        issuers = _issuers(env)
        jwks_uri = _optional(env, "OKTA_JWKS_URI")
        if jwks_uri is not None:
            _require_url("OKTA_JWKS_URI", jwks_uri)
            if len(issuers) != 1:
                raise ConfigurationError("OKTA_JWKS_URI", "can only be used with a single issuer")
        clients = _csv(env, "ALLOWED_CLIENT_IDS")
        mode = env.get("POLICY_MODE", "api").strip().lower() or "api"
        if mode not in ("api", "route"):
            raise ConfigurationError("POLICY_MODE", f"must be 'api' or 'route', not {mode!r}")
        path = _required(env, "ROUTES_PARAMETER_PATH")
        if not path.startswith("/") or (path.endswith("/") and path != "/"):
            raise ConfigurationError(
                "ROUTES_PARAMETER_PATH", "must be an SSM path such as /okta-authorizer/dev/routes"
            )
        audiences = _csv(env, "OKTA_AUDIENCE")
        if not audiences:
            raise ConfigurationError("OKTA_AUDIENCE", "is required")
        return cls(
            issuers=issuers,
            audiences=audiences,
            routes_parameter_path=path,
            jwks_uri=jwks_uri,
            allowed_client_ids=frozenset(clients) if clients else None,
            jwks_cache_seconds=_int(env, "JWKS_CACHE_SECONDS", 3600, 60, 86400),
            clock_skew_seconds=_int(env, "CLOCK_SKEW_SECONDS", 60, 0, 300),
            routes_cache_seconds=_int(env, "ROUTES_CACHE_SECONDS", 300, 0, 86400),
            policy_mode="route" if mode == "route" else "api",
            context_claims=_csv(env, "CONTEXT_CLAIMS"),
            simple_responses=_bool(env, "SIMPLE_RESPONSES", default=False),
            # Tracing is opt-in: the X-Ray SDK import alone costs ~250 ms of cold start.
            tracing=not _bool(env, "POWERTOOLS_TRACE_DISABLED", default=True),
            # Total time of one outside call; API Gateway's own JWKS fetches use the same 1.5 s.
            upstream_deadline_ms=_int(env, "UPSTREAM_DEADLINE_MS", 1500, 100, 30000),
        )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (reset with `get_settings.cache_clear`)."""
    return Settings.from_env()


def token_check_settings(overrides: Mapping[str, str]) -> Settings:
    """The function's token-check settings (OKTA_ISSUER, OKTA_AUDIENCE, ALLOWED_CLIENT_IDS, ...)
    from this environment, with `overrides` (variable -> value) winning: for operator tools."""
    env = {**os.environ, **overrides}
    # Operator tools check tokens only: the route map's path is not theirs to need.
    env.setdefault("ROUTES_PARAMETER_PATH", "/okta-authorizer/routes")
    return Settings.from_env(env)


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ConfigurationError(name, "is required")
    return value


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    items = [item.strip() for item in env.get(name, "").split(",")]
    if any(not item for item in items) and any(items):
        raise ConfigurationError(name, "has an empty entry in its comma-separated list")
    return tuple(dict.fromkeys(item for item in items if item))


def _require_url(name: str, url: str) -> None:
    problem = check_url(url)
    if problem is not None:
        raise ConfigurationError(name, f"{url!r} {problem}")


def _issuers(env: Mapping[str, str]) -> tuple[str, ...]:
    issuers = _csv(env, "OKTA_ISSUER")
    if not issuers:
        raise ConfigurationError("OKTA_ISSUER", "is required")
    for issuer in issuers:
        _require_url("OKTA_ISSUER", issuer)
        if issuer.endswith("/"):
            raise ConfigurationError(
                "OKTA_ISSUER", f"{issuer!r} must not end with '/' (it must equal the token's iss)"
            )
        if "?" in issuer or "#" in issuer:
            raise ConfigurationError("OKTA_ISSUER", f"{issuer!r} must not have a query")
        if "/oauth2/" not in issuer:
            # Okta's org authorization server signs tokens meant for Okta itself; its keys are not
            # for third-party validation, so only custom authorization servers are accepted.
            raise ConfigurationError(
                "OKTA_ISSUER",
                f"{issuer!r} is not an Okta custom authorization server "
                "(expected https://<org>.okta.com/oauth2/<server-id>)",
            )
    return issuers


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigurationError(name, f"must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(name, f"must be between {low} and {high}, not {value}")
    return value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(name, f"must be true or false, not {raw!r}")
