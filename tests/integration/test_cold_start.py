"""A fresh interpreter's first decision: what it imports; the collector paused until it answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from okta_authorizer import iam
from okta_authorizer.localdev.events import load_event
from tests.integration.conftest import Harness

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {"GET /beds": {"scopes": ["beds:read"]}}

# Runs in the child: import the handler the way the Lambda runtime does, decide once, report.
COLD_START = textwrap.dedent(
    """
    import gc, json, sys
    from okta_authorizer.app import lambda_handler
    from okta_authorizer.localdev.lambda_context import FakeLambdaContext
    paused_after_import = not gc.isenabled()
    event = json.loads(sys.stdin.read())
    try:
        outcome = lambda_handler(event, FakeLambdaContext())["policyDocument"]
    except Exception as error:
        outcome = type(error).__name__
    print(json.dumps({
        "outcome": outcome,
        "paused_after_import": paused_after_import,
        "enabled_after_answer": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "modules": sorted(sys.modules),
    }))
    """
)


def run_cold_start(event: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Import the handler in a fresh interpreter, make one decision, return its report."""
    env = env | {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", COLD_START],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture
def allowed_cold_start(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report of a cold start that allows a request, and the event it decided."""
    harness.put_routes(ROUTES)
    event = load_event("token.json", harness.token(scp=["beds:read"]))
    # The defaults, whatever the developer's shell says: tracing off, metrics on, no dev mode.
    chosen = ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED")
    env = {name: value for name, value in os.environ.items() if name not in chosen}
    return run_cold_start(event, env), event


def test_cold_start_first_decision_allows(
    allowed_cold_start: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    report, event = allowed_cold_start
    assert iam.evaluate(report["outcome"], event["methodArn"]) == "Allow"


@pytest.mark.parametrize(
    "package",
    ["jose", "aws_xray_sdk", "wrapt", "aws_lambda_powertools.utilities.data_classes"],
    ids=["no-python-jose", "no-xray-sdk", "no-wrapt", "no-event-data-classes"],
)
def test_cold_start_imports_only_what_the_configuration_uses(
    allowed_cold_start: tuple[dict[str, Any], dict[str, Any]], package: str
) -> None:
    # GIVEN the production configuration with tracing off
    report, _ = allowed_cold_start
    # THEN the package was never imported
    loaded = [m for m in report["modules"] if m == package or m.startswith(f"{package}.")]
    assert loaded == []


def test_cold_start_fetches_the_key_set_through_requests(
    allowed_cold_start: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # GIVEN a cold start that fetched the key set THEN requests carried it
    report, _ = allowed_cold_start
    assert "requests" in report["modules"]


def test_cold_start_collector_paused_until_first_answer_then_frozen_and_resumed(
    allowed_cold_start: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    report, _ = allowed_cold_start
    # THEN importing the handler paused the cyclic collector
    assert report["paused_after_import"] is True
    # AND once the first decision was out, what lived was frozen and collection resumed
    assert report["enabled_after_answer"] is True
    assert report["frozen"] > 10_000


def test_cold_start_first_answer_an_outage_still_resumes_collector(tmp_path: Path) -> None:
    # GIVEN a process with no configuration at all: the first invocation must answer 500
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    event = load_event("token.json", "not-a-token")

    # WHEN it makes its first decision
    report = run_cold_start(event, env)

    # THEN it failed as an outage, and the collector is running again all the same
    assert report["outcome"] == "AuthorizerUnavailableError"
    assert report["paused_after_import"] is True
    assert report["enabled_after_answer"] is True
