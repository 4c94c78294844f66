"""The Lambda handler in-process: loopback issuer, moto SSM, all three API Gateway event types."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from okta_authorizer import iam
from okta_authorizer.localdev.events import load_event
from okta_authorizer.localdev.issuer import Mode
from okta_authorizer.localdev.keys import SigningKey, okta_claims
from okta_authorizer.localdev.ssm import local_ssm
from tests.integration.conftest import AUDIENCE, Harness

ROUTES: dict[str, Any] = {
    "GET /beds": {"scopes": ["beds:read"]},
    "GET /beds/{bedId}": {"scopes": ["beds:read", "beds:admin"]},
    "POST /beds/{bedId}/reservations": {"scopes": ["beds:write"]},
    "ANY /admin/{proxy+}": {"scopes": ["beds:admin"], "claims": {"groups": ["Admins"]}},
}
EVENT_FILES = ["token.json", "request.json", "http-api-v2.json"]
# What each sample event asks for, and the scope that opens it in ROUTES.
SCOPE_FOR_EVENT = {
    "token.json": "beds:read",
    "request.json": "beds:read",
    "http-api-v2.json": "beds:write",
}


def requested_arn(event: dict[str, Any]) -> str:
    """The ARN API Gateway evaluates the returned policy against."""
    return str(event.get("methodArn") or event["routeArn"])


def decisions(log_stream: io.StringIO) -> list[dict[str, Any]]:
    """The decision lines the handler wrote so far (one per invocation)."""
    return [
        json.loads(line)
        for line in log_stream.getvalue().splitlines()
        if line.startswith("{") and '"message":"decision"' in line
    ]


@pytest.fixture
def audit(harness: Harness, log_stream: io.StringIO) -> io.StringIO:
    """The decision lines, with metrics on as in production."""
    for variable in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        harness.monkeypatch.delenv(variable, raising=False)
    harness.configure()
    return log_stream


def effect(result: dict[str, Any], event: dict[str, Any]) -> str:
    """What API Gateway does with the handler's answer for this request."""
    if "isAuthorized" in result:
        return "Allow" if result["isAuthorized"] else "Deny"
    return iam.evaluate(result["policyDocument"], requested_arn(event))


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=["rest-token", "rest-request", "http-v2"])
def test_handler_sample_event_with_granting_scope_is_allowed(
    harness: Harness, event_file: str
) -> None:
    # GIVEN the route map and a token holding the scope the sample event's route needs
    harness.put_routes(ROUTES)
    token = harness.token(scp=[SCOPE_FOR_EVENT[event_file]], sub="nurse.joy@example.com")
    event = load_event(event_file, token)

    # WHEN the handler runs
    result = harness.invoke(event)

    # THEN API Gateway allows the request, for the token's subject
    assert effect(result, event) == "Allow"
    assert result["principalId"] == "nurse.joy@example.com"
    assert result["context"]["sub"] == "nurse.joy@example.com"


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=["rest-token", "rest-request", "http-v2"])
def test_handler_sample_event_without_scope_is_denied_403(
    harness: Harness, audit: io.StringIO, event_file: str
) -> None:
    # GIVEN a valid token whose scope opens no route of the sample events
    harness.put_routes(ROUTES)
    event = load_event(event_file, harness.token(scp=["profile"]))

    # WHEN / THEN a policy comes back (not an error) and it does not allow the request
    result = harness.invoke(event)
    assert effect(result, event) != "Allow"
    assert result["principalId"]
    [line] = decisions(audit)
    assert (line["decision"], line["reason"], line.get("Denied")) == (
        "deny",
        "insufficient_scope",
        1,
    )


def test_handler_http_api_simple_response_reports_decision(harness: Harness) -> None:
    # GIVEN simple responses for HTTP API events
    harness.put_routes(ROUTES)
    harness.configure(SIMPLE_RESPONSES="true")

    # WHEN a writer and a reader call the reservation route
    allowed = harness.invoke(load_event("http-api-v2.json", harness.token(scp=["beds:write"])))
    denied = harness.invoke(load_event("http-api-v2.json", harness.token(scp=["beds:read"])))

    # THEN the simple format answers true / false with the context
    assert allowed["isAuthorized"] is True
    assert denied["isAuthorized"] is False
    assert allowed["context"]["scope"] == "beds:write"
    assert "policyDocument" not in allowed


