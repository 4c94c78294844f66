"""The route map: parse and validate its documents, match a request to its rule, check a token."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from okta_authorizer.errors import Reason, RouteMapError

if TYPE_CHECKING:
    from okta_authorizer.tokens import AccessToken

MatchMode = Literal["any", "all"]

#: Methods a route key may name, as API Gateway writes them.
METHODS: frozenset[str] = frozenset(
    {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
)
_RULE_FIELDS = frozenset({"scopes", "match", "clients", "claims"})
_ROUTE_KEY = re.compile(r"(?P<method>[A-Za-z]+) (?P<path>/\S*)")
# RFC 3986 path characters without '%', '*' and '?': IAM reads '*' and '?' in a policy Resource as
# wildcards, so a literal segment holding them could not be compiled into an exact resource.
_LITERAL = re.compile(r"[A-Za-z0-9._~:@!$&'()+,;=-]+")
#: What an execute-api ARN can hold as its API id (no "/", ":" or IAM wildcards).
API_ID = re.compile(r"[A-Za-z0-9]+")
_PARAM = re.compile(r"\{(?P<name>[A-Za-z0-9._-]+)(?P<greedy>\+?)\}")

# Segment kinds of a path template; the order is API Gateway's precedence (higher wins).
_GREEDY, _PARAM_KIND, _LITERAL_KIND = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Rule:
    """One route of the map and the condition a token must meet to use it."""

    key: str
    method: str
    path: str
    scopes: tuple[str, ...]
    match: MatchMode = "any"
    clients: frozenset[str] | None = None
    claims: tuple[tuple[str, frozenset[str]], ...] = ()
    source: str = ""
    #: The API ids (`apiId` of the method or route ARN) the rule's document names; None: every API.
    apis: frozenset[str] | None = None
    _scope_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_scope_set", frozenset(self.scopes))

    def check(self, token: AccessToken) -> Reason | None:
        """None if the token meets this rule, else the reason it does not."""
        if self._scope_set:
            held = self._scope_set.intersection(token.scopes)
            enough = held == self._scope_set if self.match == "all" else bool(held)
            if not enough:
                return Reason.INSUFFICIENT_SCOPE
        if self.clients is not None and token.cid not in self.clients:
            return Reason.CLIENT_NOT_ALLOWED
        for name, accepted in self.claims:
            if not _claim_shares(token.claims.get(name), accepted):
                return Reason.INSUFFICIENT_SCOPE
        return None

    @property
    def segments(self) -> tuple[str, ...]:
        """The path template's segments as written (empty for the root path)."""
        return _split_template(self.path)

    @property
    def shape(self) -> tuple[str, ...]:
        """The template with parameter names erased: `{}` for `{name}`, `{+}` for `{name+}`."""
        return _shape(self.segments)

    def applies_to(self, api_id: str) -> bool:
        """True when the rule judges requests to the API `api_id`."""
        return self.apis is None or api_id in self.apis


def _claim_shares(value: Any, accepted: frozenset[str]) -> bool:
    if isinstance(value, str):
        return value in accepted
    if isinstance(value, list | tuple):
        return any(isinstance(item, str) and item in accepted for item in value)
    return False


class _Node:
    """One level of the matching trie: literal children, a `{name}` child, greedy rules."""

    __slots__ = ("greedy", "literals", "param", "rules")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.rules: dict[str, Rule] = {}  # method -> rule ending exactly at this node
        self.greedy: dict[str, Rule] = {}  # method -> rule whose `{name+}` starts below this node


