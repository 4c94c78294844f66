"""The SAM template: authorizer wiring, least-privilege IAM, the sample API and its route map."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from okta_authorizer.localdev.sample import (
    DEFAULT_TEMPLATE,
    list_sample_api_routes,
    load_sample_route_map,
    load_template,
)
from okta_authorizer.settings import Settings

EXPECTED_ROUTE_MAP = {
    "routes": {
        "GET /beds": {"scopes": ["beds:read"]},
        "GET /beds/{bedId}": {"scopes": ["beds:read", "beds:admin"]},
        "POST /beds/{bedId}/reservations": {"scopes": ["beds:write"]},
        "DELETE /beds/{bedId}/reservations": {
            "scopes": ["beds:write", "beds:admin"],
            "match": "all",
        },
        "ANY /admin/{proxy+}": {"scopes": ["beds:admin"], "claims": {"groups": ["Admins"]}},
        "GET /reports/occupancy": {"scopes": [], "clients": ["0oa1reportingjob"]},
    }
}
ROUTE_MAP_ARN = (
    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${RoutesParameterPath}"
)
HEADER_TOKEN = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


def _authorizer(resources: dict[str, Any]) -> dict[str, Any]:
    auth = resources["SampleApi"]["Properties"]["Auth"]
    return dict(auth["Authorizers"][auth["DefaultAuthorizer"]])


def _statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    policies = resources["AuthorizerRole"]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_template_default_path_is_the_repository_template() -> None:
    assert Path(__file__).resolve().parents[2] / "template.yaml" == DEFAULT_TEMPLATE
    assert DEFAULT_TEMPLATE.is_file()


def test_sample_api_default_authorizer_is_the_okta_token_authorizer(
    resources: dict[str, Any],
) -> None:
    authorizer = _authorizer(resources)
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    assert authorizer["FunctionPayloadType"] == "TOKEN"
    assert authorizer["Identity"]["Header"] == "Authorization"
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"}


def test_sample_api_every_method_uses_the_authorizer(resources: dict[str, Any]) -> None:
    # GIVEN every Api event of every function that targets the sample API
    events = [
        (name, event["Properties"])
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for name, event in (resource["Properties"].get("Events") or {}).items()
        if event["Type"] == "Api"
    ]
    # THEN there are six, none opts out of (or swaps) the default authorizer
    assert len(events) == 6
    default = resources["SampleApi"]["Properties"]["Auth"]["DefaultAuthorizer"]
    for name, props in events:
        assert props["RestApiId"] == {"Ref": "SampleApi"}, name
        assert props.get("Auth", {}).get("Authorizer", default) == default, name


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (f"Bearer {HEADER_TOKEN}", True),
        (f"bearer {HEADER_TOKEN}", True),
        (f"Bearer  {HEADER_TOKEN}", False),
        (f"Basic {HEADER_TOKEN}", False),
        (HEADER_TOKEN, False),
        ("Bearer abc.def", False),
        (f"Bearer {HEADER_TOKEN}.extra", False),
        (f"Bearer {HEADER_TOKEN}=", False),
        (f"Bearer {HEADER_TOKEN} ", False),
        ("Bearer a+b.c/d.e", False),
    ],
    ids=[
        "bearer-jws",
        "lowercase-scheme",
        "two-spaces",
        "basic-scheme",
        "no-scheme",
        "two-segments",
        "four-segments",
        "padding",
        "trailing-space",
        "base64-not-url",
    ],
)
def test_sample_api_validation_expression_header_shape_accepted_only_for_jws(
    resources: dict[str, Any], header: str, accepted: bool
) -> None:
    expression = _authorizer(resources)["Identity"]["ValidationExpression"]
    # API Gateway applies the expression to the whole header value.
    assert (re.fullmatch(expression, header) is not None) is accepted


def test_sample_route_map_covers_every_sample_api_route_and_vice_versa() -> None:
    routes = {f"{method} {path}" for method, path in list_sample_api_routes()}
    _, document = load_sample_route_map()
    assert routes == set(json.loads(document)["routes"])


def test_sample_route_map_is_the_documented_one() -> None:
    name, document = load_sample_route_map()
    assert name == "sample-api"
    assert json.loads(document) == EXPECTED_ROUTE_MAP


def test_sample_route_map_parameter_lives_under_the_routes_path(resources: dict[str, Any]) -> None:
    props = resources["SampleRoutesParameter"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "${RoutesParameterPath}/sample-api"}
    assert props["Type"] == "String"


def test_sample_api_routes_list_method_and_path_of_each_event() -> None:
    assert list_sample_api_routes() == [
        ("GET", "/beds"),
        ("GET", "/beds/{bedId}"),
        ("POST", "/beds/{bedId}/reservations"),
        ("DELETE", "/beds/{bedId}/reservations"),
        ("ANY", "/admin/{proxy+}"),
        ("GET", "/reports/occupancy"),
    ]


def test_load_sample_route_map_name_without_routes_path_raises_value_error(
    tmp_path: Path,
) -> None:
    # GIVEN a copy of the template whose parameter is not under RoutesParameterPath
    text = DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    broken = tmp_path / "template.yaml"
    broken.write_text(
        text.replace('!Sub "${RoutesParameterPath}/sample-api"', "/elsewhere/sample-api"),
        encoding="utf-8",
    )
    # WHEN / THEN
    with pytest.raises(ValueError, match="RoutesParameterPath"):
        load_sample_route_map(broken)


def test_load_template_short_tags_become_intrinsic_functions(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Properties:\n"
        "      R: !Ref X\n"
        "      G: !GetAtt Fn.Arn\n"
        "      S: !Sub ['${a}', {a: !Ref Y}]\n"
        "      I: !If [C, 1, !Ref AWS::NoValue]\n",
        encoding="utf-8",
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "R": {"Ref": "X"},
        "G": {"Fn::GetAtt": ["Fn", "Arn"]},
        "S": {"Fn::Sub": ["${a}", {"a": {"Ref": "Y"}}]},
        "I": {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]},
    }


def test_authorizer_iam_statements_have_no_wildcard_resource_or_action(
    resources: dict[str, Any],
) -> None:
    for statement in _statements(resources):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, statement["Sid"]
        for resource in _as_list(statement["Resource"]):
            assert resource != "*", statement["Sid"]
            assert resource != {"Fn::Sub": "*"}, statement["Sid"]


def test_authorizer_iam_ssm_statement_names_only_the_route_map_path(
    resources: dict[str, Any],
) -> None:
    ssm = [s for s in _statements(resources) if any(a.startswith("ssm:") for a in s["Action"])]
    assert len(ssm) == 1
    assert sorted(ssm[0]["Action"]) == [
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    ]
    assert ssm[0]["Resource"] == [
        {"Fn::Sub": ROUTE_MAP_ARN},
        {"Fn::Sub": ROUTE_MAP_ARN + "/*"},
    ]
    assert "Condition" not in ssm[0]


def test_authorizer_iam_kms_decrypt_only_via_ssm_with_the_aws_ssm_key(
    resources: dict[str, Any],
) -> None:
    kms = [s for s in _statements(resources) if any("kms:" in a for a in _as_list(s["Action"]))]
    assert len(kms) == 1
    assert kms[0]["Action"] == "kms:Decrypt"
    condition = kms[0]["Condition"]
    assert condition["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
    }
    assert condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == "alias/aws/ssm"


def test_authorizer_iam_logs_only_to_its_own_log_group(resources: dict[str, Any]) -> None:
    logs = [s for s in _statements(resources) if any("logs:" in a for a in s["Action"])]
    assert [s["Resource"] for s in logs] == [{"Fn::GetAtt": ["AuthorizerLogGroup", "Arn"]}]
    assert "logs:CreateLogGroup" not in logs[0]["Action"]


def test_authorizer_role_xray_policy_only_when_tracing(resources: dict[str, Any]) -> None:
    managed = resources["AuthorizerRole"]["Properties"]["ManagedPolicyArns"]
    condition, when_on, when_off = managed["Fn::If"]
    assert condition == "TracingEnabled"
    assert when_on == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}
    ]
    assert when_off == {"Ref": "AWS::NoValue"}


def test_authorizer_function_runtime_handler_and_architecture(resources: dict[str, Any]) -> None:
    props = resources["AuthorizerFunction"]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "okta_authorizer.app.lambda_handler"
    assert props["CodeUri"] == "src/"
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert props["Layers"] == [{"Ref": "DepsLayer"}]
    assert props["Role"] == {"Fn::GetAtt": ["AuthorizerRole", "Arn"]}
    assert props["Timeout"] <= 10
    assert resources["AuthorizerFunction"]["Metadata"]["BuildMethod"] == "makefile"


def test_deps_layer_matches_function_runtime_and_architecture(resources: dict[str, Any]) -> None:
    layer = resources["DepsLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/deps/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert layer["Metadata"]["BuildMethod"] == "makefile"


def test_every_function_runs_on_the_architecture_parameter(resources: dict[str, Any]) -> None:
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 2
    for function in functions:
        assert function["Properties"]["Architectures"] == [{"Ref": "Architecture"}]
        assert function["Properties"]["Runtime"] == "python3.13"


def test_parameters_allowed_values_and_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert set(params) == {
        "OktaIssuer",
        "OktaAudience",
        "AllowedClientIds",
        "RoutesParameterPath",
        "PolicyMode",
        "AuthorizerCacheSeconds",
        "StageName",
        "LogLevel",
        "Architecture",
        "EnableTracing",
        "EnableSnapStart",
        "HttpApiSimpleResponses",
    }
    assert params["HttpApiSimpleResponses"]["Default"] == "false"
    assert params["Architecture"]["Default"] == "arm64"
    assert params["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    cache = params["AuthorizerCacheSeconds"]
    assert (cache["MinValue"], cache["MaxValue"], cache["Default"]) == (0, 3600, 300)
    assert params["EnableTracing"]["Default"] == "false"
    assert params["PolicyMode"]["Default"] == "api"
    assert params["AllowedClientIds"]["Default"] == ""


def _evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """The intrinsic functions a template Rule here may use: Ref, Fn::Equals, Fn::Not."""
    if isinstance(expression, dict):
        [(name, argument)] = expression.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Fn::Equals":
            left, right = (_evaluate(item, parameters) for item in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not _evaluate(argument[0], parameters)
        raise AssertionError(f"unsupported intrinsic function {name}")
    return expression


def _rule_violations(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    violations = []
    for name, rule in template["Rules"].items():
        if not _evaluate(rule.get("RuleCondition", True), parameters):
            continue
        for assertion in rule["Assertions"]:
            if not _evaluate(assertion["Assert"], parameters):
                violations.append(name)
    return violations


@pytest.mark.parametrize(
    ("mode", "cache_seconds", "refused"),
    [("route", "300", True), ("route", "0", False), ("api", "300", False), ("api", "0", False)],
    ids=["route-cached", "route-uncached", "api-cached", "api-uncached"],
)
def test_template_rules_refuse_route_mode_with_the_authorizer_cache_on(
    template: dict[str, Any], mode: str, cache_seconds: str, refused: bool
) -> None:
    # GIVEN the parameter values a deployment passes
    parameters = {"PolicyMode": mode, "AuthorizerCacheSeconds": cache_seconds}

    # WHEN the template's Rules are evaluated THEN only route mode with a cache is refused
    assert bool(_rule_violations(template, parameters)) is refused


def test_authorizer_snapstart_opt_in_on_published_versions_behind_the_alias(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # GIVEN the SnapStart parameter, off by default
    assert template["Parameters"]["EnableSnapStart"]["Default"] == "false"
    assert template["Conditions"]["SnapStartEnabled"] == {
        "Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]
    }
    # THEN the function publishes versions behind an alias and snapshots them only when enabled
    properties = resources["AuthorizerFunction"]["Properties"]
    assert properties["AutoPublishAlias"] == "live"
    assert properties["SnapStart"] == {
        "ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}
    }


def test_authorizer_environment_never_logs_the_event(resources: dict[str, Any]) -> None:
    env = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in json.dumps(
        resources["SampleEchoFunction"]["Properties"]
    )


def test_authorizer_tracing_only_when_enabled(resources: dict[str, Any]) -> None:
    props = resources["AuthorizerFunction"]["Properties"]
    assert props["Tracing"] == {"Fn::If": ["TracingEnabled", "Active", {"Ref": "AWS::NoValue"}]}
    trace_disabled = props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"]
    assert trace_disabled == {"Fn::If": ["TracingEnabled", "false", "true"]}


def _resolve(value: Any, parameters: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        assert condition == "TracingEnabled"
        chosen = when_true if parameters["EnableTracing"] == "true" else when_false
        return _resolve(chosen, parameters)
    return value


@pytest.mark.parametrize("tracing", ["false", "true"], ids=["tracing-off", "tracing-on"])
def test_authorizer_environment_with_parameter_defaults_is_valid_settings(
    template: dict[str, Any], tracing: str
) -> None:
    # GIVEN the parameter defaults plus Okta values for the parameters without one
    parameters = {
        name: str(spec["Default"])
        for name, spec in template["Parameters"].items()
        if "Default" in spec
    }
    parameters |= {
        "OktaIssuer": "https://acme.okta.com/oauth2/default",
        "OktaAudience": "api://beds",
        "EnableTracing": tracing,
    }
    variables = template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]
    # WHEN the function's environment is resolved and read as the authorizer does
    env = {k: _resolve(v, parameters) for k, v in variables["Variables"].items()}
    settings = Settings.from_env(env)
    # THEN every variable is accepted and means what the parameter says
    assert env["POWERTOOLS_SERVICE_NAME"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"]
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert settings.issuers == ("https://acme.okta.com/oauth2/default",)
    assert settings.routes_parameter_path == "/okta-authorizer/dev/routes"
    assert settings.policy_mode == "api"
    assert settings.allowed_client_ids is None
    assert settings.tracing is (tracing == "true")


def test_authorizer_log_group_has_retention_and_the_function_name(
    resources: dict[str, Any],
) -> None:
    group = resources["AuthorizerLogGroup"]["Properties"]
    function = resources["AuthorizerFunction"]["Properties"]
    assert group["RetentionInDays"] > 0
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-authorizer"}
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-authorizer"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "AuthorizerLogGroup"}


@pytest.mark.parametrize(
    ("response", "status", "error"),
    [("UNAUTHORIZED", 401, "invalid_token"), ("ACCESS_DENIED", 403, "insufficient_scope")],
    ids=["401", "403"],
)
def test_gateway_response_carries_bearer_challenge_and_json_body(
    resources: dict[str, Any], response: str, status: int, error: str
) -> None:
    spec = resources["SampleApi"]["Properties"]["GatewayResponses"][response]
    assert spec["StatusCode"] == status
    challenge = spec["ResponseParameters"]["Headers"]["WWW-Authenticate"]
    # API Gateway takes a static header value in single quotes.
    assert challenge.startswith("'Bearer ")
    assert challenge.endswith("'")
    assert f'error="{error}"' in challenge
    assert json.loads(spec["ResponseTemplates"]["application/json"])["error"] == error


def test_outputs_name_api_url_authorizer_arn_and_route_map_parameter(
    template: dict[str, Any],
) -> None:
    outputs = template["Outputs"]
    assert "execute-api" in outputs["SampleApiUrl"]["Value"]["Fn::Sub"]
    assert outputs["AuthorizerFunctionArn"]["Value"] == {"Ref": "AuthorizerFunction.Alias"}
    assert outputs["RoutesParameterName"]["Value"] == {"Ref": "SampleRoutesParameter"}


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://acme.okta.com/oauth2/default", True),
        ("https://acme.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9", True),
        ("https://login.acme.com/oauth2/default,https://acme.okta.com/oauth2/aus1", True),
        ("https://your-org.okta.com/oauth2/default", False),
        ("https://acme.okta.com/oauth2/ausXXXXXXXXXXXXXXXXX", False),
        ("https://acme.okta.com/oauth2/default,https://your-org.okta.com/oauth2/x", False),
        ("https://acme.okta.com", False),
        ("http://acme.okta.com/oauth2/default", False),
    ],
    ids=[
        "default-server",
        "custom-server",
        "two-issuers",
        "placeholder-org",
        "placeholder-server",
        "placeholder-second",
        "org-server",
        "plain-http",
    ],
)
def test_okta_issuer_pattern_refuses_placeholders_at_deploy_time(
    template: dict[str, Any], issuer: str, accepted: bool
) -> None:
    # CloudFormation matches AllowedPattern against the whole value (Java regex; the same here).
    pattern = template["Parameters"]["OktaIssuer"]["AllowedPattern"]
    assert (re.fullmatch(pattern, issuer) is not None) is accepted


def test_deps_layer_build_architecture_follows_the_architecture_parameter(
    resources: dict[str, Any],
) -> None:
    # sam build resolves the Ref in Metadata from its --parameter-overrides (quiet arm64 builds).
    layer = resources["DepsLayer"]
    assert layer["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]


def test_sample_http_api_authorizer_is_payload_2_with_invoke_permission_and_route_key(
    resources: dict[str, Any],
) -> None:
    auth = resources["SampleHttpApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] == {"Fn::If": ["HttpApiSimple", True, False]}
    # the route is in the cache key: a simple response holds for one route only
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["Identity"]["Context"] == ["routeKey"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"}
    variables = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SIMPLE_RESPONSES"] == {"Ref": "HttpApiSimpleResponses"}


def test_sample_http_api_routes_are_the_rest_api_routes_all_authorized(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    from okta_authorizer.api_definition import read_template_routes

    # GIVEN the HTTP API events of every function
    events = [
        event["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "HttpApi"
    ]
    # THEN none opts out of the default authorizer, and the one unscoped route map covers them
    assert events
    assert all(props["ApiId"] == {"Ref": "SampleHttpApi"} for props in events)
    assert all("Auth" not in props for props in events)
    http = {r.key for r in read_template_routes(template, "SampleHttpApi")}
    rest = {r.key for r in read_template_routes(template, "SampleApi")}
    assert http == rest
    _, document = load_sample_route_map()
    assert "apis" not in json.loads(document)


def test_sample_routes_file_is_the_templates_sample_route_map() -> None:
    # routes/sample-api.json is generated (make sample-routes): the template is its one source.
    shipped = Path(__file__).resolve().parents[2] / "routes" / "sample-api.json"
    assert shipped.read_text(encoding="utf-8") == load_sample_route_map()[1]
