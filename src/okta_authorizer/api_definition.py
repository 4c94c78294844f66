"""The routes an API defines, read from a SAM template or an OpenAPI 3 / Swagger 2 export."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: OpenAPI operation keys API Gateway accepts, and the key of its "any method" extension.
_OPENAPI_METHODS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}
# Resource types whose inline definition is an OpenAPI document, and the property holding it.
_DEFINITION_PROPERTY = {
    "AWS::Serverless::Api": "DefinitionBody",
    "AWS::Serverless::HttpApi": "DefinitionBody",
    "AWS::ApiGateway::RestApi": "Body",
    "AWS::ApiGatewayV2::Api": "Body",
}
# SAM function event types and the property that names their API.
_EVENT_API_PROPERTY = {"Api": "RestApiId", "HttpApi": "ApiId"}
# The APIs SAM creates when an event names none.
_IMPLICIT_API = {"Api": "ServerlessRestApi", "HttpApi": "ServerlessHttpApi"}


class ApiDefinitionError(ValueError):
    """An API definition cannot be read (not a template or export, or the API is ambiguous)."""


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One route of an API: method (`ANY` for every method), path template, where it is defined."""

    method: str
    path: str
    origin: str

    @property
    def key(self) -> str:
        """The route key as the route map writes it: `METHOD /path`."""
        return f"{self.method} {self.path}"


def read_openapi_routes(document: Mapping[str, Any], origin: str = "openapi") -> list[ApiRoute]:
    """Every (method, path) of an OpenAPI 3 or Swagger 2 document's `paths`, in document order."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise ApiDefinitionError(f"{origin}: no 'paths' object (not an OpenAPI/Swagger document)")
    routes: list[ApiRoute] = []
    for path, item in paths.items():
        if not isinstance(path, str) or not isinstance(item, Mapping):
            continue
        for name in item:
            method = _OPENAPI_METHODS.get(str(name).lower())
            if method is not None:
                routes.append(ApiRoute(method, path, f"{origin} paths.{path}.{name}"))
    return routes


def list_template_apis(template: Mapping[str, Any]) -> list[str]:
    """Logical ids of the APIs a SAM template defines or that its function events attach to."""
    names: dict[str, None] = {}
    for name, resource in _resources(template).items():
        if isinstance(resource, Mapping) and resource.get("Type") in _DEFINITION_PROPERTY:
            names[name] = None
    for _function, _event, api, _props in _api_events(template):
        names[api] = None
    return list(names)


def read_template_routes(template: Mapping[str, Any], api: str | None = None) -> list[ApiRoute]:
    """The routes of one API of a SAM template: function `Api`/`HttpApi` events and the API's
    inline definition (`DefinitionBody`/`Body`), if any.

    `api` is the API's logical id; it may be left out when the template has exactly one API.
    """
    apis = list_template_apis(template)
    if api is None:
        if len(apis) != 1:
            found = ", ".join(apis) or "none"
            raise ApiDefinitionError(
                f"the template has {len(apis)} APIs ({found}): name one (--template-api)"
            )
        api = apis[0]
    elif api not in apis:
        raise ApiDefinitionError(f"the template has no API {api!r} (found: {', '.join(apis)})")
    routes: list[ApiRoute] = []
    resource = _resources(template).get(api)
    if isinstance(resource, Mapping) and resource.get("Type") in _DEFINITION_PROPERTY:
        properties = _mapping(resource.get("Properties"), f"{api}.Properties")
        body = properties.get(_DEFINITION_PROPERTY[resource["Type"]])
        # An inline document only: Fn::Transform / S3 locations are not in the template.
        if isinstance(body, Mapping) and "paths" in body:
            routes.extend(read_openapi_routes(body, f"{api}.DefinitionBody"))
    for function, event, event_api, props in _api_events(template):
        if event_api != api:
            continue
        path, method = props.get("Path"), props.get("Method")
        if not isinstance(path, str) or not isinstance(method, str):
            raise ApiDefinitionError(
                f"{function}.Events.{event}: Path and Method must be literal strings"
            )
        # SAM writes the catch-all method as `any` (any case); API Gateway's route key says ANY.
        routes.append(ApiRoute(method.upper(), path, f"{function}.Events.{event}"))
    return _unique(routes)


def _resources(template: Mapping[str, Any]) -> Mapping[str, Any]:
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        raise ApiDefinitionError("not a CloudFormation/SAM template: no 'Resources'")
    return resources


def _api_events(template: Mapping[str, Any]) -> list[tuple[str, str, str, Mapping[str, Any]]]:
    found: list[tuple[str, str, str, Mapping[str, Any]]] = []
    for name, resource in _resources(template).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = _mapping(resource.get("Properties"), f"{name}.Properties")
        events = _mapping(properties.get("Events"), f"{name}.Events")
        for event_name, event in events.items():
            kind = event.get("Type") if isinstance(event, Mapping) else None
            if kind not in _EVENT_API_PROPERTY:
                continue
            props = _mapping(event.get("Properties"), f"{name}.Events.{event_name}.Properties")
            found.append((name, event_name, _api_name(kind, props), props))
    return found


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    """`value` when it is a mapping, {} when absent; ApiDefinitionError naming `where` otherwise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ApiDefinitionError(f"{where} is not a mapping")
    return value


def _api_name(kind: str, props: Mapping[str, Any]) -> str:
    reference = props.get(_EVENT_API_PROPERTY[kind])
    if reference is None:
        return _IMPLICIT_API[kind]
    if isinstance(reference, Mapping) and isinstance(reference.get("Ref"), str):
        return str(reference["Ref"])
    return str(reference)


def _unique(routes: list[ApiRoute]) -> list[ApiRoute]:
    # A route both in DefinitionBody and as an event is one route: keep the first mention.
    seen: dict[tuple[str, str], ApiRoute] = {}
    for route in routes:
        seen.setdefault((route.method, route.path), route)
    return list(seen.values())