@dataclass(frozen=True, eq=False, slots=True)
class RouteMap:
    """A validated, merged route map; equal content gives an equal `version` (and equality).

    An empty map is valid: it names no route, so every request is unmapped and denied.
    """

    rules: tuple[Rule, ...]
    version: str
    _literal: dict[tuple[str, str], Rule] = field(repr=False)
    _by_shape: dict[tuple[str, tuple[str, ...]], Rule] = field(repr=False)
    _root: _Node = field(repr=False)
    # Which rules a token meets depends only on its scopes, `cid` and the claims the rules name
    # (its `profile`): the service remembers its verdicts per profile.
    _claim_names: tuple[str, ...] = field(default=(), repr=False)
    # for_api's views: one per API id a document names, one ("") shared by every other API id, so
    # the cache is bounded by the map itself, whatever ids the events carry.
    _views: dict[str, RouteMap] = field(default_factory=dict, repr=False)
    #: Every API id a document of the map names (empty when no document is scoped).
    apis: frozenset[str] = frozenset()

    def for_api(self, api_id: str) -> RouteMap:
        """The map that judges requests to API `api_id`: the rules of the documents applying to it.

        Its version differs per view (and from the whole map's), so caches keyed by a version
        never mix two APIs' decisions.
        """
        name = api_id if api_id in self.apis else ""
        view = self._views.get(name)
        if view is None:
            rules = tuple(rule for rule in self.rules if rule.apis is None or name in rule.apis)
            view = _build(rules, version=f"{self.version}/{name or '*'}")
            self._views[name] = view
        return view

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteMap) and other.version == self.version

    def __hash__(self) -> int:
        return hash(self.version)

    def granted(self, token: AccessToken) -> frozenset[str]:
        """The keys of every rule the token meets (`Rule.check` is None)."""
        return frozenset(rule.key for rule in self.rules if rule.check(token) is None)

    def profile(self, token: AccessToken) -> tuple[Any, ...] | None:
        """What this map's rules can see of a token (scopes, `cid`, the claims they name).

        Tokens with equal profiles meet exactly the same rules. None for a claim value the
        profile cannot hold (not a string or a list of strings): judge such a token directly.
        """
        if not self._claim_names:  # the common map: scopes and clients only
            return (token.scopes, token.cid, ())
        values: list[Any] = []
        for name in self._claim_names:
            value = token.claims.get(name)
            if value is None or type(value) is str:
                values.append(value)
            elif type(value) is list and all(type(item) is str for item in value):
                values.append(tuple(value))
            else:
                return None  # an odd claim value: judged directly, never cached
        return (token.scopes, token.cid, tuple(values))

    def match(self, method: str, path: str) -> Rule | None:
        """The rule API Gateway would route a concrete request to, or None if no rule matches.

        Most specific path first (segment by segment: literal over `{name}` over `{name+}`), then
        a named method over `ANY`. A path with an empty segment (`//`, a trailing `/`) matches
        nothing.
        """
        method = method.upper()
        exact = self._literal.get((method, path)) or self._literal.get(("ANY", path))
        if exact is not None:
            return exact
        if not path.startswith("/"):
            return None
        segments = () if path == "/" else tuple(path[1:].split("/"))
        if "" in segments:
            return None
        return _walk(self._root, segments, 0, method)

    def lookup(self, method: str, resource: str) -> Rule | None:
        """The rule for an API Gateway resource template or HTTP API route path (`/beds/{id}`).

        Parameter names are ignored; a named method wins over `ANY`.
        """
        try:
            shape = _shape(_split_template(resource))
        except ValueError:
            return None
        method = method.upper()
        return self._by_shape.get((method, shape)) or self._by_shape.get(("ANY", shape))


def _walk(node: _Node, segments: tuple[str, ...], index: int, method: str) -> Rule | None:
    # Depth-first in precedence order, so the first complete match is the most specific one.
    if index == len(segments):
        return node.rules.get(method) or node.rules.get("ANY")
    child = node.literals.get(segments[index])
    if child is not None:
        found = _walk(child, segments, index + 1, method)
        if found is not None:
            return found
    if node.param is not None:
        found = _walk(node.param, segments, index + 1, method)
        if found is not None:
            return found
    return node.greedy.get(method) or node.greedy.get("ANY")


def _split_template(path: str) -> tuple[str, ...]:
    if not path.startswith("/"):
        raise ValueError("the path must start with '/'")
    if path == "/":
        return ()
    segments = tuple(path[1:].split("/"))
    for position, segment in enumerate(segments):
        if not segment:
            raise ValueError("the path has an empty segment")
        param = _PARAM.fullmatch(segment)
        if param is None:
            if _LITERAL.fullmatch(segment) is None:
                raise ValueError(f"segment {segment!r} is neither a literal nor {{name}}")
        elif param["greedy"] and position != len(segments) - 1:
            raise ValueError(f"greedy segment {segment!r} must be the last one")
    return segments


