"""Operator commands: `python -m okta_authorizer demo | routes validate|diff|push | explain`.

Exit codes: 0 ok, 1 a problem was found (invalid map, gaps, denied request, failed push),
2 usage error (bad arguments, an input file that cannot be read). `explain` exits 0 when the
request would be allowed under `--policy-mode` (default api), 1 when it would be denied (403) or
the token refused (401) or not checkable (500).

A map whose documents name API ids (`"apis"`) is read for one API at a time: pass `--api ID`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from okta_authorizer.api_definition import ApiRoute
    from okta_authorizer.policy import MethodArn
    from okta_authorizer.route_review import Explanation, Overlap, RuleChange
    from okta_authorizer.routes import RouteMap
    from okta_authorizer.tokens import AccessToken

OK, PROBLEM, USAGE = 0, 1, 2
SSM_PREFIX = "ssm:"
#: Largest value of a Standard-tier SSM parameter.
STANDARD_PARAMETER_CHARS = 4096
UNCHECKED_SIGNATURE_BANNER = (
    "!! SIGNATURE NOT CHECKED (no --issuer-keys): header, algorithm, issuer, audience, lifetime\n"
    "!! and client were checked as the authorizer checks them; the signature was not.\n"
)
#: Where `--api` is not given: the API id of the example ARNs.
EXAMPLE_API_ID = "a1b2c3d4e5"


class UsageError(Exception):
    """The command line or an input file is unusable (exit code 2)."""


class ProblemError(Exception):
    """The command ran and found a problem it cannot go past (exit code 1)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; the exit code is the result."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits on --help (0) and on bad arguments (2); callers get the code back.
        return exit_.code if isinstance(exit_.code, int) else USAGE
    try:
        code: int = args.run(args)
    except UsageError as error:
        sys.stderr.write(f"error: {error}\n")
        return USAGE
    except ProblemError as error:
        sys.stderr.write(f"{error}\n")
        return PROBLEM
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okta-authorizer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the handler on loopback Okta and moto SSM")
    demo.add_argument("-v", "--verbose", action="store_true", help="also print the handler's logs")
    demo.set_defaults(run=_run_demo)

    routes = commands.add_parser("routes", help="route-map tools")
    route_commands = routes.add_subparsers(dest="routes_command", required=True)

    validate = route_commands.add_parser(
        "validate", help="check route-map documents, optionally against the API's definition"
    )
    validate.add_argument("files", nargs="+", type=Path, help="JSON route-map documents")
    definition = validate.add_mutually_exclusive_group()
    definition.add_argument("--template", type=Path, help="SAM template defining the API")
    definition.add_argument("--openapi", type=Path, help="OpenAPI 3 / Swagger 2 export (JSON/YAML)")
    validate.add_argument(
        "--template-api", help="logical id of the API in the template (if several)"
    )
    _add_api_option(validate)
    validate.add_argument("--stage", default="dev", help="stage name used in examples")
    validate.add_argument(
        "--strict", action="store_true", help="treat overlap warnings as problems"
    )
    validate.add_argument("--json", action="store_true", help="machine-readable output")
    validate.set_defaults(run=_run_validate)

    diff = route_commands.add_parser("diff", help="rules added, removed or changed")
    diff.add_argument("old", help="route-map file, or ssm:/path to read the live map")
    diff.add_argument("new", help="route-map file, or ssm:/path to read the live map")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when the maps differ")
    _add_api_option(diff)
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(run=_run_diff)

    push = route_commands.add_parser("push", help="validate, diff and write a map to SSM")
    push.add_argument("files", nargs="+", type=Path, help="JSON route-map documents (merged)")
    push.add_argument(
        "--path", required=True, help="ROUTES_PARAMETER_PATH, e.g. /okta-authorizer/dev/routes"
    )
    push.add_argument("--name", default="api", help="parameter name under the path (default: api)")
    push.add_argument("--secure", action="store_true", help="store as SecureString")
    push.add_argument(
        "--tier", choices=["Standard", "Advanced", "Intelligent-Tiering"], help="parameter tier"
    )
    push.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    push.add_argument(
        "--api",
        action="append",
        metavar="ID",
        help='write the document scoped to this API id ("apis"; repeatable)',
    )
    push.add_argument("--json", action="store_true", help="machine-readable output")
    push.set_defaults(run=_run_push)

    _add_explain(commands)
    return parser


