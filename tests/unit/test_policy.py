"""The policy compiler: method ARNs, api- and route-mode documents, context, response shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerResponseV2,
)

from okta_authorizer import policy
from okta_authorizer.errors import AuthorizerError, Reason
from okta_authorizer.iam import evaluate
from okta_authorizer.policy import (
    MAX_CONTEXT_VALUE_BYTES,
    MethodArn,
    api_policy,
    build_context,
    iam_response,
    patterns_overlap,
    route_policy,
    simple_response,
    stage_resource,
)
from okta_authorizer.routes import RouteMap, parse_route_map
from okta_authorizer.tokens import AccessToken
from tests.support import SAMPLE_ROUTES, access_token

STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"
ISSUER = "https://acme.okta.com/oauth2/default"


# Concrete requests to every route of the sample API (the map names them all), plus requests to
# methods and paths outside it (which the route semantics and the policy must both deny).
REQUESTS: list[tuple[str, str]] = [
    ("GET", "/beds"),
    ("GET", "/beds/7"),
    ("POST", "/beds"),
    ("DELETE", "/beds/7"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users/42/roles"),
    ("DELETE", "/admin/beds/7"),
    ("GET", "/reports"),
    ("PUT", "/beds"),
    ("POST", "/reports"),
    ("GET", "/"),
]


@pytest.fixture(autouse=True)
def fresh_policy_cache() -> Iterator[None]:
    policy.clear_policy_cache()
    yield
    policy.clear_policy_cache()


def sample_map() -> RouteMap:
    return parse_route_map({"/routes/beds": json.dumps({"routes": SAMPLE_ROUTES})})


TOKENS: dict[str, AccessToken] = {
    "nurse": access_token("beds:read", groups=["Nurses"]),
    "ward-manager": access_token("beds:read", "beds:write", "beds:admin", groups=["Nurses"]),
    "writer-without-admin": access_token("beds:write"),
    "admin": access_token("admin", groups=["Admins"]),
    "admin-scope-wrong-group": access_token("admin", groups="Nurses"),
    "reporting-job": access_token(cid="0oa1reportingjob", uid=None, sub="0oa1reportingjob"),
    "everything": access_token(
        "beds:read", "beds:write", "beds:admin", "admin", cid="0oa1reportingjob", groups="Admins"
    ),
    "nothing": access_token(),
}


def request_arn(method: str, path: str, stage: str = STAGE) -> str:
    return f"{stage}/{method}/{path[1:]}"


# --- method ARNs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/beds/7",
            ("aws", "us-east-1", "123456789012", "abcdef1234", "prod", "GET", "/beds/7"),
        ),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/POST/beds",
            ("aws-cn", "cn-north-1", "123456789012", "abcdef1234", "dev", "POST", "/beds"),
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3d4e5/v1/DELETE/beds/7",
            (
                "aws-us-gov",
                "us-gov-west-1",
                "123456789012",
                "a1b2c3d4e5",
                "v1",
                "DELETE",
                "/beds/7",
            ),
        ),
        (
            "arn:aws:execute-api:eu-west-2:123456789012:abcdef1234/prod/GET/",
            ("aws", "eu-west-2", "123456789012", "abcdef1234", "prod", "GET", "/"),
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
            ("aws", "us-east-1", "123456789012", "abcdef123", "test", "GET", "/request"),
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/PATCH/admin/a:b/c",
            ("aws", "us-east-1", "123456789012", "abcdef123", "$default", "PATCH", "/admin/a:b/c"),
        ),
    ],
    ids=["aws", "aws-cn", "aws-us-gov", "root-path", "http-route-arn", "http-default-stage"],
)
def test_method_arn_parse_valid_arn_yields_parts(arn: str, expected: tuple[str, ...]) -> None:
    # WHEN
    parsed = MethodArn.parse(arn)

    # THEN
    parts = (parsed.partition, parsed.region, parsed.account, parsed.api_id, parsed.stage)
    assert (*parts, parsed.method, parsed.path) == expected
    assert parsed.arn == arn
    assert arn.startswith(parsed.stage_arn + "/")


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "not-an-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:authorizer",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET",
        "arn:aws:execute-api:us-east-1:12345678901:abcdef1234/prod/GET/beds",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/get/beds",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234//GET/beds",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/beds 7",
        "arn:azure:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/beds",
        "arn:aws:execute-api:*:123456789012:abcdef1234/prod/GET/beds",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/beds",
    ],
    ids=[
        "empty",
        "not-an-arn",
        "other-service",
        "no-method",
        "no-path",
        "short-account",
        "lowercase-method",
        "empty-stage",
        "whitespace",
        "unknown-partition",
        "wildcard-region",
        "wildcard-stage",
    ],
)
def test_method_arn_parse_malformed_arn_raises_misconfigured(arn: str) -> None:
    # WHEN / THEN
    with pytest.raises(AuthorizerError) as caught:
        MethodArn.parse(arn)
    assert caught.value.reason is Reason.MISCONFIGURED


@pytest.mark.parametrize(
    ("arn", "key", "expected"),
    [
        (f"{STAGE}/GET/", "GET /beds", f"{STAGE}/GET/beds"),
        (f"{STAGE}/GET/", "GET /beds/{bedId}", f"{STAGE}/GET/beds/*"),
        (f"{STAGE}/GET/", "ANY /admin/{proxy+}", f"{STAGE}/*/admin/*"),
        (f"{STAGE}/GET/", "GET /", f"{STAGE}/GET/"),
        (f"{STAGE}/GET/", "PUT /w/{a}/b/{c}", f"{STAGE}/PUT/w/*/b/*"),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/GET/x",
            "GET /beds",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/GET/beds",
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-east-1:123456789012:abcdef1234/v1/GET/x",
            "ANY /{proxy+}",
            "arn:aws-us-gov:execute-api:us-gov-east-1:123456789012:abcdef1234/v1/*/*",
        ),
    ],
    ids=["literal", "param", "any-greedy", "root", "two-params", "aws-cn", "aws-us-gov"],
)
def test_stage_resource_writes_params_and_any_as_star(arn: str, key: str, expected: str) -> None:
    # GIVEN a one-rule map
    route_map = parse_route_map({"/r": json.dumps({"routes": {key: {"scopes": []}}})})

    # WHEN / THEN (both a parsed and a raw ARN are accepted)
    assert stage_resource(MethodArn.parse(arn).stage_arn, route_map.rules[0]) == expected


# --- wildcard pattern overlap -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("GET/beds/*", "*/admin/*", True),
        ("GET/beds", "*/admin/*", False),
        ("GET/beds/*", "DELETE/beds/*", False),
        ("GET/*", "*/b", True),
        ("a*", "*b", True),
        ("ab*", "*ba", True),
        ("x*y", "x*z", False),
        ("a?c", "abc", True),
        ("a?c", "ab", False),
        ("a??", "*b", True),
        ("a?", "*bb", False),
        ("*", "", True),
        ("", "", True),
        ("a", "", False),
        ("GET/reports", "GET/beds/*", False),
    ],
    ids=[
        "star-spans-slash",
        "literal-vs-star-pattern",
        "different-method",
        "two-stars",
        "prefix-suffix",
        "shared-middle",
        "different-ends",
        "question-literal",
        "question-length",
        "questions-star",
        "too-short-for-suffix",
        "star-empty",
        "both-empty",
        "char-vs-empty",
        "different-literals",
    ],
)
def test_patterns_overlap_table(first: str, second: str, expected: bool) -> None:
    # WHEN / THEN overlap is symmetric
    assert patterns_overlap(first, second) is expected
    assert patterns_overlap(second, first) is expected


# --- api mode ---------------------------------------------------------------------------------


def statements_by_effect(document: dict[str, Any]) -> dict[str, list[str]]:
    assert document["Version"] == "2012-10-17"
    effects: dict[str, list[str]] = {}
    for statement in document["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        assert statement["Resource"], "IAM rejects a statement with no resource"
        effects.setdefault(statement["Effect"], []).extend(statement["Resource"])
    return effects


@pytest.mark.parametrize(
    ("token_name", "expected"),
    [
        (
            "nurse",
            {
                "Allow": [f"{STAGE}/GET/beds", f"{STAGE}/GET/beds/*"],
                "Deny": [f"{STAGE}/*/admin/*"],
            },
        ),
        (
            "admin",
            {
                "Allow": [f"{STAGE}/*/admin/*"],
                "Deny": [f"{STAGE}/DELETE/beds/*", f"{STAGE}/GET/beds/*"],
            },
        ),
        (
            "writer-without-admin",
            {"Allow": [f"{STAGE}/POST/beds"]},
        ),
        (
            "reporting-job",
            {"Allow": [f"{STAGE}/GET/reports"]},
        ),
        (
            "everything",
            {
                "Allow": sorted(
                    f"{STAGE}/{m}/{p}"
                    for m, p in [
                        ("GET", "beds"),
                        ("GET", "beds/*"),
                        ("POST", "beds"),
                        ("DELETE", "beds/*"),
                        ("*", "admin/*"),
                        ("GET", "reports"),
                    ]
                )
            },
        ),
        ("nothing", {"Deny": [f"{STAGE}/*/*"]}),
        ("admin-scope-wrong-group", {"Deny": [f"{STAGE}/*/*"]}),
    ],
    ids=["nurse", "admin", "writer", "reporting-job", "everything", "nothing", "wrong-group"],
)
def test_api_policy_sample_map_allows_granted_and_denies_overlapping(
    token_name: str, expected: dict[str, list[str]]
) -> None:
    # GIVEN the design's sample map and a token
    token = TOKENS[token_name]

    # WHEN the policy is compiled for a request to GET /beds
    document = api_policy(MethodArn.parse(request_arn("GET", "/beds")), sample_map(), token)

    # THEN
    assert statements_by_effect(document) == expected


@pytest.mark.parametrize("token_name", list(TOKENS), ids=list(TOKENS))
@pytest.mark.parametrize("first", REQUESTS, ids=[f"first-{m}-{p}" for m, p in REQUESTS])
def test_api_policy_cached_for_first_route_gives_exact_decision_on_every_route(
    first: tuple[str, str], token_name: str
) -> None:
    # GIVEN the policy API Gateway caches after the token's first request
    token = TOKENS[token_name]
    route_map = sample_map()
    cached = api_policy(request_arn(*first), route_map, token)

    for method, path in REQUESTS:
        # WHEN API Gateway reuses it for every other request of the same token
        decision = evaluate(cached, request_arn(method, path))

        # THEN it allows exactly what the route semantics allow
        rule = route_map.match(method, path)
        exact = rule is not None and rule.check(token) is None
        assert (decision == "Allow") is exact, (method, path, decision)


NESTED_ROUTES: dict[str, Any] = {
    **SAMPLE_ROUTES,
    "GET /beds/{bedId}/notes": {"scopes": ["notes:read"]},
}


@pytest.mark.parametrize(
    ("scopes", "request_path", "exact", "decision"),
    [
        (("beds:read",), "/beds/7", True, "Allow"),
        (("beds:read",), "/beds/7/notes", False, "Deny"),
        (("beds:read", "notes:read"), "/beds/7/notes", True, "Allow"),
        (("notes:read",), "/beds/7/notes", True, "Deny"),
        (("notes:read",), "/beds/7", False, "Deny"),
    ],
    ids=[
        "granted-parent",
        "nested-route-denied-explicitly",
        "both-granted",
        "overlap-errs-towards-deny",
        "refused-parent",
    ],
)
def test_api_policy_nested_route_under_granted_pattern_is_denied_explicitly(
    scopes: tuple[str, ...], request_path: str, exact: bool, decision: str
) -> None:
    # GIVEN a map where `GET /beds/{bedId}` (GET/beds/*) also covers `GET /beds/{bedId}/notes`
    route_map = parse_route_map({"/routes": json.dumps({"routes": NESTED_ROUTES})})
    token = access_token(*scopes)
    rule = route_map.match("GET", request_path)
    assert (rule is not None and rule.check(token) is None) is exact

    # WHEN the policy cached for GET /beds is applied to the request
    document = api_policy(request_arn("GET", "/beds"), route_map, token)

    # THEN an overlapping refused rule is denied explicitly, so the policy never allows more
    # than the route semantics; where they overlap it may deny more (`routes validate` says so)
    assert evaluate(document, request_arn("GET", request_path)) == decision


def test_api_policy_depends_only_on_token_map_and_stage() -> None:
    # GIVEN one token and the sample map
    token = TOKENS["nurse"]
    route_map = sample_map()

    # WHEN compiled for different requests of the same stage, and for another stage
    documents = [api_policy(request_arn(m, p), route_map, token) for m, p in REQUESTS]
    other_stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev"
    elsewhere = api_policy(request_arn("GET", "/beds", other_stage), route_map, token)

    # THEN the same-stage documents are one document, built once; the other stage's are its own
    assert all(document is documents[0] for document in documents)
    assert statements_by_effect(elsewhere)["Allow"] == [
        f"{other_stage}/GET/beds",
        f"{other_stage}/GET/beds/*",
    ]


def test_api_policy_same_grant_set_is_compiled_once_per_map_version() -> None:
    # GIVEN two different tokens that open the same rules
    first = access_token("beds:read", sub="a@example.com", jti="AT.1")
    second = access_token("beds:read", "unrelated", sub="b@example.com", jti="AT.2")
    route_map = sample_map()

    # WHEN both are compiled, against the map and an equal map loaded again
    one = api_policy(request_arn("GET", "/beds"), route_map, first)
    two = api_policy(request_arn("POST", "/beds"), sample_map(), second)

    # THEN the compilation ran once and both decisions share its one document
    info = policy._compile_api_policy.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert two is one


def test_api_policy_new_map_version_is_compiled_again() -> None:
    # GIVEN a token and a map that changes what it opens
    token = TOKENS["nurse"]
    changed = parse_route_map(
        {"/routes": json.dumps({"routes": {**SAMPLE_ROUTES, "GET /beds": {"scopes": ["x"]}}})}
    )

    # WHEN compiled against the old map then the new one
    before = api_policy(request_arn("GET", "/beds"), sample_map(), token)
    after = api_policy(request_arn("GET", "/beds"), changed, token)

    # THEN the new map's policy reflects the new rule
    assert f"{STAGE}/GET/beds" in statements_by_effect(before)["Allow"]
    assert f"{STAGE}/GET/beds" not in statements_by_effect(after)["Allow"]


def test_api_policy_empty_map_denies_whole_stage() -> None:
    # GIVEN an empty route map
    document = api_policy(request_arn("GET", "/beds"), parse_route_map({}), TOKENS["everything"])

    # WHEN / THEN the document is valid and denies everything, the root included
    assert statements_by_effect(document) == {"Deny": [f"{STAGE}/*/*"]}
    assert evaluate(document, request_arn("GET", "/")) == "Deny"
    assert evaluate(document, request_arn("POST", "/a/b/c")) == "Deny"


# --- route mode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "effect"), [(True, "Allow"), (False, "Deny")], ids=["allow", "deny"]
)
def test_route_policy_names_exactly_the_requested_resource(allowed: bool, effect: str) -> None:
    # GIVEN a request ARN
    arn = request_arn("GET", "/beds/7")

    # WHEN
    document = route_policy(MethodArn.parse(arn), allowed)

    # THEN it names the method ARN only, with the decision
    assert statements_by_effect(document) == {effect: [arn]}
    assert evaluate(document, arn) == effect
    assert evaluate(document, request_arn("GET", "/beds/8")) == "ImplicitDeny"
    assert evaluate(document, request_arn("GET", "/beds/7/x")) == "ImplicitDeny"


@pytest.mark.parametrize(
    ("path", "other"),
    [("/beds/*", "/beds/secret/x"), ("/beds/?", "/beds/x")],
    ids=["star", "question"],
)
def test_route_policy_wildcard_in_request_path_never_allows(path: str, other: str) -> None:
    # GIVEN a request whose concrete path holds an IAM wildcard character
    arn = request_arn("GET", path)

    # WHEN the decision was allow
    document = route_policy(arn, True)

    # THEN the compiled policy denies rather than open `/beds/<anything>`
    assert statements_by_effect(document) == {"Deny": [arn]}
    assert evaluate(document, request_arn("GET", other)) == "Deny"


def test_route_policy_matches_powertools_response_in_every_partition() -> None:
    # GIVEN a request ARN in the aws-cn partition
    arn = MethodArn.parse("arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/GET/beds")
    context: dict[str, str | int | bool] = {"sub": "nurse", "exp": 5, "ok": True}
    reference = APIGatewayAuthorizerResponse(
        "nurse", arn.region, arn.account, arn.api_id, arn.stage, context, partition=arn.partition
    )
    reference.allow_route("GET", "beds")

    # WHEN / THEN our response is what Powertools builds when given the partition
    assert iam_response("nurse", route_policy(arn, True), context) == reference.asdict()


# --- responses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "context"),
    [(True, {"sub": "a", "exp": 1, "flag": False}), (False, {"sub": "a"}), (True, {})],
    ids=["allowed", "denied", "no-context"],
)
def test_simple_response_matches_powertools_v2(allowed: bool, context: dict[str, Any]) -> None:
    # WHEN / THEN
    expected = APIGatewayAuthorizerResponseV2(authorize=allowed, context=context).asdict()
    assert simple_response(allowed, context) == expected


def test_iam_response_carries_principal_document_and_context() -> None:
    # GIVEN
    document = route_policy(request_arn("GET", "/beds"), False)

    # WHEN
    response = iam_response("nurse.joy@example.com", document, {"sub": "nurse.joy@example.com"})

    # THEN
    assert response == {
        "principalId": "nurse.joy@example.com",
        "policyDocument": document,
        "context": {"sub": "nurse.joy@example.com"},
    }
    assert "context" not in iam_response("x", document, {})


# --- context --------------------------------------------------------------------------------


def test_build_context_standard_claims_are_scalars() -> None:
    # GIVEN an authorization-code token
    token = access_token("beds:read", "openid")

    # WHEN
    context = build_context(token, ())

    # THEN
    assert context == {
        "sub": "nurse.joy@example.com",
        "cid": "0oa1webapp",
        "uid": "00u1nursejoy",
        "scope": "beds:read openid",
        "iss": ISSUER,
        "jti": "AT.abc",
        "exp": 1_800_003_600,
    }
    assert type(context["exp"]) is int


def test_build_context_absent_claims_are_omitted() -> None:
    # GIVEN a token without cid, uid, jti, scopes
    token = access_token(cid=None, uid=None, jti=None)

    # WHEN
    context = build_context(token, ("groups", "email"))

    # THEN
    assert set(context) == {"sub", "scope", "iss", "exp"}
    assert context["scope"] == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nurse@example.com", "nurse@example.com"),
        (7, 7),
        (True, True),
        (False, False),
        (["Nurses", "Admins"], "Nurses,Admins"),
        ([1, 2], "1,2"),
        ([], ""),
        ({"ward": "north", "floor": 2}, '{"floor":2,"ward":"north"}'),
        (["a", {"b": 1}], '["a",{"b":1}]'),
        ([True, "x"], '[true,"x"]'),
        (1.5, "1.5"),
    ],
    ids=[
        "string",
        "int",
        "true",
        "false",
        "string-list-comma-joined",
        "int-list",
        "empty-list",
        "object-json",
        "mixed-list-json",
        "bool-list-json",
        "float-json",
    ],
)
def test_build_context_extra_claim_becomes_scalar(value: Any, expected: Any) -> None:
    # GIVEN a token with an extra claim
    token = access_token(extra=value)

    # WHEN
    context = build_context(token, ("extra",))

    # THEN
    assert context["extra"] == expected
    assert type(context["extra"]) is type(expected)


@pytest.mark.parametrize("value", [None, float("nan")], ids=["null", "nan"])
def test_build_context_unrepresentable_extra_claim_is_omitted(value: Any) -> None:
    # WHEN / THEN
    assert "extra" not in build_context(access_token(extra=value), ("extra",))


def test_build_context_extra_claim_never_replaces_standard_key() -> None:
    # GIVEN a token whose raw claims disagree with the verified fields
    token = access_token(sub="verified@example.com")
    claims = {**token.claims, "sub": "forged", "exp": "never"}
    forged = token._replace(claims=claims)

    # WHEN sub and exp are asked for as extra claims
    context = build_context(forged, ("sub", "exp"))

    # THEN the verified values stay
    assert context["sub"] == "verified@example.com"
    assert context["exp"] == 1_800_003_600


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("x" * MAX_CONTEXT_VALUE_BYTES, True),
        ("x" * (MAX_CONTEXT_VALUE_BYTES + 1), False),
        ("é" * (MAX_CONTEXT_VALUE_BYTES // 2), True),
        ("é" * (MAX_CONTEXT_VALUE_BYTES // 2 + 1), False),
        (["g" * 500, "h" * 523], True),
        (["g" * 500, "h" * 524], False),
        ({"k": "v" * 1100}, False),
        (10**1100, False),
    ],
    ids=[
        "1KiB-ascii",
        "over-1KiB-ascii",
        "1KiB-utf8",
        "over-1KiB-utf8-under-1K-chars",
        "1KiB-joined-list",
        "over-1KiB-joined-list",
        "over-1KiB-object",
        "huge-int",
    ],
)
def test_build_context_value_over_1kib_is_dropped(value: Any, kept: bool) -> None:
    # GIVEN a token with a large claim and a large sub
    token = access_token(groups=value, sub="s" * 2000)

    # WHEN
    context = build_context(token, ("groups",))

    # THEN a value over 1 KiB is dropped whole, never cut
    assert ("groups" in context) is kept
    if kept:
        assert len(str(context["groups"]).encode("utf-8")) <= MAX_CONTEXT_VALUE_BYTES
    assert "sub" not in context
    assert context["iss"] == ISSUER