@pytest.mark.parametrize(
    ("settings", "sized"),
    [({}, True), ({"POLICY_MODE": "route"}, True), ({"SIMPLE_RESPONSES": "true"}, False)],
    ids=["api-policy", "route-policy", "simple-response"],
)
def test_handler_decision_line_reports_the_policy_size_in_bytes(
    harness: Harness, audit: io.StringIO, settings: dict[str, str], sized: bool
) -> None:
    # GIVEN an answer format, and a writer and a reader calling the reservation route
    harness.put_routes(ROUTES)
    harness.configure(**settings)
    results = [
        harness.invoke(load_event("http-api-v2.json", harness.token(scp=[scope])))
        for scope in ("beds:write", "beds:read")
    ]

    # WHEN the decision lines are read
    lines = decisions(audit)

    # THEN each IAM answer publishes PolicyBytes: its policy document as compact JSON, in Bytes
    assert [line["decision"] for line in lines] == ["allow", "deny"]
    for line, result in zip(lines, results, strict=True):
        units = {m["Name"]: m["Unit"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        if sized:
            expected = json.dumps(result["policyDocument"], separators=(",", ":"))
            assert line["PolicyBytes"] == len(expected.encode())
            assert units["PolicyBytes"] == "Bytes"
        else:
            assert "PolicyBytes" not in line
            assert "PolicyBytes" not in units


@pytest.mark.parametrize("answer", ["api-policy", "route-policy", "simple-response"])
def test_handler_unmapped_route_is_denied(
    harness: Harness, audit: io.StringIO, answer: str
) -> None:
    # GIVEN a token with every scope, and a request to a route the map does not name
    harness.put_routes(ROUTES)
    if answer == "route-policy":
        harness.configure(POLICY_MODE="route")
    elif answer == "simple-response":
        harness.configure(SIMPLE_RESPONSES="true")
    name = "http-api-v2.json" if answer == "simple-response" else "token.json"
    event = load_event(name, harness.token(scp=["beds:read", "beds:write", "beds:admin"]))
    if answer == "simple-response":
        event["routeKey"] = "GET /nurses"
    else:
        event["methodArn"] = event["methodArn"].replace("/GET/beds", "/GET/nurses")

    # WHEN / THEN it is not allowed, and the audit line says why
    assert effect(harness.invoke(event), event) != "Allow"
    [line] = decisions(audit)
    assert (line["decision"], line["reason"]) == ("deny", "unmapped_route")


def _bad_tokens(harness: Harness) -> dict[str, str | None]:
    iss = harness.issuer.issuer
    forger = SigningKey(kid=harness.issuer.key.kid)
    return {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": harness.issuer.key.token(okta_claims(iss, AUDIENCE, now=1_700_000_000)),
        "wrong-audience": harness.issuer.key.token(okta_claims(iss, "api://other")),
        "forged": forger.token(okta_claims(iss, AUDIENCE, scp=["beds:admin"])),
        "untrusted-issuer": harness.issuer.key.token(
            okta_claims("https://evil.example.com/oauth2/default", AUDIENCE)
        ),
    }


def test_handler_unexpected_error_is_500_logged_by_type_with_nothing_leaked(
    harness: Harness, audit: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bug deep in the use case: an error that is not one of the authorizer's own
    from okta_authorizer import app

    class Broken:
        def authorize(self, request: Any) -> Any:
            raise KeyError("internal detail: nurse.joy@example.com")

    monkeypatch.setattr(app, "get_authorizer", lambda _settings: Broken())
    event = load_event("token.json", harness.token(scp=["beds:read"]))

    # WHEN the handler runs
    with pytest.raises(app.AuthorizerUnavailableError) as caught:
        harness.invoke(event)

    # THEN API Gateway gets a 500 whose message says nothing about the cause
    assert str(caught.value) == "internal error"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    # AND the decision line records an error of that type, never the detail or the token
    [line] = decisions(audit)
    assert (line["decision"], line["reason"], line["detail"]) == (
        "error",
        "misconfigured",
        "KeyError",
    )
    assert line["Unavailable"] == 1
    out = audit.getvalue()
    assert event["authorizationToken"].split(" ")[-1] not in out


# variant -> (reason code, whether judging it needs Okta's keys at all)
BAD_TOKEN_REASONS = {
    "missing": ("missing_token", False),
    "garbage": ("malformed_token", False),
    "expired": ("expired", True),
    "wrong-audience": ("wrong_audience", True),
    "forged": ("bad_signature", True),
    "untrusted-issuer": ("untrusted_issuer", False),
}


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=["rest-token", "rest-request", "http-v2"])
@pytest.mark.parametrize("variant", list(BAD_TOKEN_REASONS))
def test_handler_invalid_token_raises_unauthorized(
    harness: Harness, audit: io.StringIO, event_file: str, variant: str
) -> None:
    # GIVEN a working route map and an invalid token of some kind
    harness.put_routes(ROUTES)
    event = load_event(event_file, _bad_tokens(harness)[variant])
    reason, needs_keys = BAD_TOKEN_REASONS[variant]

    # WHEN / THEN the handler raises exactly "Unauthorized" (API Gateway answers 401)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        harness.invoke(event)
    # AND the audit line names the reason; Okta is not asked for keys when none are needed
    [line] = decisions(audit)
    assert (line["decision"], line["reason"]) == ("unauthorized", reason)
    assert (harness.issuer.count("keys") > 0) is needs_keys


def test_handler_keys_unavailable_raises_500_not_unauthorized(harness: Harness) -> None:
    # GIVEN Okta's key endpoint failing before any key set was ever fetched
    harness.put_routes(ROUTES)
    harness.issuer.state.mode = Mode.ERROR_500

    # WHEN / THEN the handler fails with an error API Gateway turns into 500, never a 401 or Allow
    with pytest.raises(Exception, match=r"^keys_unavailable$"):
        harness.invoke(load_event("token.json", harness.token(scp=["beds:read"])))


def test_handler_no_route_map_raises_500(harness: Harness) -> None:
    # GIVEN nothing stored under the route-map path
    event = load_event("token.json", harness.token(scp=["beds:read"]))

    # WHEN / THEN routes_unavailable (500)
    with pytest.raises(Exception, match=r"^routes_unavailable$"):
        harness.invoke(event)


def test_handler_invalid_token_wins_over_missing_route_map(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN no route map and a garbage token on a cold start
    event = load_event("token.json", "not-a-jwt")

    # WHEN / THEN the caller gets 401 (the token is judged first), the outage is only logged
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        harness.invoke(event)
    assert "route map unavailable too" in caplog.text


def test_handler_ssm_outage_while_warm_serves_last_good_map(
    harness: Harness, audit: io.StringIO
) -> None:
    # GIVEN a second SSM server that holds the map, refreshed on every call
    with local_ssm({}) as endpoint:
        harness.endpoint = endpoint
        harness.put_routes(ROUTES)
        harness.configure(AWS_ENDPOINT_URL_SSM=endpoint, ROUTES_CACHE_SECONDS="0")
        event = load_event("token.json", harness.token(scp=["beds:read"]))
        assert effect(harness.invoke(event), event) == "Allow"
    # WHEN that SSM server is gone
    # THEN decisions keep coming from the last good map, and the stale use is counted
    assert effect(harness.invoke(event), event) == "Allow"
    assert decisions(audit)[-1].get("RoutesStaleServed") == 1


def test_handler_invalid_map_pushed_while_warm_keeps_old_map(
    harness: Harness, audit: io.StringIO
) -> None:
    # GIVEN a warm authorizer with a valid map, refreshed on every call
    harness.put_routes(ROUTES)
    harness.configure(ROUTES_CACHE_SECONDS="0")
    event = load_event("token.json", harness.token(scp=["beds:read"]))
    assert effect(harness.invoke(event), event) == "Allow"

    # WHEN someone overwrites it with broken JSON, then with a stricter map that has an unknown
    # field (it would deny this caller if it were applied)
    harness.put_raw("api", '{"routes": {"GET /beds": {"scopes": ["beds:read"]}')
    broken_json = harness.invoke(event)
    stricter = {"GET /beds": {"scopes": ["beds:admin"], "note": "x"}}
    harness.put_raw("api", json.dumps({"routes": stricter}))
    unknown_field = harness.invoke(event)

    # THEN the old map keeps deciding, each stale use counted
    assert effect(broken_json, event) == "Allow"
    assert effect(unknown_field, event) == "Allow"
    assert [line.get("RoutesStaleServed") for line in decisions(audit)] == [None, 1, 1]

    # AND a valid stricter map is picked up on the next call
    harness.put_routes({"GET /beds": {"scopes": ["beds:admin"]}})
    assert effect(harness.invoke(event), event) != "Allow"


def test_handler_several_parameters_are_merged(harness: Harness) -> None:
    # GIVEN the map split over two parameters, one nested deeper under the path
    harness.put_routes({"GET /beds": {"scopes": ["beds:read"]}}, name="team-a")
    harness.put_routes({"GET /beds/{bedId}": {"scopes": ["beds:read"]}}, name="team-b/extra")
    token = harness.token(scp=["beds:read"])

    # WHEN routes from both are requested
    first = load_event("token.json", token)
    second = load_event("request.json", token)

    # THEN both are allowed
    assert effect(harness.invoke(first), first) == "Allow"
    assert effect(harness.invoke(second), second) == "Allow"


def test_handler_duplicate_route_across_parameters_is_500(harness: Harness) -> None:
    # GIVEN the same route key in two parameters (ambiguous: never half-applied)
    harness.put_routes({"GET /beds": {"scopes": ["beds:read"]}}, name="a")
    harness.put_routes({"GET /beds": {"scopes": []}}, name="b")

    # WHEN / THEN no map is usable: routes_unavailable
    with pytest.raises(Exception, match=r"^routes_unavailable$"):
        harness.invoke(load_event("token.json", harness.token(scp=["beds:read"])))


def test_handler_secure_string_route_map_is_decrypted(harness: Harness) -> None:
    # GIVEN the map stored as a SecureString
    harness.put_routes(ROUTES, secure=True)
    event = load_event("token.json", harness.token(scp=["beds:read"]))

    # WHEN / THEN it is read decrypted and decides
    assert effect(harness.invoke(event), event) == "Allow"


def test_handler_context_holds_only_scalars(harness: Harness) -> None:
    # GIVEN extra context claims including a list and an object
    harness.put_routes(ROUTES)
    harness.configure(CONTEXT_CLAIMS="groups,email,profile")
    token = harness.token(
        scp=["beds:read", "openid"],
        groups=["Nurses", "Everyone"],
        email="joy@example.com",
        profile={"ward": 3},
    )

    # WHEN
    context = harness.invoke(load_event("token.json", token))["context"]

    # THEN every value is a string, number or boolean; the standard fields are there
    assert all(isinstance(value, str | int | float | bool) for value in context.values())
    assert context["scope"] == "beds:read openid"
    assert context["email"] == "joy@example.com"
    assert context["groups"] == "Nurses,Everyone"
    assert context["profile"] == '{"ward":3}'
    assert {"sub", "cid", "uid", "iss", "jti", "exp"} <= set(context)
    assert isinstance(context["exp"], int)


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_handler_policy_uses_the_partition_of_the_event(harness: Harness, partition: str) -> None:
    # GIVEN a method ARN in the partition
    harness.put_routes(ROUTES)
    event = load_event("token.json", harness.token(scp=["beds:read"]))
    event["methodArn"] = event["methodArn"].replace("arn:aws:", f"arn:{partition}:")

    # WHEN
    result = harness.invoke(event)

    # THEN every resource of the policy is in that partition, and the request is allowed
    resources = [
        resource
        for statement in result["policyDocument"]["Statement"]
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    ]
    assert resources
    assert all(resource.startswith(f"arn:{partition}:execute-api:") for resource in resources)
    assert iam.evaluate(result["policyDocument"], event["methodArn"]) == "Allow"


def test_handler_route_mode_denies_without_scope(harness: Harness) -> None:
    # GIVEN POLICY_MODE=route and a token without the route's scope
    harness.put_routes(ROUTES)
    harness.configure(POLICY_MODE="route")
    event = load_event("request.json", harness.token(scp=["profile"]))

    # WHEN / THEN the one statement names the requested resource and denies it
    document = harness.invoke(event)["policyDocument"]
    assert [s["Effect"] for s in document["Statement"]] == ["Deny"]
    assert iam.evaluate(document, event["methodArn"]) == "Deny"


def test_handler_route_mode_names_only_the_requested_resource(harness: Harness) -> None:
    # GIVEN POLICY_MODE=route
    harness.put_routes(ROUTES)
    harness.configure(POLICY_MODE="route")
    event = load_event("request.json", harness.token(scp=["beds:read"]))

    # WHEN
    document = harness.invoke(event)["policyDocument"]

    # THEN one statement for exactly the method ARN
    resources = [str(s["Resource"]) for s in document["Statement"]]
    assert event["methodArn"] in " ".join(resources)
    assert iam.evaluate(document, event["methodArn"]) == "Allow"
    other = event["methodArn"].replace("/GET/beds/17", "/GET/beds/18")
    assert iam.evaluate(document, other) != "Allow"


def test_handler_decision_log_has_fields_and_never_the_token(
    harness: Harness, audit: io.StringIO
) -> None:
    # GIVEN metrics on (as in production), a valid token and a forged one
    harness.put_routes(ROUTES)
    token = harness.token(scp=["beds:read"], jti="AT.audit-me")
    forged = SigningKey(kid=harness.issuer.key.kid).token(
        okta_claims(harness.issuer.issuer, AUDIENCE)
    )

    # WHEN both are judged
    harness.invoke(load_event("token.json", token))
    with pytest.raises(Exception, match="Unauthorized"):
        harness.invoke(load_event("token.json", forged))
    out = audit.getvalue()

    # THEN one decision line each, with the audit fields, and no token or signature anywhere
    lines = decisions(audit)
    assert [d["decision"] for d in lines] == ["allow", "unauthorized"]
    assert lines[0]["jti"] == "AT.audit-me"
    assert lines[0]["route"] == "GET /beds"
    assert lines[1]["reason"] == "bad_signature"
    assert all(d["function_request_id"] for d in lines)
    # AND each line is also the invocation's EMF document, carrying its metric
    metrics = [[m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for d in lines]
    assert "Allowed" in metrics[0]
    assert lines[0]["Allowed"] == 1
    assert metrics[1] == ["Rejected"]
    assert lines[1]["Rejected"] == 1
    for secret in (token, forged, token.rsplit(".", 1)[1], forged.rsplit(".", 1)[1]):
        assert secret not in out