def _add_explain(commands: Any) -> None:
    explain = commands.add_parser("explain", help="why a token is allowed or denied a request")
    explain.add_argument("--routes", nargs="+", type=Path, required=True, help="route-map files")
    explain.add_argument("--route", required=True, help='the request, e.g. "GET /beds/17"')
    explain.add_argument(
        "--resource",
        help="the route template a REQUEST / HTTP API event names (e.g. /beds/{bedId})",
    )
    who = explain.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--token-file",
        type=Path,
        help="file holding the access token, checked as the authorizer checks it",
    )
    who.add_argument(
        "--claims", help='claims as JSON, e.g. \'{"scp": ["beds:read"], "cid": "0oa1"}\''
    )
    explain.add_argument("--stage", default="dev", help="stage name used in the policy resources")
    _add_api_option(explain)
    checks = explain.add_argument_group(
        "token checks (--token-file)",
        "Configured like the function: from OKTA_ISSUER, OKTA_AUDIENCE, ALLOWED_CLIENT_IDS (and "
        "CLOCK_SKEW_SECONDS); these flags override them.",
    )
    checks.add_argument("--issuer", help="trusted issuer(s), comma-separated (OKTA_ISSUER)")
    checks.add_argument("--audience", help="accepted audience(s), comma-separated (OKTA_AUDIENCE)")
    checks.add_argument("--client-ids", help="allowed client ids (ALLOWED_CLIENT_IDS)")
    checks.add_argument(
        "--issuer-keys",
        metavar="URL_OR_FILE",
        help="the issuer's JWKS (its keys URL, e.g. https://acme.okta.com/oauth2/default/v1/keys, "
        "or a saved copy): the signature is checked too",
    )
    explain.add_argument(
        "--policy-mode",
        choices=["api", "route"],
        default="api",
        help="the deployed POLICY_MODE, which decides the exit code (default: api)",
    )
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(run=_run_explain)


def _add_api_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        metavar="ID",
        help="the API id (apiId of the method ARN) whose documents to use; needed when documents "
        'name APIs ("apis")',
    )


def _for_api(route_map: RouteMap, api: str | None, where: str = "the map") -> RouteMap:
    """The view of `route_map` that judges API `api`; UsageError when scoped and none given."""
    if api is not None:
        return route_map.for_api(_check_api(api))
    if route_map.apis:
        raise UsageError(
            f"{where} scopes documents to API(s) {', '.join(sorted(route_map.apis))}: "
            "pass --api ID to choose the API"
        )
    return route_map


def _check_api(api: str) -> str:
    from okta_authorizer.routes import API_ID

    if API_ID.fullmatch(api) is None:
        raise UsageError(f"--api {api!r} is not an API id (the apiId of a method ARN)")
    return api


def _run_demo(args: argparse.Namespace) -> int:
    from okta_authorizer.localdev.demo import run

    return run(verbose=args.verbose)


# -- routes validate ------------------------------------------------------------------------------


