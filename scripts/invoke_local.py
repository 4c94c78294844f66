"""`sam local invoke` without Docker: the built function under Lambda's emulator (RIE).

The emulator (`aws-lambda-rie`, shipped inside the aws-sam-cli wheel) runs python3.13 with
awslambdaric as the bootstrap, the way the Lambda service does, with the built function and layer
on PYTHONPATH and the function's environment taken from template.yaml. SSM is moto on loopback
holding the sample route map from template.yaml (or --routes FILE). Okta is a loopback issuer that
mints the event's token (said on stderr), unless --token gives yours: then --issuer and --audience
name your authorization server, whose keys are fetched as in Lambda. Every server binds 127.0.0.1
and is stopped. The first output line is the verdict: ALLOW, DENY 403 <reason>, 401 <reason> or
500 <reason>; the raw response follows.

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
    build_dir: Path,
    python: Path,
    issuer: str,
    *,
    log_level: str = "INFO",
    routes: tuple[str, str] | None = None,
    audience: str = AUDIENCE,
) -> Iterator[Emulator]:
    """The built authorizer under the emulator, configured from template.yaml, on loopback.

    `routes` is (parameter name, JSON text) of the route map; the template's sample by default.
    """
    from okta_authorizer.localdev.sample import load_sample_route_map
    from okta_authorizer.localdev.ssm import local_ssm, put_parameter

    suffix, document = load_sample_route_map() if routes is None else routes
    local_env: dict[str, str] = {}  # what local_ssm sets: region, dummy credentials, endpoint
    with local_ssm(local_env) as endpoint:
        put_parameter(endpoint, f"{ROUTES_PATH}/{suffix}", document)
        settings = function_settings(
            {
                "OktaIssuer": issuer,
                "OktaAudience": audience,
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


class InvokeError(Exception):
    """The command line or an input file is unusable (exit code 2, one clear line)."""


def read_event(path: Path) -> dict[str, Any]:
    """The event file as a JSON object; InvokeError saying what is wrong otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvokeError(f"no event file {path} (the samples are in events/)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvokeError(f"cannot read the event file {path}: {error}") from None
    try:
        event = json.loads(text)
    except ValueError as error:
        raise InvokeError(f"{path} is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise InvokeError(f"{path} is not an API Gateway authorizer event (a JSON object)")
    if not isinstance(event.get("methodArn") or event.get("routeArn"), str):
        raise InvokeError(f"{path} has no methodArn or routeArn: not an authorizer event")
    return event


def read_routes(path: Path) -> tuple[str, str]:
    """(parameter name, JSON text) of a route-map file, validated as the authorizer would."""
    from okta_authorizer.errors import RouteMapError
    from okta_authorizer.routes import parse_route_map

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvokeError(f"cannot read the route map {path}: {error}") from None
    try:
        parse_route_map({str(path): text})
    except RouteMapError as error:
        raise InvokeError(f"invalid route map: {error}") from None
    return path.stem or "routes", text


def verdict(payload: Any, event: Mapping[str, Any], log: list[str]) -> str:
    """One line: ALLOW, DENY 403 <reason>, 401 <reason> or 500 <reason>, as API Gateway answers."""
    from okta_authorizer.iam import evaluate

    reason = next(
        (
            str(line["reason"])
            for line in map(_json_line, reversed(log))
            if line.get("message") == "decision" and line.get("reason")
        ),
        None,
    )
    if isinstance(payload, dict) and "errorMessage" in payload:
        if payload["errorMessage"] == "Unauthorized":
            return f"401 {reason or 'unauthorized'}"
        return f"500 {reason or payload.get('errorType') or 'error'}"
    if isinstance(payload, dict) and isinstance(payload.get("isAuthorized"), bool):
        return "ALLOW" if payload["isAuthorized"] else f"DENY 403 {reason or 'denied'}"
    if isinstance(payload, dict) and isinstance(payload.get("policyDocument"), dict):
        arn = str(event.get("methodArn") or event.get("routeArn"))
        if evaluate(payload["policyDocument"], arn) == "Allow":
            return "ALLOW"
        return f"DENY 403 {reason or 'denied'}"
    return "500 no authorizer response"


def _json_line(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def main(argv: list[str] | None = None) -> int:
    """Command line: run one event under the emulator, print the verdict, then the response."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", type=Path, default=REPO / "events" / "token.json")
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "emulator")
    parser.add_argument("--python", type=Path, default=REPO / ".venv-emu" / "bin" / "python")
    parser.add_argument(
        "--scopes", default="beds:read", help="comma-separated scopes of the minted token"
    )
    parser.add_argument("--groups", default="", help="comma-separated `groups` claim")
    parser.add_argument("--client-id", default="0oa1webapp")
    parser.add_argument("--routes", type=Path, help="route-map file (default: the sample map)")
    parser.add_argument("--token", help="your access token (default: a minted one)")
    parser.add_argument("--issuer", help="with --token: your OKTA_ISSUER")
    parser.add_argument("--audience", help="with --token: your OKTA_AUDIENCE")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except InvokeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from okta_authorizer.localdev.issuer import LocalIssuer
    from okta_authorizer.localdev.keys import okta_claims

    event = read_event(args.event)
    routes = None if args.routes is None else read_routes(args.routes)
    if args.token is not None:
        if not args.issuer or not args.audience:
            raise InvokeError("TOKEN= needs ISSUER= and AUDIENCE= (your authorization server's)")
        token = args.token.strip().removeprefix("Bearer ").strip()
        result = _invoke(args, insert_token(event, token), args.issuer, args.audience, routes)
    else:
        with LocalIssuer() as issuer:
            extra: dict[str, Any] = {}
            if args.groups:
                extra["groups"] = args.groups.split(",")
            scopes = tuple(s for s in args.scopes.split(",") if s)
            claims = okta_claims(
                issuer.issuer, AUDIENCE, scopes=scopes, client_id=args.client_id, **extra
            )
            print(
                f"the event's token is replaced by one minted for this run (scopes {list(scopes)},"
                f" client {args.client_id}); TOKEN= sends your own",
                file=sys.stderr,
            )
            event = insert_token(event, issuer.key.token(claims))
            result = _invoke(args, event, issuer.issuer, AUDIENCE, routes)
    for line in result.log:
        print(line, file=sys.stderr)
    print(verdict(result.payload, event, result.log))
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


def _invoke(
    args: argparse.Namespace,
    event: dict[str, Any],
    issuer: str,
    audience: str,
    routes: tuple[str, str] | None,
) -> Invocation:
    with running_authorizer(
        args.build_dir.resolve(), args.python.absolute(), issuer, routes=routes, audience=audience
    ) as rie:
        return rie.invoke(event)


if __name__ == "__main__":
    # Run as a script (make invoke-local): the package may not be installed in the venv.
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