def _shape(segments: tuple[str, ...]) -> tuple[str, ...]:
    shape: list[str] = []
    for segment in segments:
        param = _PARAM.fullmatch(segment)
        if param is None:
            shape.append(segment)
        else:
            shape.append("{+}" if param["greedy"] else "{}")
    return tuple(shape)


def parse_route_map(documents: Mapping[str, str]) -> RouteMap:
    """Parse and merge route-map documents (SSM parameter name -> JSON text) into one RouteMap.

    Any problem in any document rejects the whole map with RouteMapError naming the parameter
    and the route. No documents, or documents with no routes, give a valid empty map that denies
    every request.
    """
    rules: list[Rule] = []
    seen: dict[tuple[str, tuple[str, ...]], list[Rule]] = {}
    for source in sorted(documents):
        for rule in _parse_document(source, documents[source]):
            shape_key = (rule.method, rule.shape)
            same_shape = seen.setdefault(shape_key, [])
            # The same route for two different APIs is fine; twice for one API is not.
            previous = next((other for other in same_shape if _share_an_api(other, rule)), None)
            if previous is not None:
                where = (
                    f"parameter {source}"
                    if previous.source == source
                    else f"parameters {previous.source} and {source}"
                )
                raise RouteMapError(
                    f"{where}: route {rule.key!r} duplicates route {previous.key!r}"
                    f"{_api_text(previous, rule)}",
                    reason=Reason.ROUTES_UNAVAILABLE,
                )
            same_shape.append(rule)
            rules.append(rule)
    return _build(tuple(rules))


def _share_an_api(one: Rule, other: Rule) -> bool:
    return one.apis is None or other.apis is None or not one.apis.isdisjoint(other.apis)


def _api_text(one: Rule, other: Rule) -> str:
    if one.apis is None and other.apis is None:
        return ""
    if one.apis is not None and other.apis is not None:
        return f" for API {', '.join(sorted(one.apis & other.apis))}"
    return " (a document without 'apis' applies to every API)"


def _build(rules: tuple[Rule, ...], *, version: str | None = None) -> RouteMap:
    literal: dict[tuple[str, str], Rule] = {}
    by_shape: dict[tuple[str, tuple[str, ...]], Rule] = {}
    root = _Node()
    for rule in rules:
        # Within one API's view a shape occurs once; in a whole map with scoped documents the
        # first rule stands in (for_api gives the exact view).
        by_shape.setdefault((rule.method, rule.shape), rule)
        shape = rule.shape
        if all(not part.startswith("{") for part in shape):
            literal.setdefault((rule.method, rule.path), rule)
        node = root
        for part in shape:
            if part == "{+}":
                node.greedy.setdefault(rule.method, rule)
                break
            if part == "{}":
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literals.setdefault(part, _Node())
        else:
            node.rules.setdefault(rule.method, rule)
    claim_names = tuple(sorted({name for rule in rules for name, _ in rule.claims}))
    return RouteMap(
        rules=rules,
        version=_version(rules) if version is None else version,
        _literal=literal,
        _by_shape=by_shape,
        _root=root,
        _claim_names=claim_names,
        apis=frozenset(api for rule in rules for api in rule.apis or ()),
    )


