"""Tracing is opt-in: off, the X-Ray SDK is never imported; on, the handler still decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from okta_authorizer import iam
from okta_authorizer.localdev.events import load_event
from tests.integration.conftest import Harness

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {"GET /beds": {"scopes": ["beds:read"]}}


def test_tracing_off_handler_never_imports_xray_sdk(harness: Harness) -> None:
    # GIVEN a fresh interpreter configured like production with tracing off (the default)
    harness.put_routes(ROUTES)
    script = textwrap.dedent(
        """
        import json, sys
        from okta_authorizer.app import lambda_handler
        from okta_authorizer.localdev.lambda_context import FakeLambdaContext
        event = json.loads(sys.stdin.read())
        result = lambda_handler(event, FakeLambdaContext())
        loaded = sorted(m for m in sys.modules if m.startswith(("aws_xray_sdk", "wrapt")))
        print(json.dumps({"loaded": loaded, "effect": result["policyDocument"]}))
        """
    )
    event = load_event("token.json", harness.token(scp=["beds:read"]))
    env = {key: value for key, value in os.environ.items() if key != "POWERTOOLS_TRACE_DISABLED"}
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"

    # WHEN the handler makes a decision there
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # THEN it decided, and no X-Ray module was ever imported
    assert iam.evaluate(report["effect"], event["methodArn"]) == "Allow"
    assert report["loaded"] == []


def test_tracing_on_handler_still_decides(harness: Harness) -> None:
    # GIVEN tracing switched on (no X-Ray daemon here: the SDK must not break the decision)
    harness.put_routes(ROUTES)
    harness.configure(POWERTOOLS_TRACE_DISABLED="false", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    event = load_event("token.json", harness.token(scp=["beds:read"]))

    # WHEN / THEN the request is allowed as without tracing
    result = harness.invoke(event)
    assert iam.evaluate(result["policyDocument"], event["methodArn"]) == "Allow"
