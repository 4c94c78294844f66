"""Integration fixtures: the real handler against a loopback issuer and SSM in moto's server."""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from okta_authorizer import service, settings
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import okta_claims
from okta_authorizer.localdev.lambda_context import FakeLambdaContext
from okta_authorizer.localdev.ssm import LOCAL_AWS_ENV, local_ssm, put_parameter

AUDIENCE = "api://beds"
_paths = itertools.count()


@pytest.fixture(scope="session")
def ssm_endpoint() -> Iterator[str]:
    """One moto SSM server on 127.0.0.1 for the session; each test uses its own parameter path."""
    environ: dict[str, str] = {}
    with local_ssm(environ) as endpoint:
        yield endpoint


@dataclass
class Harness:
    """The handler wired to a loopback issuer and moto SSM, with helpers to drive it."""

    issuer: LocalIssuer
    endpoint: str
    routes_path: str
    monkeypatch: pytest.MonkeyPatch
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def put_routes(
        self, routes: dict[str, Any], name: str = "api", *, secure: bool = False
    ) -> None:
        """Store one route-map document under the test's path."""
        put_parameter(
            self.endpoint,
            f"{self.routes_path}/{name}",
            json.dumps({"routes": routes}),
            secure=secure,
        )

    def put_raw(self, name: str, value: str) -> None:
        """Store any text (for invalid documents)."""
        put_parameter(self.endpoint, f"{self.routes_path}/{name}", value)

    def configure(self, **env: str) -> None:
        """Set more of the authorizer's variables and rebuild it on the next call."""
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        reset_caches()

    def token(self, **claims: Any) -> str:
        """A valid Okta-shaped token from the loopback issuer, with claim overrides."""
        base = okta_claims(self.issuer.issuer, AUDIENCE)
        base.update(claims)
        return self.issuer.key.token(base)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the real handler in-process."""
        from okta_authorizer.app import lambda_handler

        return lambda_handler(event, FakeLambdaContext())


def reset_caches() -> None:
    """Forget settings, key sets, route store and authorizer."""
    settings.get_settings.cache_clear()
    service.reset()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Everything the handler logs during the test (Powertools' handler pointed at a buffer)."""
    from okta_authorizer.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(original)


@pytest.fixture
def harness(
    local_issuer: LocalIssuer, ssm_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """A configured handler; the route map starts empty (each test stores its own)."""
    routes_path = f"/okta-authorizer/test{next(_paths)}/routes"
    for key, value in LOCAL_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    env = {
        "AWS_ENDPOINT_URL_SSM": ssm_endpoint,
        "AWS_MAX_ATTEMPTS": "1",
        "OKTA_ISSUER": local_issuer.issuer,
        "OKTA_AUDIENCE": AUDIENCE,
        "ROUTES_PARAMETER_PATH": routes_path,
        "POWERTOOLS_SERVICE_NAME": "okta-authorizer-test",
        "POWERTOOLS_METRICS_NAMESPACE": "OktaAuthorizerTest",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    yield Harness(local_issuer, ssm_endpoint, routes_path, monkeypatch)
    reset_caches()
