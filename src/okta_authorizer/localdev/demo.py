"""`make demo`: the real handler against a loopback Okta and moto SSM, with a table of decisions."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from okta_authorizer.localdev.events import load_event
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import SigningKey, client_credentials_claims, okta_claims
from okta_authorizer.localdev.lambda_context import FakeLambdaContext
from okta_authorizer.localdev.sample import load_sample_route_map
from okta_authorizer.localdev.ssm import local_ssm, put_parameter
from okta_authorizer.route_review import EXAMPLE_STAGE_ARN

AUDIENCE = "api://beds"
ROUTES_PATH = "/okta-authorizer/demo/routes"
REPORTING_CLIENT = "0oa1reportingjob"


@dataclass(frozen=True)
class Case:
    """One row of the demo: who calls which route, and what the route map says must happen."""

    caller: str
    method: str
    path: str
    resource: str
    kind: str  # token | request | http
    expected: str  # ALLOW | DENY 403 | 401


CASES: tuple[Case, ...] = (
    Case("reader", "GET", "/beds", "/beds", "token", "ALLOW"),
    Case("reader", "GET", "/beds/17", "/beds/{bedId}", "request", "ALLOW"),
    Case(
        "reader", "POST", "/beds/17/reservations", "/beds/{bedId}/reservations", "http", "DENY 403"
    ),
    Case("writer", "POST", "/beds/17/reservations", "/beds/{bedId}/reservations", "http", "ALLOW"),
    Case(
        "writer",
        "DELETE",
        "/beds/17/reservations",
        "/beds/{bedId}/reservations",
        "token",
        "DENY 403",
    ),
    Case(
        "admin", "DELETE", "/beds/17/reservations", "/beds/{bedId}/reservations", "token", "ALLOW"
    ),
    Case("admin", "PUT", "/admin/wards/3/beds", "/admin/{proxy+}", "request", "ALLOW"),
    Case("writer", "GET", "/admin/audit", "/admin/{proxy+}", "token", "DENY 403"),
    Case("reporting job", "GET", "/reports/occupancy", "/reports/occupancy", "http", "ALLOW"),
    Case("reader", "GET", "/reports/occupancy", "/reports/occupancy", "token", "DENY 403"),
    Case("reader", "GET", "/nurses", "/nurses", "token", "DENY 403"),
    Case("expired", "GET", "/beds", "/beds", "token", "401"),
    Case("wrong audience", "GET", "/beds", "/beds", "request", "401"),
    Case("forged signature", "GET", "/beds", "/beds", "http", "401"),
    Case("no token", "GET", "/beds", "/beds", "token", "401"),
)


def mint_tokens(issuer: LocalIssuer) -> dict[str, str]:
    """One token per demo caller, signed by the loopback issuer (or, for the forgery, not)."""
    iss, key = issuer.issuer, issuer.key
    forger = SigningKey(kid=key.kid)  # same kid, different private key
    return {
        "reader": key.token(okta_claims(iss, AUDIENCE, scopes=("beds:read",))),
        "writer": key.token(
            okta_claims(iss, AUDIENCE, scopes=("beds:read", "beds:write"), sub="charge.nurse@x.org")
        ),
        "admin": key.token(
            okta_claims(
                iss,
                AUDIENCE,
                scopes=("beds:read", "beds:write", "beds:admin"),
                sub="ward.admin@x.org",
                groups=["Everyone", "Admins"],
            )
        ),
        "reporting job": key.token(client_credentials_claims(iss, AUDIENCE, REPORTING_CLIENT)),
        "expired": key.token(okta_claims(iss, AUDIENCE, now=1_700_000_000)),
        "wrong audience": key.token(okta_claims(iss, "api://another-api")),
        "forged signature": forger.token(okta_claims(iss, AUDIENCE, scopes=("beds:admin",))),
        "no token": "",
    }


def build_event(case: Case, token: str) -> dict[str, Any]:
    """A real-shaped API Gateway event for the case, from the samples in events/."""
    name = {"token": "token.json", "request": "request.json", "http": "http-api-v2.json"}[case.kind]
    event = load_event(name, token or None)
    arn = f"{EXAMPLE_STAGE_ARN}/{case.method}{case.path}"
    if case.kind == "token":
        event["methodArn"] = arn
    elif case.kind == "request":
        event["methodArn"] = arn
        event["resource"] = case.resource
        event["path"] = case.path
        event["httpMethod"] = case.method
        event["requestContext"]["resourcePath"] = case.resource
        event["requestContext"]["httpMethod"] = case.method
    else:
        event["routeArn"] = arn
        event["routeKey"] = f"{case.method} {case.resource}"
        event["requestContext"]["routeKey"] = event["routeKey"]
        event["requestContext"]["http"]["method"] = case.method
    return event


def outcome(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> str:
    """Run the handler and say what API Gateway would answer: ALLOW, DENY 403, 401 or 500."""
    from okta_authorizer import iam

    try:
        result = handler(event, FakeLambdaContext())
    except Exception as error:  # noqa: BLE001 - API Gateway maps any other exception to 500
        return "401" if str(error) == "Unauthorized" else "500"
    if "isAuthorized" in result:
        return "ALLOW" if result["isAuthorized"] else "DENY 403"
    resource = event.get("methodArn") or event["routeArn"]
    effect = iam.evaluate(result["policyDocument"], resource)
    return "ALLOW" if effect == "Allow" else "DENY 403"


def decision_reason(log_text: str) -> str:
    """The reason code of the handler's decision line (the one log line it writes per call)."""
    reason = ""
    for line in log_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "decision":
            reason = str(record.get("reason") or "-")
    return reason


