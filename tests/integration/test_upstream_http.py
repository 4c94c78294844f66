"""HttpClient on loopback servers: total deadlines, POST forms, nothing from the environment."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from okta_authorizer.localdev.issuer import LocalIssuer, Mode
from okta_authorizer.upstream import (
    DeadlineExceededError,
    FetchError,
    HttpClient,
    InvocationClock,
)

# A fault test's bound on a call: its deadline plus scheduling slack (not a speed claim).
SLACK = 0.5


@pytest.mark.parametrize(
    "mode",
    [Mode.HANG, Mode.TRICKLE, Mode.SLOW],
    ids=["hang", "trickle", "slow-past-deadline"],
)
def test_http_client_faulty_server_fails_within_the_total_deadline(
    local_issuer: LocalIssuer, mode: Mode
) -> None:
    # GIVEN a key endpoint that never answers, sends one byte every 0.1 s (each read well inside
    # the 2 s read timeout), or answers after 3 s
    local_issuer.state.mode = mode
    local_issuer.state.trickle_seconds = 0.1
    client = HttpClient(deadline=0.4)

    # WHEN the key set is fetched
    started = time.monotonic()
    with pytest.raises(FetchError):
        client.get_json(local_issuer.keys_url)

    # THEN the call gives up at its total deadline, not per read
    assert time.monotonic() - started < 0.4 + SLACK


def test_http_client_trickling_body_past_deadline_is_deadline_exceeded(
    local_issuer: LocalIssuer,
) -> None:
    local_issuer.state.mode = Mode.TRICKLE
    local_issuer.state.trickle_seconds = 0.05

    with pytest.raises(DeadlineExceededError, match=r"GET http://127\.0\.0\.1:\d+/oauth2"):
        HttpClient(deadline=0.3).get_json(local_issuer.keys_url)


def test_http_client_slow_but_valid_answer_inside_deadline_is_read(
    local_issuer: LocalIssuer,
) -> None:
    # GIVEN an endpoint answering after 0.2 s, inside a 1 s deadline
    local_issuer.state.mode = Mode.SLOW
    local_issuer.state.slow_seconds = 0.2

    # WHEN fetched THEN the document arrives
    result = HttpClient(deadline=1.0).get_json(local_issuer.keys_url)
    assert result.document == {"keys": [local_issuer.key.public_jwk()]}


def test_http_client_invocation_nearly_over_sends_nothing(local_issuer: LocalIssuer) -> None:
    # GIVEN an invocation with less time left than the safety margin
    invocation = InvocationClock()
    invocation.start(100)

    # WHEN a fetch is asked for THEN it fails at once, without a request
    with pytest.raises(DeadlineExceededError, match="no time left"):
        HttpClient(clock=invocation).get_json(local_issuer.keys_url)
    assert local_issuer.count("keys") == 0


def test_http_client_invocation_remaining_time_caps_the_deadline(
    local_issuer: LocalIssuer,
) -> None:
    # GIVEN an invocation with 0.6 s left and an endpoint that hangs
    invocation = InvocationClock()
    invocation.start(600)
    local_issuer.state.mode = Mode.HANG

    # WHEN fetched with the default 1.5 s deadline THEN the call ends before the invocation would
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        HttpClient(clock=invocation).get_json(local_issuer.keys_url)
    assert time.monotonic() - started < 0.6


def test_http_client_ignores_proxy_environment(
    local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN proxy variables pointing at a port where nothing listens
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    # WHEN fetching THEN the request goes straight to the issuer
    result = HttpClient().get_json(local_issuer.keys_url)
    assert result.document["keys"]


# -- POST forms ------------------------------------------------------------------------------
class FormServer:
    """A loopback server that records POSTed forms and answers with a JSON document or a status."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.answer: dict[str, Any] = {"active": True}
        self.cookie: str | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                owner.received.append(
                    {
                        "form": {name: values[0] for name, values in form.items()},
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "cookie": self.headers.get("Cookie"),
                    }
                )
                body = json.dumps(owner.answer).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if owner.cookie:
                    self.send_header("Set-Cookie", owner.cookie)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/oauth2/default/v1/introspect"


@pytest.fixture
def form_server() -> Iterator[FormServer]:
    server = FormServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


def test_http_client_post_form_sends_basic_auth_and_reads_json(form_server: FormServer) -> None:
    # WHEN a form is posted with client credentials
    result = HttpClient().post_form(
        form_server.url, {"token": "abc", "token_type_hint": "access_token"}, auth=("id", "s3cr:t")
    )

    # THEN the form arrives url-encoded with HTTP Basic authentication, and the answer is parsed
    assert result.document == {"active": True}
    (received,) = form_server.received
    assert received["form"] == {"token": "abc", "token_type_hint": "access_token"}
    assert received["content_type"] == "application/x-www-form-urlencoded"
    assert received["authorization"] == "Basic " + base64.b64encode(b"id:s3cr:t").decode()


def test_http_client_post_form_error_status_is_fetch_error(form_server: FormServer) -> None:
    form_server.status = 401
    form_server.answer = {"error": "invalid_client"}

    with pytest.raises(FetchError, match="HTTP status 401") as caught:
        HttpClient().post_form(form_server.url, {"token": "abc"}, auth=("id", "secret"))
    assert "invalid_client" not in str(caught.value)


def test_http_client_never_sends_back_cookies(form_server: FormServer) -> None:
    # GIVEN an upstream that sets a cookie
    form_server.cookie = "session=tracked; Path=/"
    client = HttpClient()

    # WHEN two calls go through the same client THEN the second carries no cookie
    client.post_form(form_server.url, {"token": "a"}, auth=("id", "secret"))
    client.post_form(form_server.url, {"token": "b"}, auth=("id", "secret"))
    assert [r["cookie"] for r in form_server.received] == [None, None]
