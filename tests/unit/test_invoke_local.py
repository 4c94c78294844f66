"""`make invoke-local`'s script: clear errors before anything starts, and its one-line verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scripts.invoke_local import main, verdict

REPO = Path(__file__).resolve().parents[2]
TOKEN_EVENT = json.loads((REPO / "events" / "token.json").read_text(encoding="utf-8"))
HTTP_EVENT = json.loads((REPO / "events" / "http-api-v2.json").read_text(encoding="utf-8"))
ARN = TOKEN_EVENT["methodArn"]


def decision_line(reason: str | None) -> str:
    return json.dumps({"level": "INFO", "message": "decision", "reason": reason})


def policy(effect: str, resource: str = ARN) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}
    return {
        "principalId": "x",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }


@pytest.mark.parametrize(
    ("payload", "event", "log", "expected"),
    [
        (policy("Allow"), TOKEN_EVENT, [decision_line(None)], "ALLOW"),
        (
            policy("Allow", ARN.rsplit("/", 1)[0] + "/other"),
            TOKEN_EVENT,
            [decision_line("insufficient_scope")],
            "DENY 403 insufficient_scope",
        ),
        (policy("Deny"), TOKEN_EVENT, [decision_line("unmapped_route")], "DENY 403 unmapped_route"),
        (
            {"errorMessage": "Unauthorized", "errorType": "Exception"},
            TOKEN_EVENT,
            ["START", decision_line("expired")],
            "401 expired",
        ),
        (
            {"errorMessage": "Authorization is temporarily unavailable", "errorType": "Exception"},
            TOKEN_EVENT,
            [decision_line("keys_unavailable")],
            "500 keys_unavailable",
        ),
        ({"isAuthorized": True, "context": {}}, HTTP_EVENT, [], "ALLOW"),
        (
            {"isAuthorized": False, "context": {}},
            HTTP_EVENT,
            [decision_line("insufficient_scope")],
            "DENY 403 insufficient_scope",
        ),
        ("not json", TOKEN_EVENT, [], "500 no authorizer response"),
    ],
    ids=[
        "allow",
        "allow-statement-for-another-route-is-a-deny",
        "explicit-deny",
        "unauthorized",
        "outage",
        "simple-allow",
        "simple-deny",
        "garbage",
    ],
)
def test_invoke_local_verdict_is_what_api_gateway_answers(
    payload: Any, event: dict[str, Any], log: list[str], expected: str
) -> None:
    assert verdict(payload, event, log) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no event file"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "not an API Gateway authorizer event"),
        ('{"type": "TOKEN"}', "no methodArn or routeArn"),
    ],
    ids=["missing", "not-json", "not-an-object", "no-arn"],
)
def test_invoke_local_bad_event_is_a_clear_error_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content, encoding="utf-8")

    # an unusable build dir proves nothing was started before the error
    code = main(["--event", str(event), "--build-dir", str(tmp_path / "no-build")])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--routes", "MISSING.json"], "cannot read the route map"),
        (["--routes", "INVALID"], "invalid route map"),
        (["--token", "abc.def.ghi"], "TOKEN= needs ISSUER= and AUDIENCE="),
    ],
    ids=["routes-missing", "routes-invalid", "token-without-issuer"],
)
def test_invoke_local_bad_routes_or_token_options_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"routes": {"GET /beds": {"scopes": "beds:read"}}}', encoding="utf-8")
    argv = [
        str(invalid) if arg == "INVALID" else str(tmp_path / arg) if arg == "MISSING.json" else arg
        for arg in argv
    ]

    code = main(["--event", str(REPO / "events" / "token.json"), *argv])

    assert code == 2
    assert message in capsys.readouterr().err