def _run_validate(args: argparse.Namespace) -> int:
    from okta_authorizer.route_review import find_overlaps, review_coverage

    route_map, problem = _try_load_files(args.files)
    if route_map is None:
        if args.json:
            _write_json({"valid": False, "error": problem})
        else:
            sys.stderr.write(f"invalid: {problem}\n")
        return PROBLEM
    route_map = _for_api(route_map, args.api)
    api_routes, api_origin = _read_api_definition(args)
    overlaps = find_overlaps(route_map, _stage_arn(args.stage, args.api))
    review = None if api_routes is None else review_coverage(route_map, api_routes)
    failed = (review is not None and not review.clean) or (args.strict and bool(overlaps))

    if args.json:
        _write_json(
            {
                "valid": True,
                "version": route_map.version,
                "routes": [rule.key for rule in route_map.rules],
                "api": None if api_routes is None else api_origin,
                "api_routes": None if api_routes is None else [r.key for r in api_routes],
                "uncovered": None
                if review is None
                else [
                    {
                        "route": gap.route.key,
                        "origin": gap.route.origin,
                        "named_methods": list(gap.named_methods),
                        "fallback": None if gap.fallback is None else gap.fallback.key,
                    }
                    for gap in review.uncovered
                ],
                "stale": None if review is None else [rule.key for rule in review.stale],
                "overlaps": [_overlap_json(overlap) for overlap in overlaps],
                "ok": not failed,
            }
        )
        return PROBLEM if failed else OK

    out = sys.stdout.write
    out(f"valid: {len(route_map.rules)} routes, version {route_map.version}\n")
    for rule in route_map.rules:
        out(f"  {rule.key}\n")
    if api_routes is not None and review is not None:
        out(f"api: {len(api_routes)} routes in {api_origin}\n")
        for gap in review.uncovered:
            out(f"uncovered: {gap.route.key} ({gap.route.origin}) {_gap_detail(gap)}\n")
        for rule in review.stale:
            out(f"stale: {rule.key} (from {rule.source}) is not a route of the API\n")
        if review.clean:
            out("coverage: the map names every API route and nothing else\n")
    for overlap in overlaps:
        out(f"warning: {_overlap_text(overlap)}\n")
    problems = 0 if review is None else len(review.uncovered) + len(review.stale)
    verdict = "FAILED" if failed else "ok"
    out(f"result: {verdict} ({problems} problems, {len(overlaps)} overlap warnings)\n")
    return PROBLEM if failed else OK


def _gap_detail(gap: Any) -> str:
    text = "is not named by the map: requests to it are denied (unmapped_route)"
    if gap.named_methods:
        text += f"; the map names only {', '.join(gap.named_methods)} of it"
    if gap.fallback is not None:
        text += (
            f"; TOKEN-authorizer requests fall back to {gap.fallback.key!r}, which makes the "
            "api-mode policy inexact"
        )
    return text


def _overlap_text(overlap: Overlap) -> str:
    return (
        f"in POLICY_MODE=api a token that meets {overlap.granted.key!r} but not "
        f"{overlap.refused.key!r} (e.g. {_token_text(overlap.token)}) is denied "
        f"{overlap.method} {overlap.path}, which the route map allows: the explicit Deny on "
        f"{overlap.deny_resource} covers it. Use POLICY_MODE=route, or change the routes or scopes."
    )


def _overlap_json(overlap: Overlap) -> dict[str, Any]:
    return {
        "refused": overlap.refused.key,
        "granted": overlap.granted.key,
        "request": f"{overlap.method} {overlap.path}",
        "deny_resource": overlap.deny_resource,
        "example_token": _token_json(overlap.token),
    }


def _token_text(token: AccessToken) -> str:
    parts = [f"scopes {list(token.scopes)}"]
    if token.cid is not None:
        parts.append(f"cid {token.cid}")
    parts.extend(
        f"{name} {value}" for name, value in token.claims.items() if name not in ("scp", "cid")
    )
    return ", ".join(parts)


def _token_json(token: AccessToken) -> dict[str, Any]:
    extra = {k: v for k, v in token.claims.items() if k not in ("scp", "cid")}
    return {"scopes": list(token.scopes), "cid": token.cid, "claims": extra}