@contextmanager
def demo_environment(environ: MutableMapping[str, str]) -> Iterator[LocalIssuer]:
    """Loopback issuer, moto SSM holding the sample route map, and the authorizer's variables."""
    with ExitStack() as stack:
        issuer = stack.enter_context(LocalIssuer())
        endpoint = stack.enter_context(local_ssm(environ))
        name, document = load_sample_route_map()
        put_parameter(endpoint, f"{ROUTES_PATH}/{name}", document)
        settings_env = {
            "OKTA_ISSUER": issuer.issuer,
            "OKTA_AUDIENCE": AUDIENCE,
            "ROUTES_PARAMETER_PATH": ROUTES_PATH,
            "POWERTOOLS_SERVICE_NAME": "okta-authorizer-demo",
            "POWERTOOLS_METRICS_NAMESPACE": "OktaAuthorizerDemo",
        }
        saved = {key: environ.get(key) for key in settings_env}
        environ.update(settings_env)
        stack.callback(_restore, environ, saved)
        yield issuer


def _restore(environ: MutableMapping[str, str], saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value


def run(out: TextIO = sys.stdout, *, verbose: bool = False) -> int:
    """Run every case through the real handler, print the table; 0 only if all are as expected."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF blobs would drown the table
    with demo_environment(os.environ) as issuer:
        from okta_authorizer import app, service, settings
        from okta_authorizer.observability import logger

        settings.get_settings.cache_clear()
        service.reset()
        tokens = mint_tokens(issuer)
        handler = logger.registered_handler
        if not isinstance(handler, logging.StreamHandler):  # Powertools' default handler
            raise TypeError("the demo needs Powertools' default stream handler")
        original = handler.stream
        rows = []
        try:
            for case in CASES:
                captured = io.StringIO()
                handler.setStream(captured)
                got = outcome(app.lambda_handler, build_event(case, tokens[case.caller]))
                if verbose:
                    sys.stderr.write(captured.getvalue())
                rows.append((case, got, decision_reason(captured.getvalue())))
        finally:
            handler.setStream(original)
            settings.get_settings.cache_clear()
            service.reset()
    return print_table(rows, out)


def print_table(rows: list[tuple[Case, str, str]], out: TextIO) -> int:
    """Print the decisions; return 1 if any row differs from what the route map says, else 0."""
    header = ("caller", "event", "route", "decision", "reason", "expected", "")
    lines = [
        (
            case.caller,
            case.kind,
            f"{case.method} {case.path}",
            got,
            reason,
            case.expected,
            "ok" if got == case.expected else "MISMATCH",
        )
        for case, got, reason in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *lines]:
        out.write(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
        out.write("\n")
    failures = sum(1 for case, got, _ in rows if got != case.expected)
    out.write(f"\n{len(rows) - failures} of {len(rows)} decisions as the route map says.\n")
    return 1 if failures else 0
