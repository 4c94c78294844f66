"""samconfig.toml as `sam deploy` reads it: SAM CLI's own reader and parser, SAM's translator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SAM_PYTHON = REPO / ".venv-sam" / "bin" / "python"
SCRIPT = REPO / "scripts" / "samconfig_params.py"
PROFILES = sorted(
    name
    for name, table in tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8")).items()
    if isinstance(table, dict)
)
ENVS = ["dev" if name == "default" else name for name in PROFILES]
REAL_ISSUER = "OktaIssuer=https://acme.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9"


@pytest.fixture(scope="module", autouse=True)
def sam_cli() -> None:
    """The pinned aws-sam-cli virtualenv, made by make when missing (never skipped)."""
    subprocess.run(
        ["make", "--no-print-directory", "-f", "mk/sam.mk", "sam-setup"],
        cwd=REPO,
        check=True,
        stdout=sys.stderr,
        timeout=540,
    )


def run(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = [] if config is None else ["--config", str(config)]
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(REPO / ".venv-sam" / "app-dir"),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    return subprocess.run(
        [str(SAM_PYTHON), str(SCRIPT), *args, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def check(env: str, *overrides: str) -> dict[str, Any]:
    done = run("check", env, *overrides)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_samconfig_has_the_documented_profiles() -> None:
    assert PROFILES == ["default", "prod"]


@pytest.mark.parametrize("env", ENVS)
def test_samconfig_profile_parses_with_sam_cli_and_translates(env: str) -> None:
    # WHEN SAM CLI's deploy command reads the profile and SAM translates the template with it
    report = check(env)

    # THEN every value parses (the empty client list included), the stack and path are the
    # profile's own, and the only thing refused is the placeholder issuer
    parameters = report["parameters"]
    assert parameters["AllowedClientIds"] == ""
    assert report["stack_name"] == f"okta-authorizer-{env}"
    assert parameters["RoutesParameterPath"] == f"/okta-authorizer/{env}/routes"
    assert parameters["StageName"] == env
    [problem] = report["problems"]
    assert problem.startswith("OktaIssuer=https://your-org.okta.com/")
    assert "AWS::Lambda::LayerVersion" in {r["Type"] for r in report["resources"].values()}


@pytest.mark.parametrize("env", ENVS)
def test_samconfig_profile_with_a_real_issuer_has_no_problem(env: str) -> None:
    report = check(env, REAL_ISSUER)

    assert report["problems"] == []
    # AND an override changes that one parameter only: the profile's others stay
    assert report["parameters"]["RoutesParameterPath"] == f"/okta-authorizer/{env}/routes"


@pytest.mark.parametrize("env", ENVS)
def test_samconfig_deploy_refuses_the_placeholder_issuer_before_any_aws_call(env: str) -> None:
    done = run("deploy", env, "--dry-run")

    assert done.returncode == 1
    assert "your-org" in done.stderr
    assert "placeholder" in done.stderr


def test_samconfig_deploy_override_passes_the_whole_merged_list() -> None:
    # WHEN prod is deployed with one parameter overridden on the command line
    done = run("deploy", "prod", REAL_ISSUER, "--dry-run")

    # THEN sam deploy gets prod's whole list (a bare --parameter-overrides would replace it)
    assert done.returncode == 0, done.stderr
    command = done.stdout.split()
    assert command[1:4] == ["deploy", "--config-env", "prod"]
    assert 'RoutesParameterPath="/okta-authorizer/prod/routes"' in command
    assert 'StageName="prod"' in command
    assert 'AllowedClientIds=""' in command
    assert 'OktaIssuer="https://acme.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9"' in command


def test_samconfig_empty_unquoted_value_is_caught_by_sams_parser(tmp_path: Path) -> None:
    # GIVEN the broken profile of before: an empty unquoted value
    broken = (REPO / "samconfig.toml").read_text(encoding="utf-8")
    broken = broken.replace("'AllowedClientIds=\"\"'", '"AllowedClientIds="')
    config = tmp_path / "samconfig.toml"
    config.write_text(broken, encoding="utf-8")

    # WHEN / THEN SAM CLI's parser refuses it, as sam deploy would
    done = run("check", "prod", config=config)
    assert done.returncode == 1
    assert "AllowedClientIds= is not a valid format" in done.stderr


@pytest.mark.parametrize("simple", ["false", "true"])
def test_translated_http_api_authorizer_is_invokable_and_cached_per_route(simple: str) -> None:
    # WHEN the template is translated with the HTTP API in either response format
    resources = check("dev", REAL_ISSUER, f"HttpApiSimpleResponses={simple}")["resources"]

    # THEN API Gateway may invoke the authorizer for the HTTP API (else every request is a 500)
    permissions = [
        r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission" and name.startswith("SampleHttpApiOktaAuthorizer")
    ]
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "apigateway.amazonaws.com"
    # AND the authorizer is payload 2.0, keyed on the token and the route
    body = resources["SampleHttpApi"]["Properties"]["Body"]
    [authorizer] = body["components"]["securitySchemes"].values()
    config = authorizer["x-amazon-apigateway-authorizer"]
    assert config["authorizerPayloadFormatVersion"] == "2.0"
    assert config["identitySource"] == ["$request.header.Authorization", "$context.routeKey"]
    assert config["enableSimpleResponses"] == {"Fn::If": ["HttpApiSimple", True, False]}
    # AND the function answers in the format the authorizer expects
    variables = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SIMPLE_RESPONSES"] == {"Ref": "HttpApiSimpleResponses"}