def _read_api_definition(args: argparse.Namespace) -> tuple[list[ApiRoute] | None, str]:
    from okta_authorizer.api_definition import (
        ApiDefinitionError,
        read_openapi_routes,
        read_template_routes,
    )

    if args.template_api is not None and args.template is None:
        raise UsageError("--template-api needs --template")
    try:
        if args.template is not None:
            from okta_authorizer.localdev.sample import load_template

            template = load_template(args.template)
            routes = read_template_routes(template, args.template_api)
            name = args.template_api or _single_api_name(template)
            return routes, f"{args.template} ({name})"
        if args.openapi is not None:
            document = _load_json_or_yaml(args.openapi)
            if not isinstance(document, Mapping):
                raise UsageError(f"{args.openapi}: not an OpenAPI/Swagger document")
            return read_openapi_routes(document, str(args.openapi)), str(args.openapi)
    except (OSError, ValueError, TypeError, ApiDefinitionError) as error:
        raise UsageError(f"cannot read the API definition: {error}") from None
    return None, ""


def _stage_arn(stage: str, api: str | None = None) -> str:
    """The example API's ARN (or API `api`'s) for `--stage`; UsageError if no ARN can hold it."""
    from okta_authorizer.route_review import EXAMPLE_API_ARN

    api_arn = (
        EXAMPLE_API_ARN if api is None else EXAMPLE_API_ARN.replace(EXAMPLE_API_ID, _check_api(api))
    )
    stage_arn = f"{api_arn}/{stage}"
    parsed = _method_arn(f"{stage_arn}/GET/")
    if parsed is None or parsed.stage_arn != stage_arn:
        raise UsageError(f"--stage {stage!r} is not an API Gateway stage name")
    return stage_arn


def _method_arn(arn: str) -> MethodArn | None:
    from okta_authorizer.errors import AuthorizerError
    from okta_authorizer.policy import MethodArn

    try:
        return MethodArn.parse(arn)
    except AuthorizerError:
        return None


def _single_api_name(template: Mapping[str, Any]) -> str:
    from okta_authorizer.api_definition import list_template_apis

    return list_template_apis(template)[0]


def _load_json_or_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: neither JSON nor YAML: {error}") from None


# -- routes diff ----------------------------------------------------------------------------------


def _run_diff(args: argparse.Namespace) -> int:
    from okta_authorizer.route_review import diff_route_maps

    old = _for_api(_load_source(args.old), args.api, args.old)
    new = _for_api(_load_source(args.new), args.api, args.new)
    changes = diff_route_maps(old, new)
    if args.json:
        _write_json({"changes": [_change_json(change) for change in changes]})
    else:
        _write_changes(changes)
    return PROBLEM if args.exit_code and changes else OK


def _load_source(source: str) -> RouteMap:
    """A route map from a file, or from SSM (`ssm:/path`) exactly as the authorizer reads it."""
    if source.startswith(SSM_PREFIX):
        documents = _read_ssm(source.removeprefix(SSM_PREFIX))
        return _parse(documents, source)
    route_map, problem = _try_load_files([Path(source)])
    if route_map is None:
        raise ProblemError(f"invalid: {problem}")
    return route_map


def _read_ssm(path: str) -> Mapping[str, str]:
    from okta_authorizer.route_store import SsmLoader

    _check_ssm_path(path)
    try:
        return SsmLoader()(path)
    except Exception as error:  # noqa: BLE001 - any SSM/botocore failure is reported, not raised
        raise ProblemError(
            f"cannot read SSM path {path}: {type(error).__name__}: {error}"
        ) from None


def _parse(documents: Mapping[str, str], where: str) -> RouteMap:
    from okta_authorizer.errors import RouteMapError
    from okta_authorizer.routes import parse_route_map

    try:
        return parse_route_map(documents)
    except RouteMapError as error:
        raise ProblemError(f"invalid route map at {where}: {error}") from None


def _write_changes(changes: Sequence[RuleChange]) -> None:
    out = sys.stdout.write
    for change in changes:
        if change.kind == "added":
            out(f"+ {change.key}  {_compact(change.new)}\n")
        elif change.kind == "removed":
            out(f"- {change.key}  {_compact(change.old)}\n")
        else:
            out(f"~ {change.key}\n")
            old, new = change.old or {}, change.new or {}
            for field in sorted(old.keys() | new.keys()):
                if old.get(field) != new.get(field):
                    out(f"    {field}: {_compact(old.get(field))} -> {_compact(new.get(field))}\n")
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in ("added", "removed")}
    changed = len(changes) - counts["added"] - counts["removed"]
    if changes:
        out(
            f"{len(changes)} changes: {counts['added']} added, {counts['removed']} removed, "
            f"{changed} changed\n"
        )
    else:
        out("no changes\n")


