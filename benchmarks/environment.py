"""The loopback world the harness measures in: issuer on 127.0.0.1, moto SSM, the variables."""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from okta_authorizer.localdev.events import load_event
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.ssm import local_ssm, put_parameter

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
AUDIENCE = "api://beds"
ROUTES_PATH = "/okta-authorizer/bench/routes"
#: Variables that would change what is measured (metrics off, dev mode, a debug level, tracing).
CLEARED = (
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_DEV",
    "POWERTOOLS_DEBUG",
    "POWERTOOLS_TRACE_DISABLED",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "OKTA_JWKS_URI",
    "ALLOWED_CLIENT_IDS",
    "POLICY_MODE",
    "SIMPLE_RESPONSES",
    "CONTEXT_CLAIMS",
)


@dataclass(frozen=True)
class Loopback:
    """Where the loopback servers listen."""

    issuer: LocalIssuer
    ssm_endpoint: str
    routes_path: str


def configure(environ: MutableMapping[str, str], issuer: str, routes_path: str) -> None:
    """Set the authorizer's variables as the SAM template does in production (tracing off)."""
    for name in CLEARED:
        environ.pop(name, None)
    environ.update(
        {
            "OKTA_ISSUER": issuer,
            "OKTA_AUDIENCE": AUDIENCE,
            "ROUTES_PARAMETER_PATH": routes_path,
            "POWERTOOLS_SERVICE_NAME": "okta-authorizer-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "OktaAuthorizerBench",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
    )


def child_environment(environ: MutableMapping[str, str]) -> dict[str, str]:
    """The environment for a child interpreter: ours, with src/ and the repo root importable."""
    env = dict(environ)
    paths = [str(SRC), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    # Lambda ships compiled modules (the layer build runs compileall): measure with .pyc too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@contextmanager
def loopback(environ: MutableMapping[str, str]) -> Iterator[Loopback]:
    """Start the issuer and moto SSM on 127.0.0.1, store the sample route map, set the variables."""
    from okta_authorizer.localdev.sample import load_sample_route_map

    with ExitStack() as stack:
        saved = dict(environ)
        stack.callback(_restore, environ, saved)
        issuer = stack.enter_context(LocalIssuer())
        endpoint = stack.enter_context(local_ssm(environ))
        name, document = load_sample_route_map()
        put_parameter(endpoint, f"{ROUTES_PATH}/{name}", document)
        configure(environ, issuer.issuer, ROUTES_PATH)
        yield Loopback(issuer, endpoint, ROUTES_PATH)


def _restore(environ: MutableMapping[str, str], saved: dict[str, str]) -> None:
    environ.clear()
    environ.update(saved)


def token_event(token: str) -> dict[str, Any]:
    """The sample REST TOKEN event (events/token.json) carrying `token`."""
    return load_event("token.json", token)


def reset_caches() -> None:
    """Forget settings, key sets, route store and authorizer (the next call fetches again)."""
    from okta_authorizer import service, settings

    settings.get_settings.cache_clear()
    service.reset()
