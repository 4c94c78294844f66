"""The built x86_64 function under the Lambda Runtime Interface Emulator (python3.13, awslambdaric).

Okta is a loopback issuer, SSM is moto on loopback holding the sample route map from template.yaml,
and the events are the ones in events/ with freshly minted tokens. The emulator's INIT and REPORT
lines and the runtime's peak RSS are written to the terminal at the end of the module.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripts.invoke_local import AUDIENCE, Emulator, Invocation, running_authorizer

from okta_authorizer import iam
from okta_authorizer.localdev.events import load_event
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import SigningKey, okta_claims

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO / ".aws-sam" / "emulator"
EMU_PYTHON = REPO / ".venv-emu" / "bin" / "python"
# event file -> (the route it asks for, scopes that open it, scopes that do not)
CASES = {
    "token": ("GET /beds", ("beds:read",), ("beds:write",)),
    "request": ("GET /beds/{bedId}", ("beds:admin",), ("beds:write",)),
    "http-api-v2": ("POST /beds/{bedId}/reservations", ("beds:write",), ("beds:read",)),
}
IDS = sorted(CASES)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines for the terminal: the emulator's INIT/REPORT figures and the peak RSS."""
    lines: list[str] = []
    yield lines
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not lines:
        return
    # Teardown output is captured like a test's: write past the capture, as `-s` would.
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.section("Lambda emulator (x86_64 build, python3.13)", sep="-")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def emulator(rsa_key: SigningKey, figures: list[str]) -> Iterator[tuple[Emulator, LocalIssuer]]:
    """One emulator (one cold start) for the module, built and set up by make when needed."""
    subprocess.run(
        ["make", "--no-print-directory", "-f", "mk/sam.mk", "build-emulator", "emulator-setup"],
        cwd=REPO,
        check=True,
        stdout=sys.stderr,
        timeout=540,
    )
    with (
        LocalIssuer(keys=[rsa_key]) as issuer,
        running_authorizer(BUILD_DIR, EMU_PYTHON, issuer.issuer) as rie,
    ):
        yield rie, issuer
        init = next((line for line in rie.lines if "INIT REPORT" in line), "no INIT REPORT line")
        figures.insert(0, f"cold start (init phase): {init.split('(rapid) ', 1)[-1]}")
        # The emulator reports Max Memory Used as the configured size: VmHWM is the measurement.
        peak = rie.peak_rss_kib()
        figures.append(f"peak RSS of the runtime process (VmHWM): {(peak or 0) / 1024:.1f} MiB")


def _event(name: str, token: str | None = None) -> dict[str, Any]:
    return load_event(f"{name}.json", token)


def _arn(event: dict[str, Any]) -> str:
    return str(event.get("methodArn") or event["routeArn"])


def _invoke(
    emulator: tuple[Emulator, LocalIssuer],
    figures: list[str],
    name: str,
    token: str,
    caller: str,
) -> Invocation:
    rie, _ = emulator
    invocation = rie.invoke(_event(name, token))
    report = (invocation.report_line or "no REPORT line").replace("\t", "  ").strip()
    figures.append(f"{name:<12} {caller:<10} {report}")
    # Never a token (nor its signature) in what the function logs.
    log = "\n".join(invocation.log)
    assert token not in log
    assert token.rsplit(".", 1)[-1] not in log
    return invocation


def test_events_ask_for_the_routes_the_cases_assume() -> None:
    assert _arn(_event("token")).endswith("/dev/GET/beds")
    assert _event("request")["resource"] == "/beds/{bedId}"
    assert _event("http-api-v2")["routeKey"] == "POST /beds/{bedId}/reservations"


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_emulator_caller_with_the_scope_gets_allow_policy(
    emulator: tuple[Emulator, LocalIssuer], figures: list[str], rsa_key: SigningKey, name: str
) -> None:
    # GIVEN a token with a scope that opens the event's route
    _, issuer = emulator
    _, scopes, _ = CASES[name]
    claims = okta_claims(issuer.issuer, AUDIENCE, scopes=scopes)
    # WHEN the built function answers the event under the emulator
    result = _invoke(emulator, figures, name, rsa_key.token(claims), "allowed").payload
    # THEN the policy allows exactly this request's ARN, for the token's subject
    assert result["principalId"] == claims["sub"]
    assert iam.evaluate(result["policyDocument"], _arn(_event(name))) == "Allow"
    assert result["context"]["sub"] == claims["sub"]
    assert result["context"]["cid"] == claims["cid"]
    assert result["context"]["scope"] == " ".join(scopes)
    assert all(isinstance(v, str | int | float | bool) for v in result["context"].values())


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_emulator_caller_without_the_scope_gets_deny_policy(
    emulator: tuple[Emulator, LocalIssuer], figures: list[str], rsa_key: SigningKey, name: str
) -> None:
    # GIVEN a valid token whose scopes open other routes only
    _, issuer = emulator
    _, _, scopes = CASES[name]
    claims = okta_claims(issuer.issuer, AUDIENCE, scopes=scopes)
    # WHEN
    result = _invoke(emulator, figures, name, rsa_key.token(claims), "no-scope").payload
    # THEN a policy (403), not an error (401): valid caller, route not allowed
    assert result["principalId"] == claims["sub"]
    assert iam.evaluate(result["policyDocument"], _arn(_event(name))) != "Allow"


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_emulator_forged_token_raises_unauthorized(
    emulator: tuple[Emulator, LocalIssuer], figures: list[str], name: str
) -> None:
    # GIVEN a token with the issuer's kid and claims but signed by another key
    _, issuer = emulator
    forger = SigningKey(kid=issuer.key.kid)
    claims = okta_claims(issuer.issuer, AUDIENCE, scopes=CASES[name][1])
    # WHEN
    invocation = _invoke(emulator, figures, name, forger.token(claims), "forged")
    # THEN the function fails with exactly "Unauthorized": API Gateway answers 401
    assert invocation.error_message == "Unauthorized"


def test_emulator_malformed_token_raises_unauthorized(
    emulator: tuple[Emulator, LocalIssuer], figures: list[str]
) -> None:
    invocation = _invoke(emulator, figures, "token", "not-a-jwt", "malformed")
    assert invocation.error_message == "Unauthorized"
