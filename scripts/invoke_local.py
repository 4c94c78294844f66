"""`sam local invoke` without Docker: the built function under Lambda's emulator (RIE).

The emulator (`aws-lambda-rie`, shipped inside the aws-sam-cli wheel) runs python3.13 with
awslambdaric as the bootstrap, the way the Lambda service does, with the built function and layer
on PYTHONPATH and the function's environment taken from template.yaml. Okta is a loopback issuer,
SSM is moto on loopback holding the sample route map from template.yaml, and the placeholder token
of the event is replaced by a freshly minted one. Every server binds 127.0.0.1 and is stopped.

    .venv/bin/python scripts/invoke_local.py --event events/token.json [--scopes beds:read]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HANDLER = "okta_authorizer.app.lambda_handler"
FUNCTION = "AuthorizerFunction"
LAYER = "DepsLayer"
AUDIENCE = "api://beds"
ROUTES_PATH = "/okta-authorizer/local/routes"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] .*$")
_TIME_LIMIT = 60.0


def find_rie(sam_venv: Path = REPO / ".venv-sam") -> Path:
    """The x86_64 emulator binary inside the aws-sam-cli wheel of `sam_venv`."""
    found = sorted(
        sam_venv.glob("lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64")
    )
    if not found:
        raise FileNotFoundError(f"no aws-lambda-rie-x86_64 under {sam_venv}: run make sam-setup")
    return found[-1]


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def resolve_parameters(
    value: Any, parameters: Mapping[str, str], conditions: Mapping[str, bool]
) -> Any:
    """Resolve the `Ref` and `Fn::If` the function's properties use, from parameter values."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        chosen = when_true if conditions[condition] else when_false
        return resolve_parameters(chosen, parameters, conditions)
    return value


def function_settings(
    parameters: Mapping[str, str], template: Path | None = None
) -> dict[str, Any]:
    """The authorizer's environment, memory size and timeout from template.yaml."""
    from okta_authorizer.localdev.sample import load_template

    document = load_template(template)
    values = {
        name: str(spec["Default"])
        for name, spec in document["Parameters"].items()
        if "Default" in spec
    }
    values.update(parameters)
    conditions = {"TracingEnabled": values.get("EnableTracing") == "true"}
    props = document["Resources"][FUNCTION]["Properties"]
    variables = props["Environment"]["Variables"]
    environment = {
        name: str(resolve_parameters(value, values, conditions))
        for name, value in variables.items()
    }
    return {
        "environment": environment,
        "memory": int(props["MemorySize"]),
        "timeout": int(props["Timeout"]),
    }


def insert_token(event: Any, token: str) -> Any:
    """The event with every `Bearer ...` string (header, identity source) carrying `token`."""
    if isinstance(event, dict):
        return {key: insert_token(value, token) for key, value in event.items()}
    if isinstance(event, list):
        return [insert_token(value, token) for value in event]
    if isinstance(event, str) and _BEARER.match(event):
        return f"Bearer {token}"
    return event


@dataclass
class Invocation:
    """What one invocation returned and what the emulator logged for it."""

    payload: Any
    init_line: str | None
    report_line: str | None
    peak_rss_kib: int | None
    log: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str | None:
        """`errorMessage` of a function error, None for a normal result."""
        if isinstance(self.payload, dict) and "errorMessage" in self.payload:
            return str(self.payload["errorMessage"])
        return None


