"""The route map: parsing and validation, merging, API Gateway's matching order, rule checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okta_authorizer.errors import Reason, RouteMapError
from okta_authorizer.routes import RouteMap, parse_route_map
from okta_authorizer.tokens import AccessToken
from tests.support import SAMPLE_ROUTES, access_token

PARAM = "/okta-authorizer/dev/routes/beds"


# Routes chosen so that every precedence rule decides at least one case below.
PRECEDENCE_ROUTES: dict[str, Any] = {
    "GET /": {"scopes": []},
    "GET /beds": {"scopes": []},
    "GET /beds/special": {"scopes": []},
    "GET /beds/{bedId}": {"scopes": []},
    "ANY /beds/{bedId}": {"scopes": []},
    "GET /beds/{bedId}/notes/{noteId}": {"scopes": []},
    "GET /beds/{bedId}/{rest+}": {"scopes": []},
    "ANY /admin/{proxy+}": {"scopes": []},
    "POST /admin/{section}": {"scopes": []},
    "GET /x/lit/end": {"scopes": []},
    "GET /x/{p}/other": {"scopes": []},
    "ANY /{proxy+}": {"scopes": []},
}


def doc(routes: dict[str, Any]) -> str:
    return json.dumps({"routes": routes})


def sample_map() -> RouteMap:
    return parse_route_map({PARAM: doc(SAMPLE_ROUTES)})


# --- parsing ----------------------------------------------------------------------------------


def test_parse_route_map_sample_document_keeps_every_rule_as_written() -> None:
    # WHEN the design's sample document is parsed
    route_map = sample_map()

    # THEN every route is there with its fields, and its source parameter
    rules = {rule.key: rule for rule in route_map.rules}
    assert set(rules) == set(SAMPLE_ROUTES)
    delete = rules["DELETE /beds/{bedId}"]
    assert (delete.method, delete.path, delete.match) == ("DELETE", "/beds/{bedId}", "all")
    assert delete.scopes == ("beds:write", "beds:admin")
    assert delete.clients is None
    assert delete.source == PARAM
    assert rules["GET /reports"].clients == frozenset({"0oa1reportingjob"})
    assert rules["ANY /admin/{proxy+}"].claims == (("groups", frozenset({"Admins"})),)
    assert rules["GET /beds"].match == "any"


BAD_RULES = [
    ("GET /beds", {"scopes": "beds:read"}, "list of non-empty strings"),
    ("GET /beds", {"scopes": ["beds:read", 7]}, "list of non-empty strings"),
    ("GET /beds", {"scopes": [""]}, "list of non-empty strings"),
    ("GET /beds", {"scopes": ["beds read"]}, "whitespace"),
    ("GET /beds", {}, "'scopes' is required"),
    ("GET /beds", {"scopes": [], "match": "most"}, "'match'"),
    ("GET /beds", {"scopes": [], "match": True}, "'match'"),
    ("GET /beds", {"scopes": [], "clients": []}, "'clients' must not be empty"),
    ("GET /beds", {"scopes": [], "clients": "0oa1"}, "'clients' must be a list"),
    ("GET /beds", {"scopes": [], "claims": ["groups"]}, "'claims' must be an object"),
    ("GET /beds", {"scopes": [], "claims": {"groups": []}}, "'claims.groups' must not be empty"),
    ("GET /beds", {"scopes": [], "claims": {"groups": "Admins"}}, "'claims.groups' must be"),
    ("GET /beds", {"scopes": [], "claims": {"": ["x"]}}, "claim name"),
    ("GET /beds", {"scopes": [], "scope": ["typo"]}, "unknown field(s) ['scope']"),
    ("GET /beds", ["beds:read"], "must be a JSON object"),
    ("get /beds", {"scopes": []}, "method must be one of"),
    ("TRACE /beds", {"scopes": []}, "method must be one of"),
    ("GET  /beds", {"scopes": []}, "'METHOD /path'"),
    ("GET beds", {"scopes": []}, "'METHOD /path'"),
    ("/beds", {"scopes": []}, "'METHOD /path'"),
    ("GET /beds/", {"scopes": []}, "empty segment"),
    ("GET /beds//notes", {"scopes": []}, "empty segment"),
    ("GET /beds/{id+}/notes", {"scopes": []}, "must be the last"),
    ("GET /beds/*", {"scopes": []}, "neither a literal"),
    ("GET /beds/a?b", {"scopes": []}, "neither a literal"),
    ("GET /beds/{}", {"scopes": []}, "neither a literal"),
    ("GET /beds/x{id}", {"scopes": []}, "neither a literal"),
    ("GET /beds/{id}/{id}", {"scopes": []}, "used twice"),
]


@pytest.mark.parametrize(
    ("key", "rule", "problem"),
    BAD_RULES,
    ids=[
        "scopes-string",
        "scopes-non-string",
        "scopes-empty-string",
        "scope-with-space",
        "scopes-missing",
        "match-unknown",
        "match-bool",
        "clients-empty",
        "clients-string",
        "claims-list",
        "claims-empty-values",
        "claims-string-value",
        "claims-empty-name",
        "unknown-field",
        "rule-not-object",
        "method-lowercase",
        "method-unknown",
        "two-spaces",
        "path-without-slash",
        "no-method",
        "trailing-slash",
        "empty-segment",
        "greedy-not-last",
        "wildcard-star",
        "wildcard-question",
        "empty-param-name",
        "param-with-prefix",
        "param-name-twice",
    ],
)
def test_parse_route_map_bad_rule_rejects_whole_map_naming_parameter_and_route(
    key: str, rule: Any, problem: str
) -> None:
    # GIVEN a valid route next to one bad route, in a second, valid document too
    documents = {
        PARAM: doc({"GET /ok": {"scopes": []}, key: rule}),
        "/okta-authorizer/dev/routes/other": doc({"GET /other": {"scopes": []}}),
    }

    # WHEN the map is parsed THEN the whole map is rejected, naming parameter, route and problem
    with pytest.raises(RouteMapError) as caught:
        parse_route_map(documents)
    message = str(caught.value)
    assert caught.value.reason is Reason.ROUTES_UNAVAILABLE
    assert PARAM in message
    assert repr(key) in message
    assert problem in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"routes": {"GET /a": {"scopes": []}}, "routes": {}}', "duplicate key 'routes'"),
        ('{"routes": {"GET /a": {"scopes": []}, "GET /a": {"scopes": []}}}', "duplicate key"),
        ('{"routes": {"GET /a": {"scopes": [], "scopes": ["x"]}}}', "duplicate key 'scopes'"),
        ('{"routes": {"GET /a": {"scopes": [NaN]}}}', "NaN"),
        ('["GET /a"]', "must be a JSON object"),
        ('"routes"', "must be a JSON object"),
        ("{}", "'routes' must be a JSON object"),
        ('{"routes": ["GET /a"]}', "'routes' must be a JSON object"),
        ('{"routes": {}, "version": 2}', "unknown top-level field(s) ['version']"),
        ("[" * 100_000, "not valid JSON"),
    ],
    ids=[
        "invalid-json",
        "empty-text",
        "duplicate-top-level-key",
        "duplicate-route-key-in-object",
        "duplicate-rule-field",
        "nan-constant",
        "array",
        "string",
        "routes-missing",
        "routes-array",
        "unknown-top-level-field",
        "deeply-nested",
    ],
)
def test_parse_route_map_bad_document_rejects_whole_map_naming_parameter(
    text: str, problem: str
) -> None:
    # GIVEN one bad document next to a valid one
    documents = {PARAM: text, "/okta-authorizer/dev/routes/other": doc(SAMPLE_ROUTES)}

    # WHEN / THEN
    with pytest.raises(RouteMapError) as caught:
        parse_route_map(documents)
    assert caught.value.reason is Reason.ROUTES_UNAVAILABLE
    assert PARAM in str(caught.value)
    assert problem in str(caught.value)


def test_parse_route_map_same_route_in_two_documents_names_both_parameters() -> None:
    # GIVEN the same route key in two parameters
    documents = {
        "/routes/a": doc({"GET /beds": {"scopes": ["beds:read"]}}),
        "/routes/b": doc({"GET /beds": {"scopes": ["beds:write"]}}),
    }

    # WHEN / THEN
    with pytest.raises(RouteMapError, match="parameters /routes/a and /routes/b") as caught:
        parse_route_map(documents)
    assert "'GET /beds'" in str(caught.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("GET /beds/{id}", "GET /beds/{bedId}"),
        ("ANY /admin/{proxy+}", "ANY /admin/{rest+}"),
        ("GET /wards/{w}/beds/{b}", "GET /wards/{ward}/beds/{bed}"),
    ],
    ids=["param", "greedy", "two-params"],
)
def test_parse_route_map_same_template_with_other_param_names_is_duplicate(
    first: str, second: str
) -> None:
    # GIVEN two keys that differ only in parameter names, in one document and across two
    one = {PARAM: doc({first: {"scopes": []}, second: {"scopes": []}})}
    two = {"/routes/a": doc({first: {"scopes": []}}), "/routes/b": doc({second: {"scopes": []}})}

    # WHEN / THEN both are rejected, naming both route keys
    for documents in (one, two):
        with pytest.raises(RouteMapError, match="duplicates") as caught:
            parse_route_map(documents)
        assert repr(first) in str(caught.value)
        assert repr(second) in str(caught.value)


def test_parse_route_map_same_path_other_method_is_not_duplicate() -> None:
    # WHEN GET, ANY and POST rules share one template
    route_map = parse_route_map(
        {
            PARAM: doc(
                {
                    "GET /beds/{id}": {"scopes": []},
                    "ANY /beds/{bedId}": {"scopes": []},
                    "POST /beds/{x}": {"scopes": []},
                }
            )
        }
    )

    # THEN all three are kept
    assert len(route_map.rules) == 3


def test_parse_route_map_several_documents_are_merged() -> None:
    # GIVEN the sample split over three parameters
    keys = list(SAMPLE_ROUTES)
    documents = {
        "/routes/1-beds": doc({k: SAMPLE_ROUTES[k] for k in keys[:4]}),
        "/routes/2-admin": doc({keys[4]: SAMPLE_ROUTES[keys[4]]}),
        "/routes/3-reports": doc({keys[5]: SAMPLE_ROUTES[keys[5]]}),
    }

    # WHEN
    merged = parse_route_map(documents)

    # THEN it is the same map as the single document, and each rule knows its parameter
    assert merged == sample_map()
    assert merged.version == sample_map().version
    assert {rule.key: rule.source for rule in merged.rules}["GET /reports"] == "/routes/3-reports"
    assert merged.match("GET", "/admin/users") is not None
    assert merged.match("DELETE", "/beds/4") is not None


def test_parse_route_map_version_ignores_order_and_tracks_content() -> None:
    # GIVEN the sample with its routes and scope lists reversed
    reordered = {
        key: {**rule, "scopes": list(reversed(rule["scopes"]))}
        for key, rule in reversed(SAMPLE_ROUTES.items())
    }
    changed = {**SAMPLE_ROUTES, "GET /beds": {"scopes": ["beds:list"]}}

    # WHEN / THEN equal content gives an equal version, other content another
    assert parse_route_map({"/other": doc(reordered)}).version == sample_map().version
    assert parse_route_map({PARAM: doc(changed)}).version != sample_map().version
    assert len(sample_map().version) == 64


@pytest.mark.parametrize("documents", [{}, {PARAM: doc({})}], ids=["no-documents", "no-routes"])
def test_parse_route_map_empty_is_valid_and_matches_nothing(documents: dict[str, str]) -> None:
    # WHEN
    route_map = parse_route_map(documents)

    # THEN
    assert route_map.rules == ()
    assert route_map.match("GET", "/beds") is None
    assert route_map.match("GET", "/") is None
    assert route_map.lookup("GET", "/beds") is None


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/", "GET /"),
        ("GET", "/beds", "GET /beds"),
        ("GET", "/beds/special", "GET /beds/special"),
        ("POST", "/beds/special", "ANY /beds/{bedId}"),
        ("GET", "/beds/7", "GET /beds/{bedId}"),
        ("DELETE", "/beds/7", "ANY /beds/{bedId}"),
        ("GET", "/beds/7/notes/3", "GET /beds/{bedId}/notes/{noteId}"),
        ("GET", "/beds/7/notes", "GET /beds/{bedId}/{rest+}"),
        ("GET", "/beds/7/x/y/z/w", "GET /beds/{bedId}/{rest+}"),
        ("POST", "/beds/7/notes/3", "ANY /{proxy+}"),
        ("GET", "/admin/users", "ANY /admin/{proxy+}"),
        ("POST", "/admin/users", "POST /admin/{section}"),
        ("POST", "/admin/users/42/roles", "ANY /admin/{proxy+}"),
        ("GET", "/admin", "ANY /{proxy+}"),
        ("HEAD", "/beds", "ANY /{proxy+}"),
        ("GET", "/x/lit/end", "GET /x/lit/end"),
        ("GET", "/x/lit/other", "GET /x/{p}/other"),
        ("GET", "/x/lit/none", "ANY /{proxy+}"),
        ("get", "/beds", "GET /beds"),
    ],
    ids=[
        "root",
        "literal",
        "literal-over-param",
        "param-any-when-method-not-on-literal",
        "named-method-over-any",
        "any-method",
        "two-params-over-greedy",
        "param-then-greedy",
        "greedy-deep",
        "method-falls-through-to-root-proxy",
        "greedy-any",
        "param-over-greedy",
        "greedy-deep-any",
        "greedy-needs-a-segment",
        "head-only-via-any",
        "backtracking-literal",
        "backtracking-to-param",
        "backtracking-to-greedy",
        "lowercase-method",
    ],
)
def test_route_map_match_concrete_request_picks_most_specific_rule(
    method: str, path: str, expected: str
) -> None:
    # GIVEN routes exercising each precedence rule
    route_map = parse_route_map({PARAM: doc(PRECEDENCE_ROUTES)})

    # WHEN
    rule = route_map.match(method, path)

    # THEN
    assert rule is not None
    assert rule.key == expected


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/admin"),
        ("GET", "/admin/"),
        ("GET", "/beds/"),
        ("GET", "//beds"),
        ("GET", "/beds//1"),
        ("PUT", "/beds"),
        ("GET", "/unknown"),
        ("GET", "beds"),
        ("GET", ""),
    ],
    ids=[
        "root-not-mapped",
        "proxy-needs-a-segment",
        "proxy-with-empty-rest",
        "trailing-slash",
        "leading-double-slash",
        "inner-empty-segment",
        "method-not-mapped",
        "path-not-mapped",
        "relative-path",
        "empty-path",
    ],
)
def test_route_map_match_unmapped_request_returns_none(method: str, path: str) -> None:
    # GIVEN the sample map (no root route, no catch-all)
    # WHEN / THEN
    assert sample_map().match(method, path) is None


def test_route_map_match_root_proxy_does_not_match_root() -> None:
    # GIVEN only a catch-all
    route_map = parse_route_map({PARAM: doc({"ANY /{proxy+}": {"scopes": []}})})

    # WHEN / THEN `{proxy+}` needs at least one segment
    assert route_map.match("GET", "/") is None
    deep = route_map.match("DELETE", "/a/b/c/d/e/f/g/h")
    assert deep is not None
    assert deep.key == "ANY /{proxy+}"


@pytest.mark.parametrize(
    ("method", "resource", "expected"),
    [
        ("GET", "/beds/{id}", "GET /beds/{bedId}"),
        ("GET", "/beds/{bedId}", "GET /beds/{bedId}"),
        ("PATCH", "/beds/{x}", "ANY /beds/{bedId}"),
        ("GET", "/beds/special", "GET /beds/special"),
        ("GET", "/admin/{path+}", "ANY /admin/{proxy+}"),
        ("POST", "/admin/{page}", "POST /admin/{section}"),
        ("GET", "/", "GET /"),
        ("get", "/beds", "GET /beds"),
    ],
    ids=[
        "other-param-name",
        "same-param-name",
        "any-fallback",
        "literal",
        "greedy-other-name",
        "param-not-greedy",
        "root",
        "lowercase-method",
    ],
)
def test_route_map_lookup_template_ignores_param_names(
    method: str, resource: str, expected: str
) -> None:
    # GIVEN
    route_map = parse_route_map({PARAM: doc(PRECEDENCE_ROUTES)})

    # WHEN
    rule = route_map.lookup(method, resource)

    # THEN
    assert rule is not None
    assert rule.key == expected


@pytest.mark.parametrize(
    ("method", "resource"),
    [
        ("GET", "/admin/{section}"),
        ("GET", "/beds/{a}/{b}"),
        ("GET", "$default"),
        ("GET", "/beds/"),
        ("GET", "/beds/7"),
    ],
    ids=["no-such-template", "longer-template", "http-default-route", "bad-template", "concrete"],
)
def test_route_map_lookup_unknown_template_returns_none(method: str, resource: str) -> None:
    # GIVEN the sample map
    # WHEN / THEN templates are compared exactly: no matching of one template against another
    assert sample_map().lookup(method, resource) is None


# --- rule checks ------------------------------------------------------------------------------


def rule_of(key: str, body: dict[str, Any]) -> Any:
    route_map = parse_route_map({PARAM: doc({key: body})})
    return route_map.rules[0]


@pytest.mark.parametrize(
    ("match", "held", "expected"),
    [
        ("any", ("beds:read",), None),
        ("any", ("beds:admin", "other"), None),
        ("any", ("other",), Reason.INSUFFICIENT_SCOPE),
        ("any", (), Reason.INSUFFICIENT_SCOPE),
        ("all", ("beds:read", "beds:admin"), None),
        ("all", ("beds:admin", "beds:read", "more"), None),
        ("all", ("beds:read",), Reason.INSUFFICIENT_SCOPE),
        ("all", (), Reason.INSUFFICIENT_SCOPE),
    ],
    ids=[
        "any-one",
        "any-other-one",
        "any-none",
        "any-no-scopes",
        "all-exact",
        "all-superset",
        "all-partial",
        "all-no-scopes",
    ],
)
def test_rule_check_scopes_any_or_all(
    match: str, held: tuple[str, ...], expected: Reason | None
) -> None:
    # GIVEN a rule naming two scopes
    rule = rule_of("GET /beds", {"scopes": ["beds:read", "beds:admin"], "match": match})

    # WHEN / THEN
    assert rule.check(access_token(*held)) == expected


@pytest.mark.parametrize("match", ["any", "all"], ids=["any", "all"])
def test_rule_check_empty_scopes_needs_no_scope(match: str) -> None:
    # GIVEN a rule with no scopes
    rule = rule_of("GET /health", {"scopes": [], "match": match})

    # WHEN / THEN a token without scopes passes
    assert rule.check(access_token()) is None


@pytest.mark.parametrize(
    ("cid", "held", "expected"),
    [
        ("0oa1reportingjob", (), None),
        ("0oa1webapp", (), Reason.CLIENT_NOT_ALLOWED),
        (None, (), Reason.CLIENT_NOT_ALLOWED),
        ("0oa1webapp", ("beds:read",), Reason.CLIENT_NOT_ALLOWED),
    ],
    ids=["listed", "other-client", "no-cid", "scopes-do-not-replace-client"],
)
def test_rule_check_clients(
    cid: str | None, held: tuple[str, ...], expected: Reason | None
) -> None:
    # GIVEN the sample's reports rule: no scope, one client
    rule = {r.key: r for r in sample_map().rules}["GET /reports"]

    # WHEN / THEN
    assert rule.check(access_token(*held, cid=cid)) == expected


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"groups": ["Nurses", "Admins"]}, None),
        ({"groups": "Admins"}, None),
        ({"groups": ["Nurses"]}, Reason.INSUFFICIENT_SCOPE),
        ({"groups": "Nurses"}, Reason.INSUFFICIENT_SCOPE),
        ({"groups": []}, Reason.INSUFFICIENT_SCOPE),
        ({}, Reason.INSUFFICIENT_SCOPE),
        ({"groups": {"Admins": True}}, Reason.INSUFFICIENT_SCOPE),
        ({"groups": [["Admins"]]}, Reason.INSUFFICIENT_SCOPE),
        ({"groups": None}, Reason.INSUFFICIENT_SCOPE),
    ],
    ids=[
        "list-shares",
        "string-equal",
        "list-disjoint",
        "string-other",
        "list-empty",
        "claim-missing",
        "object-claim",
        "nested-list",
        "null-claim",
    ],
)
def test_rule_check_claims(claims: dict[str, Any], expected: Reason | None) -> None:
    # GIVEN the sample's admin rule: scope admin and group Admins
    rule = {r.key: r for r in sample_map().rules}["ANY /admin/{proxy+}"]

    # WHEN / THEN
    assert rule.check(access_token("admin", **claims)) == expected


def test_rule_check_every_claim_entry_must_share_a_value() -> None:
    # GIVEN a rule with two claim conditions
    rule = rule_of(
        "GET /wards", {"scopes": [], "claims": {"groups": ["Nurses"], "ward": ["north", "east"]}}
    )

    # WHEN / THEN one condition met is not enough
    assert rule.check(access_token(groups=["Nurses"], ward="east")) is None
    assert rule.check(access_token(groups=["Nurses"], ward="south")) is Reason.INSUFFICIENT_SCOPE
    assert rule.check(access_token(ward="north")) is Reason.INSUFFICIENT_SCOPE


def test_rule_check_missing_scope_reported_before_client() -> None:
    # GIVEN a rule requiring both a scope and a client
    rule = rule_of("GET /x", {"scopes": ["s"], "clients": ["c"]})

    # WHEN / THEN
    assert rule.check(access_token(cid="other")) is Reason.INSUFFICIENT_SCOPE
    assert rule.check(access_token("s", cid="other")) is Reason.CLIENT_NOT_ALLOWED
    assert rule.check(access_token("s", cid="c")) is None


GRANT_MAP = {
    "GET /beds": {"scopes": ["beds:read"]},
    "POST /beds": {"scopes": ["beds:write", "beds:admin"], "match": "all"},
    "ANY /admin/{proxy+}": {"scopes": [], "claims": {"groups": ["Admins"], "dept": ["icu"]}},
    "GET /reports": {"scopes": [], "clients": ["0oa1reportingjob"]},
}
# Few distinct values, so that profiles repeat and differ only in claims.
claim_values = st.sampled_from(
    [None, "Admins", "icu", ["Admins"], ["icu", "Admins"], ["Nurses"], [1, "Admins"], 3, {"a": 1}]
)
profiles = st.tuples(
    st.sampled_from([[], ["beds:read"], ["beds:write", "beds:admin"]]),
    st.sampled_from([None, "0oa1reportingjob"]),
    claim_values,
    claim_values,
)


def test_route_map_granted_same_scopes_different_claims_are_told_apart() -> None:
    # GIVEN two tokens alike in scopes and client, one in the Admins group of the ICU
    route_map = parse_route_map({PARAM: json.dumps({"routes": GRANT_MAP})})
    plain = access_token("beds:read")
    admin = access_token("beds:read", groups=["Admins"], dept="icu")

    # WHEN / THEN each is granted by its own claims
    assert route_map.granted(plain) == {"GET /beds"}
    assert route_map.granted(admin) == {"GET /beds", "ANY /admin/{proxy+}"}


def _profiled_token(profile: tuple[list[str], str | None, Any, Any], serial: int) -> AccessToken:
    scopes, cid, groups, dept = profile
    claims = {
        name: value for name, value in (("groups", groups), ("dept", dept)) if value is not None
    }
    # sub, jti and a claim no rule names differ per token: none of them may matter
    return access_token(
        *scopes, cid=cid, sub=f"user-{serial}", jti=f"AT.{serial}", ward=f"w{serial}", **claims
    )


@settings(max_examples=300, deadline=None)
@given(first=profiles, second=profiles)
def test_route_map_equal_profiles_meet_exactly_the_same_rules(
    first: tuple[list[str], str | None, Any, Any], second: tuple[list[str], str | None, Any, Any]
) -> None:
    # GIVEN one map and two tokens of random scopes, client and claims
    route_map = parse_route_map({PARAM: json.dumps({"routes": GRANT_MAP})})
    a, b = _profiled_token(first, 1), _profiled_token(second, 2)

    # WHEN their profiles are equal (the verdict cache would share one verdict between them)
    profile = route_map.profile(a)
    if profile is None or profile != route_map.profile(b):
        return

    # THEN every rule judges them alike
    assert [rule.check(a) for rule in route_map.rules] == [
        rule.check(b) for rule in route_map.rules
    ]


@pytest.mark.parametrize(
    "value", [[1, "Admins"], 3, {"a": 1}, True], ids=["mixed-list", "number", "object", "bool"]
)
def test_route_map_profile_of_an_odd_claim_value_is_none(value: Any) -> None:
    # GIVEN a map whose rules name `groups`, and a token whose groups are neither text nor texts
    route_map = parse_route_map({PARAM: json.dumps({"routes": GRANT_MAP})})

    # WHEN / THEN it has no profile: it is judged directly, never through a shared verdict
    assert route_map.profile(access_token("beds:read", groups=value)) is None