def _change_json(change: RuleChange) -> dict[str, Any]:
    return {"route": change.key, "change": change.kind, "old": change.old, "new": change.new}


def _compact(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, separators=(", ", ": "))


# -- routes push ----------------------------------------------------------------------------------


def _run_push(args: argparse.Namespace) -> int:
    from okta_authorizer.route_review import diff_route_maps, map_document

    _check_ssm_path(args.path)
    if not args.name or args.name.startswith("/") or args.name.endswith("/"):
        raise UsageError("--name must be a parameter name below --path, without leading '/'")
    route_map, problem = _try_load_files(args.files)
    if route_map is None:
        raise ProblemError(f"refusing to push an invalid map: {problem}")
    target = f"{args.path}/{args.name}"
    document = map_document(route_map)
    if args.api:
        for api in args.api:
            _for_api(route_map, api)  # checks the id
        document = {"apis": sorted(set(args.api)), "routes": document["routes"]}
    elif route_map.apis:
        scoped = {rule.apis for rule in route_map.rules}
        if len(scoped) != 1 or None in scoped:
            raise UsageError(
                "the files name different APIs: push each API's documents as its own parameter "
                "(--name), or pass --api"
            )
        document = {"apis": sorted(route_map.apis), "routes": document["routes"]}
    value = json.dumps(document, separators=(",", ":"))
    if len(value) > STANDARD_PARAMETER_CHARS and args.tier in (None, "Standard"):
        raise ProblemError(
            f"the map is {len(value)} characters, over the Standard tier's "
            f"{STANDARD_PARAMETER_CHARS}: split it into several parameters (--name) or pass "
            "--tier Advanced"
        )

    live = _read_ssm(args.path)
    from okta_authorizer.errors import RouteMapError
    from okta_authorizer.routes import parse_route_map

    try:
        before = parse_route_map(live)
        live_problem = None
    except RouteMapError as error:
        before = parse_route_map({})
        live_problem = str(error)
    # The authorizer merges every parameter under the path: the new one must fit with the rest.
    after = _parse({**live, target: value}, f"{args.path} with {target} replaced")
    changes = diff_route_maps(before, after)
    unchanged = live.get(target) == value

    if args.json:
        _write_json(
            {
                "parameter": target,
                "version": after.version,
                "live_invalid": live_problem,
                "changes": [_change_json(change) for change in changes],
                "written": not (args.dry_run or unchanged),
            }
        )
    else:
        out = sys.stdout.write
        out(f"valid: {len(route_map.rules)} routes for {target}\n")
        if live_problem is not None:
            out(f"the live map is invalid ({live_problem}); changes are against an empty map\n")
        out(f"changes to the live map under {args.path}:\n")
        _write_changes(changes)
    if unchanged:
        _note(args, f"{target} already holds this map: nothing written")
        return OK
    if args.dry_run:
        _note(args, "dry run: nothing written")
        return OK
    _put_parameter(target, value, secure=args.secure, tier=args.tier)
    _note(args, f"written: {target} ({'SecureString' if args.secure else 'String'})")
    return OK


def _put_parameter(name: str, value: str, *, secure: bool, tier: str | None) -> None:
    import boto3

    request: dict[str, Any] = {
        "Name": name,
        "Value": value,
        "Type": "SecureString" if secure else "String",
        "Overwrite": True,
        "Description": "Okta authorizer route map (written by okta-authorizer routes push)",
    }
    if tier is not None:
        request["Tier"] = tier
    try:
        # Region, credentials and endpoint (AWS_ENDPOINT_URL_SSM) come from boto3's own
        # configuration chain, as for the AWS CLI.
        boto3.client("ssm").put_parameter(**request)
    except Exception as error:  # noqa: BLE001 - any SSM/botocore failure is reported, not raised
        raise ProblemError(f"cannot write {name}: {type(error).__name__}: {error}") from None


