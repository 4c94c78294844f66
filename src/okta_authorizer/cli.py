"""Operator commands: `python -m okta_authorizer demo | routes validate FILE...`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; the exit code is the result."""
    parser = argparse.ArgumentParser(prog="okta-authorizer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the handler on loopback Okta and moto SSM")
    demo.add_argument("-v", "--verbose", action="store_true", help="also print the handler's logs")
    routes = commands.add_parser("routes", help="route-map tools")
    route_commands = routes.add_subparsers(dest="routes_command", required=True)
    validate = route_commands.add_parser("validate", help="check route-map documents")
    validate.add_argument("files", nargs="+", type=Path, help="JSON route-map documents")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from okta_authorizer.localdev.demo import run

        return run(verbose=args.verbose)
    return validate_files(args.files)


def validate_files(files: Sequence[Path]) -> int:
    """Parse and merge route-map documents as the authorizer would; print the verdict."""
    from okta_authorizer.errors import RouteMapError
    from okta_authorizer.routes import parse_route_map

    try:
        documents = {str(path): path.read_text(encoding="utf-8") for path in files}
        route_map = parse_route_map(documents)
    except (OSError, RouteMapError) as error:
        sys.stderr.write(f"invalid: {error}\n")
        return 1
    sys.stdout.write(f"valid: {len(route_map.rules)} routes, version {route_map.version}\n")
    for rule in route_map.rules:
        sys.stdout.write(f"  {rule.key}\n")
    return 0