def _version(rules: tuple[Rule, ...]) -> str:
    # The parameter a rule came from and the order of rules and lists are not part of the
    # semantics, so they are left out: the same routes give the same version however stored.
    # A rule's APIs are appended only when its document names some, so an unscoped map keeps
    # the version it had before documents could be scoped.
    canonical = sorted(
        [
            rule.key,
            sorted(rule.scopes),
            rule.match,
            None if rule.clients is None else sorted(rule.clients),
            [[name, sorted(values)] for name, values in rule.claims],
        ]
        + ([] if rule.apis is None else [sorted(rule.apis)])
        for rule in rules
    )
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one JSON object")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_document(source: str, text: str) -> list[Rule]:
    try:
        document = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except (ValueError, TypeError, RecursionError) as error:
        raise RouteMapError(
            f"parameter {source}: not valid JSON: {error}", reason=Reason.ROUTES_UNAVAILABLE
        ) from None
    if not isinstance(document, dict):
        raise _document_error(source, "must be a JSON object")
    unknown = sorted(set(document) - {"routes", "apis"})
    if unknown:
        raise _document_error(source, f"unknown top-level field(s) {unknown}")
    routes = document.get("routes")
    if not isinstance(routes, dict):
        raise _document_error(source, "'routes' must be a JSON object of 'METHOD /path' keys")
    apis = _apis(source, document["apis"]) if "apis" in document else None
    return [_parse_rule(source, key, body, apis) for key, body in routes.items()]


def _apis(source: str, value: Any) -> frozenset[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and API_ID.fullmatch(item) for item in value)
    ):
        raise _document_error(
            source, "'apis' must be a non-empty list of API ids (the apiId of the method ARN)"
        )
    return frozenset(value)


def _document_error(source: str, problem: str) -> RouteMapError:
    return RouteMapError(f"parameter {source}: {problem}", reason=Reason.ROUTES_UNAVAILABLE)


def _rule_error(source: str, key: str, problem: str) -> RouteMapError:
    return RouteMapError(
        f"parameter {source}, route {key!r}: {problem}", reason=Reason.ROUTES_UNAVAILABLE
    )


def _parse_rule(source: str, key: str, body: Any, apis: frozenset[str] | None = None) -> Rule:
    written = _ROUTE_KEY.fullmatch(key)
    if written is None:
        raise _rule_error(source, key, "the route key must be 'METHOD /path'")
    method, path = written["method"], written["path"]
    if method not in METHODS:
        raise _rule_error(source, key, f"method must be one of {sorted(METHODS)}")
    try:
        segments = _split_template(path)
    except ValueError as error:
        raise _rule_error(source, key, f"bad path: {error}") from None
    names = [p["name"] for p in map(_PARAM.fullmatch, segments) if p is not None]
    if len(names) != len(set(names)):
        raise _rule_error(source, key, "a path parameter name is used twice")
    if not isinstance(body, dict):
        raise _rule_error(source, key, "the rule must be a JSON object")
    unknown = sorted(set(body) - _RULE_FIELDS)
    if unknown:
        raise _rule_error(source, key, f"unknown field(s) {unknown}")
    if "scopes" not in body:
        raise _rule_error(source, key, "'scopes' is required (use [] for no scope)")
    scopes = _strings(source, key, "scopes", body["scopes"], allow_empty=True)
    if any(any(char.isspace() for char in scope) for scope in scopes):
        raise _rule_error(source, key, "a scope must not contain whitespace")
    match = body.get("match", "any")
    if match not in ("any", "all"):
        raise _rule_error(source, key, '\'match\' must be "any" or "all"')
    clients = None
    if "clients" in body:
        clients = frozenset(_strings(source, key, "clients", body["clients"], allow_empty=False))
    claims = _claims(source, key, body.get("claims", {}))
    return Rule(
        key=key,
        method=method,
        path=path,
        scopes=scopes,
        match="all" if match == "all" else "any",
        clients=clients,
        claims=claims,
        source=source,
        apis=apis,
    )


def _strings(source: str, key: str, name: str, value: Any, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _rule_error(source, key, f"'{name}' must be a list of non-empty strings")
    if not value and not allow_empty:
        raise _rule_error(source, key, f"'{name}' must not be empty")
    return tuple(dict.fromkeys(value))


def _claims(source: str, key: str, value: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(value, dict):
        raise _rule_error(source, key, "'claims' must be an object of claim name -> list")
    claims: list[tuple[str, frozenset[str]]] = []
    for name, accepted in sorted(value.items()):
        if not name:
            raise _rule_error(source, key, "a claim name must not be empty")
        values = _strings(source, key, f"claims.{name}", accepted, allow_empty=False)
        claims.append((name, frozenset(values)))
    return tuple(claims)
