"""`sam build` output: layer wheels for the target CPU and Python, precompiled, no extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from okta_authorizer.localdev.sample import load_template

REPO = Path(__file__).resolve().parents[2]
# (make target, build dir, architecture, machine in wheel tags)
BUILDS = {
    "arm64": ("build", REPO / ".aws-sam" / "build", "aarch64"),
    "x86_64": ("build-emulator", REPO / ".aws-sam" / "emulator", "x86_64"),
}
NOT_SHIPPED = ("boto3", "botocore", "s3transfer", "jose", "ecdsa", "rsa", "pyasn1")
SHIPPED = (
    "aws_lambda_powertools",
    "cryptography",
    "requests",
    "urllib3",
    "certifi",
    "orjson",
    "cffi",
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=sorted(BUILDS), ids=sorted(BUILDS))
def built(request: pytest.FixtureRequest) -> tuple[Path, str, str]:
    """The build for one architecture, made (or brought up to date) by make, never skipped."""
    architecture: str = request.param
    target, build_dir, machine = BUILDS[architecture]
    # make rebuilds only when template, Makefiles, requirements or sources changed.
    subprocess.run(
        ["make", "--no-print-directory", "-f", "mk/sam.mk", target, f"ARCH={architecture}"],
        cwd=REPO,
        check=True,
        stdout=sys.stderr,
        timeout=540,
    )
    return build_dir, architecture, machine


def _layer(build_dir: Path) -> Path:
    return build_dir / "DepsLayer" / "python"


def _wheel_tags(layer: Path) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for wheel in layer.glob("*.dist-info/WHEEL"):
        lines = wheel.read_text(encoding="utf-8").splitlines()
        tags[wheel.parent.name] = [
            line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")
        ]
    return tags


def _version(python_tag: str) -> tuple[int, int]:
    # cp311 -> (3, 11)
    return int(python_tag[2]), int(python_tag[3:])


def test_built_layer_binary_wheels_match_architecture_and_python(
    built: tuple[Path, str, str],
) -> None:
    build_dir, _, machine = built
    tags = _wheel_tags(_layer(build_dir))
    binary = {name: t for name, t in tags.items() if not all(tag.endswith("-any") for tag in t)}
    # GIVEN the compiled wheels (cryptography, cffi, charset_normalizer)
    assert any(name.startswith("cryptography-") for name in binary)
    for name, wheel_tags in binary.items():
        for tag in wheel_tags:
            python, abi, platform = tag.split("-")
            # THEN each is a manylinux wheel for the target CPU, for CPython 3.13 or the stable ABI
            assert platform.startswith("manylinux"), name
            assert platform.endswith(f"_{machine}"), name
            assert python == "cp313" or (abi == "abi3" and _version(python) <= (3, 13)), name


def test_built_layer_extension_modules_are_for_the_target(built: tuple[Path, str, str]) -> None:
    build_dir, _, machine = built
    modules = list(_layer(build_dir).rglob("*.so"))
    assert modules
    for module in modules:
        if module.name.endswith(".abi3.so"):
            continue
        assert module.name.endswith(f".cpython-313-{machine}-linux-gnu.so"), module.name


def test_built_layer_ships_precompiled_unchecked_pyc_for_python_313(
    built: tuple[Path, str, str],
) -> None:
    layer = _layer(build_dir=built[0])
    sources = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    assert sources
    missing = [
        source
        for source in sources
        if not (source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc").is_file()
    ]
    assert missing == []
    sample = layer / "urllib3" / "__pycache__" / "connectionpool.cpython-313.pyc"
    header = sample.read_bytes()[:16]
    # PEP 552 flags word: bit 0 = hash-based, bit 1 = check_source (unchecked-hash: 0b01).
    assert int.from_bytes(header[4:8], "little") == 0b01


def test_built_layer_leaves_out_runtime_provided_and_unused_packages(
    built: tuple[Path, str, str],
) -> None:
    layer = _layer(built[0])
    names = {p.name.lower() for p in layer.iterdir()}
    for package in NOT_SHIPPED:
        assert package not in names
        assert not [n for n in names if n.startswith(f"{package}-") and n.endswith(".dist-info")]
    for package in SHIPPED:
        assert package in names


def test_built_function_ships_the_package_without_local_stand_ins(
    built: tuple[Path, str, str],
) -> None:
    package = built[0] / "AuthorizerFunction" / "okta_authorizer"
    assert (package / "app.py").is_file()
    assert (package / "__pycache__" / "app.cpython-313.pyc").is_file()
    assert not (package / "localdev").exists()
    assert not list(package.rglob("*.cpython-311.pyc"))


def test_built_template_pins_architecture_to_the_layer(built: tuple[Path, str, str]) -> None:
    build_dir, architecture, _ = built
    assert (build_dir / f".built-{architecture}").is_file()
    template = load_template(build_dir / "template.yaml")
    parameter = template["Parameters"]["Architecture"]
    assert parameter["AllowedValues"] == [architecture]
    assert parameter["Default"] == architecture
    resources = template["Resources"]
    assert resources["DepsLayer"]["Properties"]["ContentUri"] == "DepsLayer"
    assert resources["AuthorizerFunction"]["Properties"]["CodeUri"] == "AuthorizerFunction"


def test_built_layer_build_architecture_is_the_target(built: tuple[Path, str, str]) -> None:
    # SAM warns on every build whose layer BuildArchitecture differs from the function's CPU.
    build_dir, architecture, _ = built
    template = load_template(build_dir / "template.yaml")
    assert template["Resources"]["DepsLayer"]["Metadata"]["BuildArchitecture"] == architecture
