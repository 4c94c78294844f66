"""Route-map review: API definitions (SAM, OpenAPI), coverage gaps, api-mode overlaps, diffs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from okta_authorizer.api_definition import (
    ApiDefinitionError,
    ApiRoute,
    list_template_apis,
    read_openapi_routes,
    read_template_routes,
)
from okta_authorizer.iam import evaluate
from okta_authorizer.localdev.sample import (
    load_sample_route_map,
    load_template,
)
from okta_authorizer.policy import api_policy
from okta_authorizer.route_review import (
    EXAMPLE_STAGE_ARN,
    diff_route_maps,
    example_token,
    explain_request,
    find_overlaps,
    map_document,
    review_coverage,
)
from okta_authorizer.routes import RouteMap, parse_route_map

NESTED_ROUTES = {
    "GET /beds/{bedId}": {"scopes": ["beds:read"]},
    "GET /beds/{bedId}/notes": {"scopes": ["notes:read"]},
}


def route_map(routes: dict[str, Any], source: str = "/routes/api") -> RouteMap:
    return parse_route_map({source: json.dumps({"routes": routes})})


def sample_map() -> RouteMap:
    name, text = load_sample_route_map()
    return parse_route_map({name: text})


def api(*keys: str) -> list[ApiRoute]:
    return [ApiRoute(*key.split(" ", 1), origin="test") for key in keys]


# -- SAM templates ---------------------------------------------------------------------------------


def test_template_routes_sample_api_lists_every_event() -> None:
    # GIVEN the repository's template
    template = load_template()

    # WHEN its API's routes are read
    routes = read_template_routes(template, "SampleApi")

    # THEN they are the sample API's events, `any` written as ANY, with their origin
    assert len(routes) == 6
    assert routes[4].key == "ANY /admin/{proxy+}"
    assert routes[0].origin == "SampleEchoFunction.Events.ListBeds"


def sam_template() -> dict[str, Any]:
    return {
        "Resources": {
            "BedsApi": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "dev",
                    "DefinitionBody": {
                        "openapi": "3.0.1",
                        "paths": {"/wards": {"get": {}}, "/beds": {"get": {}}},
                    },
                },
            },
            "OtherApi": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "dev"}},
            "Handler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "List": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "BedsApi"},
                                "Path": "/beds",
                                "Method": "get",
                            },
                        },
                        "Admin": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "BedsApi"},
                                "Path": "/admin/{proxy+}",
                                "Method": "any",
                            },
                        },
                        "Other": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "OtherApi"},
                                "Path": "/other",
                                "Method": "POST",
                            },
                        },
                        "Implicit": {
                            "Type": "Api",
                            "Properties": {"Path": "/implicit", "Method": "GET"},
                        },
                        "Queue": {"Type": "SQS", "Properties": {"Queue": "arn"}},
                    }
                },
            },
        }
    }


def test_template_routes_named_api_merges_definition_body_and_events() -> None:
    # GIVEN a template with three APIs, one with an inline DefinitionBody and events
    template = sam_template()

    # WHEN the routes of BedsApi are read
    routes = read_template_routes(template, "BedsApi")

    # THEN the body's paths and the events are merged, duplicates once, method `any` -> ANY
    assert [r.key for r in routes] == ["GET /wards", "GET /beds", "ANY /admin/{proxy+}"]
    assert list_template_apis(template) == ["BedsApi", "OtherApi", "ServerlessRestApi"]
    assert [r.key for r in read_template_routes(template, "ServerlessRestApi")] == ["GET /implicit"]


@pytest.mark.parametrize(
    ("api_name", "message"),
    [(None, "3 APIs"), ("Missing", "no API 'Missing'")],
    ids=["ambiguous-without-name", "unknown-name"],
)
def test_template_routes_ambiguous_or_unknown_api_raises(
    api_name: str | None, message: str
) -> None:
    # GIVEN a template with several APIs
    # WHEN no API or an unknown one is named THEN reading fails, naming the problem
    with pytest.raises(ApiDefinitionError, match=message):
        read_template_routes(sam_template(), api_name)


def test_template_routes_not_a_template_raises() -> None:
    with pytest.raises(ApiDefinitionError, match="Resources"):
        read_template_routes({"openapi": "3.0.1"})


# -- OpenAPI / Swagger exports ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [{"openapi": "3.0.1"}, {"swagger": "2.0"}],
    ids=["openapi-3", "swagger-2"],
)
def test_openapi_routes_methods_and_any_extension_are_read(header: dict[str, str]) -> None:
    # GIVEN an API Gateway export with path-level parameters and the any-method extension
    document = {
        **header,
        "paths": {
            "/beds": {"get": {}, "post": {}, "parameters": [], "summary": "beds"},
            "/beds/{bedId}": {"GET": {}, "delete": {}},
            "/{proxy+}": {"x-amazon-apigateway-any-method": {}, "options": {}},
        },
    }

    # WHEN its routes are read
    routes = read_openapi_routes(document, "export.json")

    # THEN every operation is a route, the extension is ANY, non-operations are skipped
    assert [r.key for r in routes] == [
        "GET /beds",
        "POST /beds",
        "GET /beds/{bedId}",
        "DELETE /beds/{bedId}",
        "ANY /{proxy+}",
        "OPTIONS /{proxy+}",
    ]
    assert routes[0].origin == "export.json paths./beds.get"


def test_openapi_routes_without_paths_raises() -> None:
    with pytest.raises(ApiDefinitionError, match="paths"):
        read_openapi_routes({"openapi": "3.0.1"}, "export.json")


# -- coverage --------------------------------------------------------------------------------------


def test_coverage_sample_map_against_sample_template_is_clean() -> None:
    # GIVEN the sample map and the sample API, both from template.yaml
    # WHEN the map is reviewed against the API
    review = review_coverage(sample_map(), read_template_routes(load_template(), "SampleApi"))

    # THEN nothing is uncovered and nothing is stale
    assert review.uncovered == ()
    assert review.stale == ()
    assert review.clean


def test_coverage_api_route_missing_from_map_is_uncovered() -> None:
    # GIVEN a map that names GET /beds only, and an API that also has GET /beds/{id}
    routes = route_map({"GET /beds": {"scopes": ["beds:read"]}})

    # WHEN reviewed
    review = review_coverage(routes, api("GET /beds", "GET /beds/{id}"))

    # THEN the missing route is a gap with no fallback rule, and the map is not clean
    assert [gap.route.key for gap in review.uncovered] == ["GET /beds/{id}"]
    assert review.uncovered[0].fallback is None
    assert not review.clean


def test_coverage_map_rule_missing_from_api_is_stale() -> None:
    # GIVEN a map with a rule the API no longer has
    routes = route_map({"GET /beds": {"scopes": ["a"]}, "GET /nurses": {"scopes": ["b"]}})

    # WHEN reviewed THEN that rule is stale and nothing is uncovered
    review = review_coverage(routes, api("GET /beds"))
    assert [rule.key for rule in review.stale] == ["GET /nurses"]
    assert review.uncovered == ()


def test_coverage_parameter_names_differ_still_covers() -> None:
    # GIVEN the map and the API name the same path parameter differently
    routes = route_map({"GET /beds/{bedId}": {"scopes": ["a"]}})

    # WHEN reviewed THEN they are the same route (API Gateway ignores the names)
    assert review_coverage(routes, api("GET /beds/{id}")).clean


def test_coverage_any_rule_serves_named_api_routes() -> None:
    # GIVEN a map with ANY /beds and an API with GET and POST /beds
    routes = route_map({"ANY /beds": {"scopes": ["a"]}})

    # WHEN reviewed THEN the ANY rule covers both and is not stale
    assert review_coverage(routes, api("GET /beds", "POST /beds")).clean


def test_coverage_api_any_route_with_only_named_rules_is_partially_uncovered() -> None:
    # GIVEN an API route ANY /admin/{proxy+} and a map naming only GET for it
    routes = route_map({"GET /admin/{proxy+}": {"scopes": ["admin"]}})

    # WHEN reviewed
    review = review_coverage(routes, api("ANY /admin/{proxy+}"))

    # THEN the route is a gap that says which methods are named; the GET rule is not stale
    assert [gap.route.key for gap in review.uncovered] == ["ANY /admin/{proxy+}"]
    assert review.uncovered[0].named_methods == ("GET",)
    assert review.stale == ()


def test_coverage_route_reached_only_by_greedy_rule_is_uncovered_with_fallback() -> None:
    # GIVEN a catch-all map and an API with a specific route
    routes = route_map({"ANY /{proxy+}": {"scopes": ["a"]}})

    # WHEN reviewed
    review = review_coverage(routes, api("GET /beds/{id}"))

    # THEN the route is not named (the policy is inexact) but requests fall back to the catch-all
    assert [gap.route.key for gap in review.uncovered] == ["GET /beds/{id}"]
    fallback = review.uncovered[0].fallback
    assert fallback is not None
    assert fallback.key == "ANY /{proxy+}"
    assert [rule.key for rule in review.stale] == ["ANY /{proxy+}"]


# -- api-mode overlaps -----------------------------------------------------------------------------


def test_overlaps_nested_routes_with_different_scopes_names_both_and_an_example() -> None:
    # GIVEN GET /beds/{bedId} (beds:read) and GET /beds/{bedId}/notes (notes:read)
    routes = route_map(NESTED_ROUTES)

    # WHEN overlaps are searched
    overlaps = find_overlaps(routes)

    # THEN one is found: a notes-only token is denied GET /beds/17/notes by GET/beds/*
    assert [(o.refused.key, o.granted.key) for o in overlaps] == [
        ("GET /beds/{bedId}", "GET /beds/{bedId}/notes")
    ]
    overlap = overlaps[0]
    assert (overlap.method, overlap.path) == ("GET", "/beds/17/notes")
    assert overlap.token.scopes == ("notes:read",)
    assert overlap.deny_resource == f"{EXAMPLE_STAGE_ARN}/GET/beds/*"


def test_overlaps_reported_example_is_really_denied_although_allowed() -> None:
    # GIVEN every overlap found in the nested map and in the sample map
    for routes in (route_map(NESTED_ROUTES), sample_map()):
        overlaps = find_overlaps(routes)
        assert overlaps  # both maps have some: the checks below must run
        for overlap in overlaps:
            # WHEN the example request is judged exactly and by the compiled api-mode policy
            request = f"{EXAMPLE_STAGE_ARN}/{overlap.method}/{overlap.path[1:]}"
            rule = routes.match(overlap.method, overlap.path)

            # THEN the route map allows it and the policy denies it
            assert rule is overlap.granted
            assert rule.check(overlap.token) is None
            assert evaluate(api_policy(request, routes, overlap.token), request) == "Deny"


def test_overlaps_sample_map_admin_proxy_shadows_reservations() -> None:
    # GIVEN the sample map, whose ANY /admin/{proxy+} compiles to */admin/*
    # WHEN overlaps are searched
    overlaps = find_overlaps(sample_map())

    # THEN a writer is denied reservations of a bed whose id is "admin"
    found = {(o.refused.key, o.granted.key, o.method, o.path) for o in overlaps}
    assert found == {
        (
            "ANY /admin/{proxy+}",
            "POST /beds/{bedId}/reservations",
            "POST",
            "/beds/admin/reservations",
        ),
        (
            "ANY /admin/{proxy+}",
            "DELETE /beds/{bedId}/reservations",
            "DELETE",
            "/beds/admin/reservations",
        ),
    }


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (
            {
                "GET /beds/{id}": {"scopes": ["a"]},
                "GET /beds/{id}/notes": {"scopes": ["a", "b"], "match": "all"},
            },
            [],
        ),
        (
            {"GET /beds": {"scopes": ["a"]}, "POST /beds": {"scopes": ["b"]}},
            [],
        ),
        (
            {"GET /files/{p+}": {"scopes": ["f"]}, "GET /files/{id}/meta": {"scopes": ["m"]}},
            [
                ("GET /files/{p+}", "GET /files/{id}/meta"),
                ("GET /files/{id}/meta", "GET /files/{p+}"),
            ],
        ),
        (
            {"ANY /x": {"scopes": ["a"]}, "GET /x": {"scopes": ["b"]}},
            [("ANY /x", "GET /x")],
        ),
        (
            {
                "GET /r/{id}": {"scopes": [], "clients": ["c1"]},
                "GET /r/{id}/raw": {"scopes": [], "clients": ["c1", "c2"]},
            },
            [("GET /r/{id}", "GET /r/{id}/raw")],
        ),
        (
            {
                "GET /r/{id}": {"scopes": ["s"], "claims": {"groups": ["A"]}},
                "GET /r/{id}/raw": {"scopes": ["s"]},
            },
            [("GET /r/{id}", "GET /r/{id}/raw")],
        ),
    ],
    ids=[
        "child-needs-more-no-overlap",
        "different-methods-no-overlap",
        "greedy-and-nested-both-ways",
        "any-rule-denies-named-method",
        "clients-differ",
        "claims-differ",
    ],
)
def test_overlaps_matrix_finds_exactly_the_false_denials(
    routes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    # GIVEN a map WHEN overlaps are searched THEN exactly these (refused, granted) pairs appear
    found = [(o.refused.key, o.granted.key) for o in find_overlaps(route_map(routes))]
    assert sorted(found) == sorted(expected)


def test_overlaps_greedy_example_path_routes_past_nested_rule() -> None:
    # GIVEN GET /files/{p+} and GET /files/{id}/meta with different scopes
    routes = route_map(
        {"GET /files/{p+}": {"scopes": ["f"]}, "GET /files/{id}/meta": {"scopes": ["m"]}}
    )

    # WHEN overlaps are searched
    by_granted = {o.granted.key: o for o in find_overlaps(routes)}

    # THEN the greedy rule's example has more segments, so it is not routed to the nested rule
    greedy = by_granted["GET /files/{p+}"]
    assert greedy.path.count("/") > 3
    assert greedy.path.endswith("/meta")


# -- diff ------------------------------------------------------------------------------------------


def test_diff_added_removed_changed_by_route_key() -> None:
    # GIVEN two maps that share one unchanged, one changed route, and differ in one each
    old = route_map(
        {
            "GET /beds": {"scopes": ["a", "b"]},
            "GET /beds/{id}": {"scopes": ["a"]},
            "GET /gone": {"scopes": []},
        }
    )
    new = route_map(
        {
            "GET /beds": {"scopes": ["b", "a"]},
            "GET /beds/{id}": {"scopes": ["a"], "match": "all", "clients": ["c"]},
            "GET /new": {"scopes": ["n"]},
        },
        source="/other",
    )

    # WHEN diffed
    changes = diff_route_maps(old, new)

    # THEN scope order and the parameter name are no change; the rest is listed by key
    assert [(c.key, c.kind) for c in changes] == [
        ("GET /beds/{id}", "changed"),
        ("GET /gone", "removed"),
        ("GET /new", "added"),
    ]
    assert changes[0].new == {"scopes": ["a"], "match": "all", "clients": ["c"]}


def test_map_document_round_trips_to_the_same_version() -> None:
    # GIVEN the sample map WHEN written as one document and parsed again THEN it is the same map
    original = sample_map()
    again = parse_route_map({"/x": json.dumps(map_document(original))})
    assert again.version == original.version


# -- explain ---------------------------------------------------------------------------------------


def test_explain_overlapping_request_allowed_exactly_denied_in_api_mode() -> None:
    # GIVEN the nested map and a notes-only token
    routes = route_map(NESTED_ROUTES)
    token = example_token(["notes:read"], "0oa1")

    # WHEN GET /beds/17/notes is explained
    explanation = explain_request(routes, "get", "/beds/17/notes", token)

    # THEN the notes rule judges it and allows it; the api-mode policy denies it, and both
    # the Allow and the overlapping Deny are listed
    assert explanation.rule is not None
    assert explanation.rule.key == "GET /beds/{bedId}/notes"
    assert explanation.allowed
    assert explanation.route_effect == "Allow"
    assert explanation.api_effect == "Deny"
    assert sorted(effect for effect, _ in explanation.statements) == ["Allow", "Deny"]


def test_explain_conditions_say_which_one_fails() -> None:
    # GIVEN the sample admin rule (scope beds:admin and group Admins) and a token with the scope
    token = example_token(["beds:admin"], "0oa1", {"groups": ["Nurses"]})

    # WHEN PUT /admin/wards is explained
    explanation = explain_request(sample_map(), "PUT", "/admin/wards", token)

    # THEN the scope is met and the groups claim is not
    assert not explanation.allowed
    assert [(c.name, c.met) for c in explanation.conditions] == [
        ("scopes", True),
        ("claim groups", False),
    ]


def test_explain_unmapped_request_is_denied_unmapped_route() -> None:
    explanation = explain_request(
        sample_map(), "GET", "/nurses", example_token(["beds:read"], None)
    )
    assert explanation.rule is None
    assert explanation.reason == "unmapped_route"
    assert explanation.api_effect != "Allow"


def test_explain_resource_template_is_looked_up_not_matched() -> None:
    # GIVEN a REQUEST event naming the resource template
    token = example_token(["beds:read"], None)

    # WHEN explained with the template
    explanation = explain_request(sample_map(), "GET", "/beds/17", token, resource="/beds/{bedId}")

    # THEN the rule with that template judges it
    assert explanation.rule is not None
    assert explanation.rule.key == "GET /beds/{bedId}"
    assert explanation.allowed
