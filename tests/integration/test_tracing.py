"""Tracing is opt-in (off, no X-Ray import: test_cold_start.py); on, the handler still decides."""

from __future__ import annotations

from okta_authorizer import iam
from okta_authorizer.localdev.events import load_event
from tests.integration.conftest import Harness

ROUTES = {"GET /beds": {"scopes": ["beds:read"]}}


def test_tracing_on_handler_still_decides(harness: Harness) -> None:
    # GIVEN tracing switched on (no X-Ray daemon here: the SDK must not break the decision)
    harness.put_routes(ROUTES)
    harness.configure(POWERTOOLS_TRACE_DISABLED="false", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    event = load_event("token.json", harness.token(scp=["beds:read"]))

    # WHEN / THEN the request is allowed as without tracing
    result = harness.invoke(event)
    assert iam.evaluate(result["policyDocument"], event["methodArn"]) == "Allow"
