"""Read a samconfig.toml profile the way `sam deploy` does, check it, translate it, deploy it.

Runs with the aws-sam-cli virtualenv's Python: the profile is read by SAM CLI's own deploy command
(its config-file reader and its --parameter-overrides parser), and the template is translated by
SAM's translator as `sam validate` does, so what passes here is what `sam deploy` would send.

    samconfig_params.py check ENV [Name=value ...]         JSON: parameters, problems, resources
    samconfig_params.py architecture ENV [Name=value ...]  the Architecture to build for
    samconfig_params.py deploy ENV [Name=value ...] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "samconfig.toml"
TEMPLATE = REPO / "template.yaml"


def read_profile(config_env: str, config: Path = CONFIG) -> dict[str, Any]:
    """The deploy options of a profile, parsed by SAM CLI's own deploy command."""
    from samcli.commands.deploy.command import cli as deploy
    from samcli.lib.config.samconfig import SamConfig

    context = deploy.make_context(
        "deploy", ["--config-env", config_env, "--config-file", str(config)]
    )
    # The region option is consumed by a callback (not a parameter): read it from the same file.
    every = SamConfig(str(config.parent), config.name).get_all(["deploy"], "parameters", config_env)
    return {**context.params, "region": every.get("region")}


def merge(parameters: dict[str, str], overrides: list[str]) -> dict[str, str]:
    """The profile's parameters with `Name=value` overrides applied one by one (never replaced)."""
    from samcli.cli.types import CfnParameterOverridesType

    if not overrides:
        return dict(parameters)
    return {**parameters, **CfnParameterOverridesType().convert(overrides, None, None)}


def check(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """What CloudFormation would refuse in these parameter values, checked before any AWS call."""
    problems = []
    for name, spec in template["Parameters"].items():
        value = parameters.get(name, spec.get("Default"))
        if value is None:
            problems.append(f"{name}: no value and no default")
            continue
        value = str(value)
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            problems.append(f"{name}={value}: {spec.get('ConstraintDescription', pattern)}")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(item) for item in allowed]:
            problems.append(f"{name}={value}: not one of {allowed}")
        if len(value) < int(spec.get("MinLength", 0)):
            problems.append(f"{name}: shorter than {spec['MinLength']}")
    problems.extend(
        f"unknown parameter {name}" for name in parameters if name not in template["Parameters"]
    )
    return problems


def translate(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """The CloudFormation template SAM's translator makes of `template` (as `sam validate`)."""
    from samcli.lib.translate.sam_template_validator import SamTemplateValidator
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader

    validator = SamTemplateValidator(
        template,
        ManagedPolicyLoader(iam_client=None),  # the template names no managed policy by name
        region=region,
        parameter_overrides=parameters,
    )
    translated: dict[str, Any] = yaml_parse(validator.get_translated_template_if_valid())
    return translated


def _load_template() -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    loaded: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "architecture", "deploy"])
    parser.add_argument("env", help="dev (the default profile) or prod")
    parser.add_argument("overrides", nargs="*", help="Name=value parameter overrides")
    parser.add_argument("--dry-run", action="store_true", help="deploy: print the command only")
    parser.add_argument("--config", type=Path, default=CONFIG, help="the samconfig.toml to read")
    args = parser.parse_args(argv)
    config_env = "default" if args.env == "dev" else args.env
    try:
        profile = read_profile(config_env, args.config.resolve())
    except Exception as error:  # noqa: BLE001 - click's and SAM's errors, reported as SAM would
        sys.stderr.write(f"{args.config} [{config_env}]: {error}\n")
        return 1
    parameters = merge(profile["parameter_overrides"] or {}, args.overrides)
    template = _load_template()
    problems = check(template, parameters)
    if args.command == "check":
        translated = translate(template, parameters, profile["region"])
        report = {
            "env": config_env,
            "stack_name": profile["stack_name"],
            "region": profile["region"],
            "parameters": parameters,
            "problems": problems,
            "resources": translated["Resources"],
        }
        sys.stdout.write(json.dumps(report, indent=1, default=str) + "\n")
        return 0
    if args.command == "architecture":
        sys.stdout.write(parameters.get("Architecture", "arm64") + "\n")
        return 0
    if problems:
        sys.stderr.write(f"samconfig.toml [{config_env}] cannot be deployed as it is:\n")
        for problem in problems:
            sys.stderr.write(f"  {problem}\n")
        sys.stderr.write('Edit samconfig.toml or pass OVERRIDES="Name=value ..." to make deploy.\n')
        return 1
    command = [str(Path(sys.executable).parent / "sam"), "deploy", "--config-env", config_env]
    if args.config.resolve() != CONFIG:
        command += ["--config-file", str(args.config.resolve())]
    if args.overrides:
        # On the command line the list replaces the file's: pass the whole merged list.
        # Quoted: SAM's parser refuses an empty unquoted value (`AllowedClientIds=`).
        listed = [f'{name}="{value}"' for name, value in parameters.items()]
        if merge({}, listed) != parameters:
            sys.stderr.write("a parameter value cannot be passed on the command line\n")
            return 1
        command += ["--parameter-overrides", *listed]
    if args.dry_run:
        sys.stdout.write(" ".join(command) + "\n")
        return 0
    return subprocess.call(command, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
