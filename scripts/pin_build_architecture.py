"""Pin a built template's Architecture parameter to the CPU its layer was compiled for.

`sam build` keeps `Architectures: [!Ref Architecture]` unresolved in the built template, while the
layer in it holds wheels for one CPU only. Narrowing the parameter's AllowedValues to that CPU
makes `sam deploy` of a mismatched build fail at parameter validation instead of at the first cold
start ("invalid ELF header"). Runs with the aws-sam-cli virtualenv's Python (for samcli.yamlhelper).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from samcli.yamlhelper import yaml_dump, yaml_parse


def pin_architecture(template_path: Path, architecture: str) -> None:
    """Set the template's Architecture default and only allowed value to `architecture`."""
    template = yaml_parse(template_path.read_text(encoding="utf-8"))
    parameter = template["Parameters"]["Architecture"]
    if architecture not in parameter["AllowedValues"]:
        raise SystemExit(f"{architecture!r} is not one of {parameter['AllowedValues']}")
    parameter["Default"] = architecture
    parameter["AllowedValues"] = [architecture]
    parameter["Description"] = f"Fixed by the build: its layer holds {architecture} wheels."
    template_path.write_text(yaml_dump(template), encoding="utf-8")


def main() -> None:
    """Command line: pin_build_architecture.py TEMPLATE ARCHITECTURE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("architecture", choices=["arm64", "x86_64"])
    args = parser.parse_args()
    pin_architecture(args.template, args.architecture)


if __name__ == "__main__":
    main()
