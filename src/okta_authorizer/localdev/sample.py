"""The sample API's route map and routes, read from template.yaml (their single source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

#: The repository's SAM template, relative to this file (src/okta_authorizer/localdev/).
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
SAMPLE_PARAMETER_RESOURCE = "SampleRoutesParameter"
SAMPLE_API_RESOURCE = "SampleApi"


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation short tags (!Ref, !Sub, ...) as {"Fn::X": value}."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        # !GetAtt Resource.Attribute is shorthand for the list form.
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(template_path: Path | None = None) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template, short tags included."""
    path = DEFAULT_TEMPLATE if template_path is None else template_path
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TypeError(f"{path} is not a CloudFormation template")
    return document


def load_sample_route_map(template_path: Path | None = None) -> tuple[str, str]:
    """Return (parameter name suffix, JSON text) of the sample route map in the template."""
    resource = load_template(template_path)["Resources"][SAMPLE_PARAMETER_RESOURCE]
    properties = resource["Properties"]
    name = properties["Name"]
    # Name is !Sub "${RoutesParameterPath}/<suffix>": the suffix is what follows the path.
    expression = name.get("Fn::Sub") if isinstance(name, dict) else name
    prefix = "${RoutesParameterPath}/"
    if not isinstance(expression, str) or not expression.startswith(prefix):
        raise ValueError(f"{SAMPLE_PARAMETER_RESOURCE}.Name must be !Sub '{prefix}<name>'")
    value = properties["Value"]
    if not isinstance(value, str):
        raise TypeError(f"{SAMPLE_PARAMETER_RESOURCE}.Value must be a literal JSON string")
    json.loads(value)  # fail here, with the template named, rather than in the demo
    return expression.removeprefix(prefix), value


def list_sample_api_routes(template_path: Path | None = None) -> list[tuple[str, str]]:
    """The (METHOD, path) of every Api event that targets the sample API, in template order."""
    from okta_authorizer.api_definition import read_template_routes

    routes = read_template_routes(load_template(template_path), SAMPLE_API_RESOURCE)
    return [(route.method, route.path) for route in routes]