def _note(args: argparse.Namespace, text: str) -> None:
    # With --json stdout is the document alone; notes go to stderr.
    (sys.stderr if args.json else sys.stdout).write(text + "\n")


def _check_ssm_path(path: str) -> None:
    if not path.startswith("/") or path.endswith("/") or "//" in path:
        raise UsageError(f"{path!r} is not an SSM path such as /okta-authorizer/dev/routes")


# -- explain --------------------------------------------------------------------------------------


def _run_explain(args: argparse.Namespace) -> int:
    from okta_authorizer.route_review import example_token, explain_request
    from okta_authorizer.routes import METHODS

    method, _, path = args.route.partition(" ")
    method = method.upper()
    if method not in METHODS - {"ANY"} or not path.startswith("/"):
        raise UsageError(
            f'--route must be "METHOD /path" with a concrete method, not {args.route!r}'
        )
    path = path.split("?", 1)[0]
    stage_arn = _stage_arn(args.stage, args.api)
    if _method_arn(f"{stage_arn}/{method}/{path[1:]}") is None:
        raise UsageError(f"--route path {path!r} cannot be part of a method ARN")
    route_map, problem = _try_load_files(args.routes)
    if route_map is None:
        raise ProblemError(f"invalid: {problem}")
    header: dict[str, Any] = {}
    route_map = _for_api(route_map, args.api)
    if args.token_file is not None:
        header, claims, refused = _check_token_file(args)
        if refused is not None:
            return _write_refusal(args, refused, header, claims)
    else:
        claims = _json_object(args.claims, "--claims")
    scopes, scope_problem = _read_scopes(claims)
    cid = claims.get("cid") if isinstance(claims.get("cid"), str) else None
    extra = {k: v for k, v in claims.items() if k not in ("scp", "scope", "cid")}
    token = example_token(scopes, cid, extra)
    explanation = explain_request(
        route_map,
        method,
        path,
        token,
        resource=args.resource,
        stage_arn=stage_arn,
    )
    shown = _ShownToken(
        unverified=args.token_file is not None and args.issuer_keys is None,
        header={k: header[k] for k in ("alg", "kid", "typ") if k in header},
        facts={k: claims[k] for k in ("sub", "cid", "iss", "aud", "exp") if k in claims},
        scopes=scopes,
        notes=_claim_notes(claims, scope_problem)
        + (
            [f"the signature was verified with the keys of {args.issuer_keys}"]
            if args.token_file is not None and args.issuer_keys is not None
            else []
        ),
    )
    if args.json:
        _write_json(_explanation_json(explanation, shown, args.policy_mode))
    else:
        _write_explanation(explanation, shown, args.policy_mode)
    return OK if explanation.effect(args.policy_mode) == "Allow" else PROBLEM


class _ShownToken(NamedTuple):
    """What explain shows of the token it was given."""

    unverified: bool  # read from --token-file, signature not checked (no --issuer-keys)
    header: dict[str, Any]  # alg, kid, typ
    facts: dict[str, Any]  # sub, cid, iss, aud, exp
    scopes: tuple[str, ...]
    notes: list[str]


class _Refusal(NamedTuple):
    """The authorizer's answer to a token it refuses: 401 (invalid) or 500 (cannot check)."""

    status: int
    reason: str
    detail: str


def _check_token_file(
    args: argparse.Namespace,
) -> tuple[dict[str, Any], dict[str, Any], _Refusal | None]:
    """(header, claims, refusal): the token checked as the function's settings check it.

    Every check that needs no network runs; the signature too with --issuer-keys. One more
    check (e.g. remote introspection) is one more step before the claims are returned.
    """
    from okta_authorizer.errors import AuthorizerError, TokenError
    from okta_authorizer.tokens import decode_unverified

    try:
        text = args.token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the token file: {error}") from None
    scheme, space, rest = text.partition(" ")
    token = rest.strip() if space and scheme.lower() == "bearer" else text
    verifier = _token_verifier(args)
    try:
        header, claims = decode_unverified(token)
    except TokenError as error:
        # The message describes the shape only; the token itself is never echoed.
        return {}, {}, _Refusal(401, str(error.reason), f"not a readable JWS: {error.detail}")
    try:
        if args.issuer_keys is None:
            verifier.check_without_key(token)
        else:
            verifier.verify(token)
    except TokenError as error:
        return header, claims, _Refusal(401, str(error.reason), error.detail)
    except AuthorizerError as error:
        return header, claims, _Refusal(500, str(error.reason), error.detail)
    return header, claims, None


