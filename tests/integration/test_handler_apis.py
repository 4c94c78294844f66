"""One authorizer, several APIs: route-map documents scoped by `"apis"`, through the handler."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from okta_authorizer.localdev.events import load_event
from tests.integration.conftest import Harness
from tests.integration.test_handler import decisions, effect, requested_arn

# The API id of every sample event's ARN, and a second API the same authorizer serves.
EVENT_FILES = ["token.json", "request.json", "http-api-v2.json"]
IDS = ["rest-token", "rest-request", "http-v2"]
# The route key each sample event is judged by.
ROUTE_OF_EVENT = {
    "token.json": "GET /beds",
    "request.json": "GET /beds/{bedId}",
    "http-api-v2.json": "POST /beds/{bedId}/reservations",
}
OTHER_API = "zz9plural9"


@pytest.fixture
def audit(harness: Harness, log_stream: io.StringIO) -> io.StringIO:
    """The decision lines, with metrics on as in production (as in test_handler)."""
    for variable in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        harness.monkeypatch.delenv(variable, raising=False)
    harness.configure()
    return log_stream


def api_of(event: dict[str, Any]) -> str:
    """The apiId of the event's method or route ARN."""
    return requested_arn(event).split(":")[5].split("/")[0]


def for_api(event: dict[str, Any], api_id: str) -> dict[str, Any]:
    """The same request sent to another API of the same account and stage."""
    original = api_of(event)
    text = json.dumps(event).replace(f":{original}/", f":{api_id}/")
    moved: dict[str, Any] = json.loads(text)
    return moved


def put_document(
    harness: Harness, name: str, routes: dict[str, Any], apis: list[str] | None
) -> None:
    document: dict[str, Any] = {"routes": routes}
    if apis is not None:
        document["apis"] = apis
    harness.put_raw(name, json.dumps(document))


@pytest.mark.parametrize("simple", [False, True], ids=["iam-policy", "simple-response"])
@pytest.mark.parametrize("event_file", EVENT_FILES, ids=IDS)
def test_handler_same_route_two_apis_scoped_documents_decide_per_api(
    harness: Harness, event_file: str, simple: bool
) -> None:
    # GIVEN two documents naming the same route for two APIs, each needing its own scope
    route = ROUTE_OF_EVENT[event_file]
    event = load_event(event_file, harness.token(scp=["first:read"]))
    first = api_of(event)
    put_document(harness, "first", {route: {"scopes": ["first:read"]}}, [first])
    put_document(harness, "second", {route: {"scopes": ["second:read"]}}, [OTHER_API])
    harness.configure(SIMPLE_RESPONSES="true" if simple else "false")
    second_event = for_api(event, OTHER_API)

    # WHEN a token holding only the first API's scope calls the route on both APIs
    on_first = harness.invoke(event)
    on_second = harness.invoke(second_event)

    # THEN the first API allows it and the second denies it (403, not 401 or 500)
    assert effect(on_first, event) == "Allow"
    assert effect(on_second, second_event) != "Allow"
    if "policyDocument" in on_first:
        # AND the policy for one API never names another API's resources
        for result, api_id in ((on_first, first), (on_second, OTHER_API)):
            for statement in result["policyDocument"]["Statement"]:
                for resource in statement["Resource"]:
                    assert f":{api_id}/" in resource, resource


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=IDS)
def test_handler_unscoped_document_applies_to_every_api(harness: Harness, event_file: str) -> None:
    # GIVEN the event's route in a document without "apis", and a scoped document beside it
    route = ROUTE_OF_EVENT[event_file]
    event = load_event(event_file, harness.token(scp=["shared:read"]))
    put_document(harness, "shared", {route: {"scopes": ["shared:read"]}}, None)
    put_document(harness, "scoped", {"GET /health": {"scopes": []}}, [OTHER_API])

    # WHEN the same token calls the route on the event's API and on the other one
    second_event = for_api(event, OTHER_API)
    results = [harness.invoke(event), harness.invoke(second_event)]

    # THEN both APIs allow it
    assert [effect(results[0], event), effect(results[1], second_event)] == ["Allow", "Allow"]


def test_handler_duplicate_route_within_one_api_keeps_the_last_good_map(
    harness: Harness, audit: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a warm authorizer serving two APIs from two scoped documents, refreshed on every call
    event = load_event("token.json", harness.token(scp=["first:read"]))
    first = api_of(event)
    put_document(harness, "first", {"GET /beds": {"scopes": ["first:read"]}}, [first])
    put_document(harness, "second", {"GET /beds": {"scopes": ["second:read"]}}, [OTHER_API])
    harness.configure(ROUTES_CACHE_SECONDS="0")
    assert effect(harness.invoke(event), event) == "Allow"

    # WHEN a third document names GET /beds for the first API again, denying this caller
    put_document(harness, "third", {"GET /beds": {"scopes": ["admin"]}}, [first, "other1"])
    result = harness.invoke(event)

    # THEN the new map is rejected as a whole: the last good one still decides, and says so
    assert effect(result, event) == "Allow"
    assert decisions(audit)[-1].get("RoutesStaleServed") == 1
    assert f"route 'GET /beds' duplicates route 'GET /beds' for API {first}" in caplog.text
