"""to_request: the three API Gateway authorizer event shapes, read as plain dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from okta_authorizer.app import to_request
from okta_authorizer.errors import ConfigurationError
from okta_authorizer.localdev.events import load_event
from okta_authorizer.settings import Settings

SETTINGS = Settings(issuers=("https://acme.okta.com/oauth2/default",), audiences=("api://x",))
TOKEN = "a.b.c"
HEADER = f"Bearer {TOKEN}"


def event(name: str) -> dict[str, Any]:
    return load_event(name, TOKEN)


def test_to_request_token_event_yields_token_and_method_arn() -> None:
    # GIVEN the sample REST TOKEN event
    sample = event("token.json")

    # WHEN / THEN the token and the ARN are read; the route is left to the ARN
    request = to_request(sample, SETTINGS)
    assert (request.kind, request.authorization, request.arn) == (
        "token",
        HEADER,
        sample["methodArn"],
    )
    assert request.resource is None


@pytest.mark.parametrize(
    "spelling", ["authorization", "Authorization", "AUTHORIZATION"], ids=["lower", "title", "upper"]
)
def test_to_request_request_event_reads_header_in_any_case(spelling: str) -> None:
    # GIVEN the sample REST REQUEST event with the header spelled some way
    sample = event("request.json")
    sample["headers"] = {"accept": "application/json", spelling: HEADER}

    # WHEN / THEN the header is found, with the method and the route template
    request = to_request(sample, SETTINGS)
    assert request.authorization == HEADER
    assert (request.method, request.resource) == ("GET", "/beds/{bedId}")


@pytest.mark.parametrize(
    "headers", [{"accept": "application/json"}, {}, None], ids=["other-headers", "empty", "null"]
)
def test_to_request_request_event_without_header_yields_no_token(headers: Any) -> None:
    # GIVEN a REQUEST event with no Authorization header (API Gateway sends null for no headers)
    sample = event("request.json")
    sample["headers"] = headers

    # WHEN / THEN no token (the verifier answers missing_token, 401)
    assert to_request(sample, SETTINGS).authorization is None


def test_to_request_http_api_event_reads_identity_source_and_route_key() -> None:
    # GIVEN the sample HTTP API 2.0 event, with simple responses on
    sample = event("http-api-v2.json")
    settings = Settings(
        issuers=SETTINGS.issuers, audiences=SETTINGS.audiences, simple_responses=True
    )

    # WHEN
    request = to_request(sample, settings)

    # THEN the route key names the route, and the simple format is asked for
    method, _, resource = sample["routeKey"].partition(" ")
    assert (request.kind, request.authorization, request.arn) == (
        "http",
        HEADER,
        sample["routeArn"],
    )
    assert (request.method, request.resource, request.simple) == (method, resource, True)


def test_to_request_http_api_default_route_matches_the_concrete_method() -> None:
    # GIVEN an HTTP API `$default` route, the token only in the headers
    sample = event("http-api-v2.json")
    sample["routeKey"] = "$default"
    sample["identitySource"] = []
    sample["requestContext"]["http"]["method"] = "PATCH"

    # WHEN / THEN the request's method is used and no route template is named
    request = to_request(sample, SETTINGS)
    assert (request.authorization, request.method, request.resource) == (HEADER, "PATCH", None)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("token.json", "methodArn"),
        ("request.json", "methodArn"),
        ("request.json", "headers"),
        ("http-api-v2.json", "routeKey"),
        ("http-api-v2.json", "routeArn"),
    ],
    ids=["token-arn", "request-arn", "request-headers", "http-route-key", "http-route-arn"],
)
def test_to_request_missing_required_field_is_misconfigured(name: str, field: str) -> None:
    # GIVEN an event without a field API Gateway always sends
    sample = copy.deepcopy(event(name))
    del sample[field]
    if name == "http-api-v2.json":
        sample["identitySource"] = []

    # WHEN / THEN it is a configuration error (500), not a 401 and never an allow
    with pytest.raises(ConfigurationError):
        to_request(sample, SETTINGS)


@pytest.mark.parametrize(
    "value",
    [None, [], "text", {"type": "WEBSOCKET"}, {"type": "TOKEN", "methodArn": 7}],
    ids=["none", "list", "string", "unknown-type", "arn-not-text"],
)
def test_to_request_not_an_authorizer_event_is_misconfigured(value: Any) -> None:
    with pytest.raises(ConfigurationError):
        to_request(value, SETTINGS)