def _token_verifier(args: argparse.Namespace) -> Any:
    from okta_authorizer.errors import ConfigurationError
    from okta_authorizer.jwks import KeySet
    from okta_authorizer.settings import token_check_settings
    from okta_authorizer.tokens import TokenVerifier
    from okta_authorizer.upstream import HttpClient

    overrides = {
        name: value
        for name, value in (
            ("OKTA_ISSUER", args.issuer),
            ("OKTA_AUDIENCE", args.audience),
            ("ALLOWED_CLIENT_IDS", args.client_ids),
        )
        if value is not None
    }
    try:
        settings = token_check_settings(overrides)
    except ConfigurationError as error:
        flag = {"OKTA_ISSUER": "--issuer", "OKTA_AUDIENCE": "--audience"}.get(error.variable, "")
        hint = f" (or pass {flag})" if flag else ""
        raise UsageError(f"{error}{hint}") from None
    source = args.issuer_keys
    if source is None:
        fetcher: Any = _NoFetcher()
        jwks_uri = None
    elif "://" in source:
        fetcher, jwks_uri = HttpClient(), source
    else:
        fetcher, jwks_uri = _FileFetcher(Path(source)), None
    key_sets = {
        # A file stands in for the issuer's keys URL (Okta's path; it is never requested).
        issuer: KeySet(issuer, fetcher=fetcher, jwks_uri=jwks_uri or f"{issuer}/v1/keys")
        for issuer in settings.issuers
    }
    return TokenVerifier(settings, key_sets)


class _NoFetcher:
    """Without --issuer-keys nothing is fetched (check_without_key never asks for a key)."""

    def __call__(self, url: str) -> Any:  # noqa: ARG002 - the Fetcher protocol's signature
        from okta_authorizer.upstream import FetchError

        raise FetchError("no --issuer-keys")


