"""The in-process latency rows: bare RS256, the decision core, and the warm Lambda handler."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from benchmarks.environment import reset_caches, token_event
from benchmarks.minting import split_token
from benchmarks.timing import Row, sample

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def measure_bare_rs256(public_key: rsa.RSAPublicKey, tokens: Sequence[str], warmup: int) -> Row:
    """The physical limit: one PKCS#1 v1.5 SHA-256 verification of each token's signature."""
    pieces = [split_token(token) for token in tokens]
    pad, digest = padding.PKCS1v15(), hashes.SHA256()

    def verify(item: tuple[bytes, bytes]) -> None:
        public_key.verify(item[1], item[0], pad, digest)

    row = Row("rs256_bare", "bare RS256 verify (cryptography)")
    row.samples_ns = sample(verify, pieces, warmup)
    return row


def measure_core(tokens: Sequence[str], warmup: int, *, name: str, title: str) -> Row:
    """The use case without Lambda or logging: get_authorizer(settings).authorize(request)."""
    from okta_authorizer.service import AuthorizationRequest, get_authorizer
    from okta_authorizer.settings import get_settings

    arn = token_event("x")["methodArn"]
    headers = [f"Bearer {token}" for token in tokens]
    reset_caches()

    def authorize(header: str) -> Any:
        return get_authorizer(get_settings()).authorize(
            AuthorizationRequest("token", header, arn, "")
        )

    decision = authorize(headers[0])
    if not decision.allowed:
        raise RuntimeError(f"the decision core denied the benchmark token ({decision.reason})")
    row = Row(name, title)
    row.samples_ns = sample(authorize, headers, warmup)
    return row


@contextlib.contextmanager
def production_output(sink: IO[str]) -> Iterator[None]:
    """The handler's log lines (its decision line is also its EMF document) go to `sink`."""
    from okta_authorizer.observability import logger

    handler: Any = logger.registered_handler
    original = handler.stream
    handler.setStream(sink)
    try:
        with contextlib.redirect_stdout(sink):  # anything printed (Powertools Metrics would)
            yield
    finally:
        handler.setStream(original)


def handler_call() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """lambda_handler bound to one fake Lambda context (Lambda gives each call a new one)."""
    from okta_authorizer.app import lambda_handler
    from okta_authorizer.localdev.lambda_context import FakeLambdaContext

    # The stand-in has the attributes Powertools reads; it is not a LambdaContext subclass.
    context = cast("LambdaContext", FakeLambdaContext())

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        return lambda_handler(event, context)

    return invoke


def check_allowed(result: dict[str, Any], event: dict[str, Any]) -> None:
    """Raise unless the handler's policy allows the requested ARN (a benchmark of a 401 is moot)."""
    from okta_authorizer import iam

    effect = iam.evaluate(result["policyDocument"], event["methodArn"])
    if effect != "Allow":
        raise RuntimeError(f"the handler did not allow the benchmark request ({effect})")


def measure_handler(
    tokens: Sequence[str], warmup: int, sink: IO[str], *, name: str, title: str
) -> Row:
    """The warm handler on TOKEN events, production logging and metrics, output to `sink`."""
    events = [token_event(token) for token in tokens]
    reset_caches()
    with production_output(sink):
        invoke = handler_call()
        check_allowed(invoke(events[0]), events[0])
        row = Row(name, title)
        row.samples_ns = sample(invoke, events, warmup)
    return row