class Emulator:
    """aws-lambda-rie running the built function with python3.13 and awslambdaric, on 127.0.0.1."""

    def __init__(
        self,
        build_dir: Path,
        python: Path,
        environment: Mapping[str, str],
        *,
        memory: int,
        timeout: int,
        rie: Path | None = None,
    ) -> None:
        self.build_dir = build_dir
        self.python = python
        self.rie = rie or find_rie()
        self.port = free_port()
        self.runtime_api_port = free_port()
        function_dir = build_dir / FUNCTION
        layer_dir = build_dir / LAYER / "python"
        for path in (function_dir, layer_dir):
            if not path.is_dir():
                raise FileNotFoundError(f"{path} is missing: run make build-emulator")
        # Only what Lambda would set: the host's variables (credentials, proxies) stay out.
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": f"{function_dir}:{layer_dir}",
            "LAMBDA_TASK_ROOT": str(function_dir),
            "AWS_LAMBDA_FUNCTION_NAME": "okta-authorizer-local",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            **environment,
        }
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The invoke endpoint of the emulator."""
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    def start(self) -> Emulator:
        """Start the emulator and wait until it accepts connections."""
        command = [
            str(self.rie),
            # Both addresses on loopback: the defaults listen on every interface.
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_api_port}",
            str(self.python),
            "-m",
            "awslambdaric",
            HANDLER,
        ]
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=self.build_dir / FUNCTION,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the emulator exited:\n" + "\n".join(self.lines))
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the emulator did not start listening")

    def invoke(self, event: Any) -> Invocation:
        """POST one event and wait for the emulator's REPORT line of that invocation."""
        with self._lock:
            seen = len(self.lines)
        body = json.dumps(event).encode()
        request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIME_LIMIT) as response:  # noqa: S310
                raw = response.read().decode()
        except urllib.error.HTTPError as error:
            # The emulator answers 502 when the runtime dies (e.g. an import error at init).
            raw = error.read().decode()
        peak = self.peak_rss_kib()
        report = self._wait_for("REPORT RequestId", seen)
        with self._lock:
            log = self.lines[seen:]
            init = next((line for line in self.lines if "INIT REPORT" in line), None)
        try:
            payload: Any = json.loads(raw)
        except json.JSONDecodeError:
            payload = raw
        return Invocation(payload, init, report, peak, log)

    def peak_rss_kib(self) -> int | None:
        """Peak resident memory (VmHWM) of the runtime process, Linux only."""
        if self._process is None:
            return None
        peaks = []
        for child in _children(self._process.pid):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]))
        return max(peaks) if peaks else None

    def stop(self) -> None:
        """Stop the emulator (and with it the runtime process)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _read(self) -> None:
        assert self._process is not None  # noqa: S101 - set before the thread starts
        assert self._process.stdout is not None  # noqa: S101
        for line in self._process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def _wait_for(self, prefix: str, start: int) -> str | None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines[start:]:
                    if line.startswith(prefix):
                        return line
            time.sleep(0.02)
        return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in children.read_text().split():
                found.append(int(child))
                found.extend(_children(int(child)))
    return found


@contextlib.contextmanager
def running_authorizer(
    build_dir: Path, python: Path, issuer: str, *, log_level: str = "INFO"
) -> Iterator[Emulator]:
    """The built authorizer under the emulator, configured from template.yaml, on loopback."""
    from okta_authorizer.localdev.sample import load_sample_route_map
    from okta_authorizer.localdev.ssm import local_ssm, put_parameter

    suffix, document = load_sample_route_map()
    local_env: dict[str, str] = {}  # what local_ssm sets: region, dummy credentials, endpoint
    with local_ssm(local_env) as endpoint:
        put_parameter(endpoint, f"{ROUTES_PATH}/{suffix}", document)
        settings = function_settings(
            {
                "OktaIssuer": issuer,
                "OktaAudience": AUDIENCE,
                "RoutesParameterPath": ROUTES_PATH,
                "LogLevel": log_level,
            }
        )
        environment = {
            **settings["environment"],
            **local_env,
            "POWERTOOLS_METRICS_NAMESPACE": "OktaAuthorizerLocal",
        }
        with Emulator(
            build_dir,
            python,
            environment,
            memory=settings["memory"],
            timeout=settings["timeout"],
        ) as emulator:
            yield emulator


def main(argv: list[str] | None = None) -> int:
    """Command line: mint a token, run one event under the emulator, print the result."""
    from okta_authorizer.localdev.issuer import LocalIssuer
    from okta_authorizer.localdev.keys import okta_claims

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", type=Path, default=REPO / "events" / "token.json")
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "emulator")
    parser.add_argument("--python", type=Path, default=REPO / ".venv-emu" / "bin" / "python")
    parser.add_argument(
        "--scopes", default="beds:read", help="comma-separated scopes of the minted token"
    )
    parser.add_argument("--groups", default="", help="comma-separated `groups` claim")
    parser.add_argument("--client-id", default="0oa1webapp")
    args = parser.parse_args(argv)

    event = json.loads(args.event.read_text(encoding="utf-8"))
    with LocalIssuer() as issuer:
        extra: dict[str, Any] = {}
        if args.groups:
            extra["groups"] = args.groups.split(",")
        claims = okta_claims(
            issuer.issuer,
            AUDIENCE,
            scopes=tuple(s for s in args.scopes.split(",") if s),
            client_id=args.client_id,
            **extra,
        )
        event = insert_token(event, issuer.key.token(claims))
        with running_authorizer(
            args.build_dir.resolve(), args.python.absolute(), issuer.issuer
        ) as rie:
            result = rie.invoke(event)
    for line in result.log:
        print(line, file=sys.stderr)
    print(json.dumps(result.payload, indent=2))
    # The REPORT line is part of the invocation's log above; the INIT figures precede it.
    if result.init_line:
        print(result.init_line, file=sys.stderr)
    if result.peak_rss_kib is not None:
        print(
            f"peak RSS of the runtime process: {result.peak_rss_kib / 1024:.1f} MiB",
            file=sys.stderr,
        )
    return 1 if result.error_message else 0


if __name__ == "__main__":
    # Run as a script (make invoke-local): the package may not be installed in the venv.
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