class _FileFetcher:
    """A saved JWKS served as the issuer's key set (the file stands in for the keys URL)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __call__(self, url: str) -> Any:  # noqa: ARG002 - the Fetcher protocol's signature
        from okta_authorizer.upstream import FetchError, FetchResult

        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise FetchError(f"cannot read {self._path}: {error}") from None
        return FetchResult(document, None)


def _write_refusal(
    args: argparse.Namespace, refusal: _Refusal, header: dict[str, Any], claims: dict[str, Any]
) -> int:
    shown_header = {k: header[k] for k in ("alg", "kid", "typ") if k in header}
    facts = {k: claims[k] for k in ("sub", "cid", "iss", "aud", "exp", "nbf") if k in claims}
    if args.json:
        _write_json(
            {
                "status": refusal.status,
                "reason": refusal.reason,
                "detail": refusal.detail,
                "signature_checked": args.issuer_keys is not None,
                "token": {**shown_header, **facts},
                "allowed": False,
            }
        )
    else:
        out = sys.stdout.write
        if shown_header:
            out(f"token header: {', '.join(f'{k}={v}' for k, v in shown_header.items())}\n")
        if facts:
            out(f"token: {', '.join(f'{k}={v}' for k, v in facts.items())}\n")
        answer = "401 Unauthorized" if refusal.status == 401 else "500 (retry later)"
        out(f"the authorizer answers {answer} before any route: {refusal.detail}\n")
        out(f"decision: {refusal.status} {refusal.reason}\n")
    return PROBLEM


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{option} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object of claims")
    return value


def _read_scopes(claims: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
    # The verifier rejects malformed scopes (401); here that is reported and read as no scope.
    from okta_authorizer.errors import TokenError
    from okta_authorizer.tokens import read_scopes

    try:
        return read_scopes(claims), None
    except TokenError as error:
        return (), f"{error}: the authorizer would reject the token (401)"


def _claim_notes(claims: Mapping[str, Any], scope_problem: str | None) -> list[str]:
    notes = [] if scope_problem is None else [scope_problem]
    exp = claims.get("exp")
    if type(exp) is int and exp <= time.time():
        notes.append("the token has expired: the authorizer would answer 401 before any route")
    return notes


def _explanation_json(
    explanation: Explanation, shown: _ShownToken, policy_mode: str
) -> dict[str, Any]:
    rule = explanation.rule
    return {
        "unverified": shown.unverified,
        "token": {**shown.header, **shown.facts, "scopes": list(shown.scopes)},
        "request": f"{explanation.method} {explanation.path}",
        "rule": None if rule is None else rule.key,
        "rule_source": None if rule is None else rule.source,
        "conditions": [
            {"name": c.name, "required": c.required, "met": c.met} for c in explanation.conditions
        ],
        "allowed": explanation.allowed,
        "policy_mode": policy_mode,
        "reason": None if explanation.reason is None else str(explanation.reason),
        "resource": explanation.request_resource,
        "api_mode_effect": explanation.api_effect,
        "route_mode_effect": explanation.route_effect,
        "api_mode_statements": [
            {"effect": effect, "resource": resource} for effect, resource in explanation.statements
        ],
        "notes": shown.notes,
    }


def _write_explanation(explanation: Explanation, shown: _ShownToken, policy_mode: str) -> None:
    out = sys.stdout.write
    if shown.unverified:
        out(UNCHECKED_SIGNATURE_BANNER)
    if shown.header:
        out(f"token header: {', '.join(f'{k}={v}' for k, v in shown.header.items())}\n")
    facts = ", ".join(f"{k}={v}" for k, v in shown.facts.items())
    out(f"token: {facts}; scopes {list(shown.scopes)}\n")
    out(f"request: {explanation.method} {explanation.path}\n")
    rule = explanation.rule
    if rule is None:
        out("rule: none - the map names no route for this request\n")
    else:
        out(f"rule: {rule.key} (from {rule.source})\n")
        for condition in explanation.conditions:
            verdict = "met" if condition.met else "NOT met"
            out(f"  {condition.name}: {condition.required}: {verdict}\n")
    decision = "ALLOW" if explanation.allowed else f"DENY ({explanation.reason})"
    out(f"decision: {decision}  [exact route semantics: POLICY_MODE=route, simple responses]\n")
    out(f"POLICY_MODE=api: {explanation.api_effect} for {explanation.request_resource}\n")
    for effect, resource in explanation.statements:
        out(f"  {effect:<5} {resource}\n")
    if not explanation.statements:
        out("  no statement names this request: implicit deny\n")
    api_allows = explanation.api_effect == "Allow"
    if explanation.allowed and not api_allows:
        out(
            "note: the api-mode policy denies what the route map allows (an overlap; "
            "`routes validate` lists them)\n"
        )
    for note in shown.notes:
        out(f"note: {note}\n")
    outcome = "ALLOW" if explanation.effect(policy_mode) == "Allow" else "DENY"
    out(f"outcome with POLICY_MODE={policy_mode}: {outcome}\n")


# -- shared ---------------------------------------------------------------------------------------


def _try_load_files(files: Sequence[Path]) -> tuple[RouteMap | None, str]:
    """Parse and merge files as the authorizer merges parameters; (None, problem) if invalid."""
    from okta_authorizer.errors import RouteMapError
    from okta_authorizer.routes import parse_route_map

    try:
        documents = {str(path): path.read_text(encoding="utf-8") for path in files}
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read a route-map file: {error}") from None
    try:
        return parse_route_map(documents), ""
    except RouteMapError as error:
        return None, str(error)


def _write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")
