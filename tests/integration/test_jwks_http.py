"""KeySet and HttpClient against a real loopback issuer: discovery, overrides, outages, caching."""

from __future__ import annotations

import gzip
import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from okta_authorizer.errors import KeysUnavailableError, Reason
from okta_authorizer.jwks import KeySet, get_key_sets
from okta_authorizer.localdev.issuer import LocalIssuer, Mode
from okta_authorizer.localdev.keys import SigningKey
from okta_authorizer.settings import Settings
from okta_authorizer.upstream import MAX_BODY_BYTES, FetchError, HttpClient, new_session
from tests.support import ManualClock

KID = "test-key-1"  # the kid `local_issuer` publishes


class RefusingAdapter(requests.adapters.HTTPAdapter):
    """A transport that records, and does not send, what goes to `prefix` (all by default)."""

    def __init__(self, prefix: str = "") -> None:
        super().__init__(max_retries=0)
        self.prefix = prefix
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        if not url.startswith(self.prefix):
            return super().send(request, *args, **kwargs)
        self.sent.append(url)
        raise requests.ConnectionError("this test allows no request to this address")


def refusing_client(adapter: RefusingAdapter) -> HttpClient:
    """An HttpClient whose every request goes through `adapter`."""
    session = new_session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return HttpClient(session=session)


def key_set_for(issuer: LocalIssuer, clock: ManualClock, **kwargs: Any) -> KeySet:
    kwargs.setdefault("fetcher", HttpClient())
    return KeySet(issuer.issuer, clock=clock, **kwargs)


# -- discovery -------------------------------------------------------------------------------
def test_discovery_via_oauth_authorization_server_loads_keys(local_issuer: LocalIssuer) -> None:
    # GIVEN a key set that knows only the issuer
    key_set = key_set_for(local_issuer, ManualClock())

    # WHEN a key is needed
    key = key_set.key(KID)

    # THEN the OAuth metadata led to the key endpoint, each fetched once
    assert key.jwk["n"] == local_issuer.key.public_jwk()["n"]
    assert local_issuer.count("discovery") == 1
    assert local_issuer.count("other") == 0
    assert local_issuer.count("keys") == 1


def test_discovery_falls_back_to_openid_configuration(local_issuer: LocalIssuer) -> None:
    # GIVEN an issuer that publishes only OpenID Connect metadata
    local_issuer.state.discovery_paths = ("openid-configuration",)
    key_set = key_set_for(local_issuer, ManualClock())

    # WHEN a key is needed
    key = key_set.key(KID)

    # THEN the OAuth location was tried (404), then the OpenID one served the jwks_uri
    assert key.kid == KID
    assert local_issuer.count("other") == 1
    assert local_issuer.count("discovery") == 1
    assert local_issuer.count("keys") == 1


def test_discovery_with_mismatching_issuer_is_refused(local_issuer: LocalIssuer) -> None:
    # GIVEN metadata that names another issuer
    local_issuer.state.discovery_issuer = f"{local_issuer.base_url}/oauth2/other"
    events: list[str] = []
    key_set = key_set_for(local_issuer, ManualClock(), observer=events.append)

    # WHEN the key set loads THEN it refuses both documents and never fetches keys
    with pytest.raises(KeysUnavailableError) as caught:
        key_set.warm()
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE
    assert local_issuer.count("discovery") == 2
    assert local_issuer.count("keys") == 0
    assert events == ["KeySetFetchFailed"]


def test_discovery_with_http_non_loopback_jwks_uri_is_refused_without_request(
    local_issuer: LocalIssuer,
) -> None:
    # GIVEN metadata pointing at plain http on a public host, and a transport that would record it
    local_issuer.state.jwks_uri = "http://keys.example.com/keys"
    refusing = RefusingAdapter("http://keys.example.com")
    key_set = key_set_for(local_issuer, ManualClock(), fetcher=refusing_client(refusing))

    # WHEN the key set loads
    with pytest.raises(KeysUnavailableError):
        key_set.warm()

    # THEN the jwks_uri was refused before any request to it
    assert refusing.sent == []
    assert local_issuer.count("discovery") == 2
    assert local_issuer.count("keys") == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://keys.example.com/keys",
        "ftp://127.0.0.1/keys",
        "https://user:secret@127.0.0.1/keys",
        "http://127.0.0.1/keys#fragment",
        "https:///keys",
    ],
    ids=["http-public-host", "ftp", "credentials", "fragment", "no-host"],
)
def test_http_fetcher_refused_url_sends_nothing(url: str) -> None:
    # GIVEN a fetcher whose every transport records instead of sending
    refusing = RefusingAdapter()

    # WHEN it is asked for a URL the policy forbids THEN it refuses without a request
    with pytest.raises(FetchError, match="refused URL"):
        refusing_client(refusing).get_json(url)
    assert refusing.sent == []


@pytest.mark.usefixtures("fresh_registry")
def test_okta_jwks_uri_override_skips_discovery(local_issuer: LocalIssuer) -> None:
    # GIVEN settings with OKTA_JWKS_URI, through the process-wide registry
    settings = Settings(
        issuers=(local_issuer.issuer,),
        audiences=("api://default",),
        jwks_uri=local_issuer.keys_url,
    )
    key_set = get_key_sets(settings)[local_issuer.issuer]

    # WHEN a key is needed
    key = key_set.key(KID)

    # THEN keys came straight from the configured URL
    assert key.kid == KID
    assert local_issuer.count("discovery") == 0
    assert local_issuer.count("keys") == 1


# -- outages ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mode",
    [Mode.ERROR_500, Mode.SLOW, Mode.GARBAGE, Mode.OVERSIZED, Mode.REDIRECT],
    ids=["http-500", "timeout", "garbage-json", "oversized-body", "redirect"],
)
def test_outage_after_warm_up_serves_old_keys_within_grace_then_keys_unavailable(
    local_issuer: LocalIssuer, mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a key set warmed from a healthy issuer (max-age 3600), then the key endpoint failing
    clock = ManualClock()
    events: list[str] = []
    fetcher = HttpClient(read_timeout=0.2)
    key_set = key_set_for(local_issuer, clock, fetcher=fetcher, observer=events.append)
    key_set.warm()
    assert local_issuer.count("keys") == 1
    local_issuer.state.mode = mode
    local_issuer.state.slow_seconds = 1.0
    caplog.set_level(logging.INFO, logger="okta_authorizer.jwks")

    # WHEN the set expires: the refresh fails, the old key is served
    clock.advance(3600)
    assert key_set.key(KID).kid == KID
    assert local_issuer.count("keys") == 2  # one request: a redirect was not followed
    assert events == ["KeySetFetched", "KeySetFetchFailed", "KeySetStaleServed"]

    # THEN no retry on every call, the old key still served just before 24 h past expiry
    key_set.key(KID)
    assert local_issuer.count("keys") == 2
    clock.advance(86400 - 1)
    assert key_set.key(KID).kid == KID
    assert local_issuer.count("keys") == 3

    # AND after the grace period the outage is reported
    clock.advance(1)
    with pytest.raises(KeysUnavailableError) as caught:
        key_set.key(KID)
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE
    # logs name the failure but never carry the response body
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "fetching the key set" in messages
    assert "upstream error" not in messages
    assert "E0000009" not in messages


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (Mode.ERROR_500, "HTTP status 500"),
        (Mode.SLOW, "request failed"),
        (Mode.GARBAGE, "not JSON"),
        (Mode.OVERSIZED, "exceeds"),
        (Mode.REDIRECT, "HTTP status 302"),
    ],
    ids=["http-500", "timeout", "garbage-json", "oversized-body", "redirect"],
)
def test_http_fetcher_failure_is_fetch_error_without_body(
    local_issuer: LocalIssuer, mode: Mode, problem: str
) -> None:
    # GIVEN a key endpoint misbehaving in the case's way
    local_issuer.state.mode = mode
    local_issuer.state.slow_seconds = 1.0

    # WHEN it is fetched THEN a short FetchError says what failed, not what the body was
    with pytest.raises(FetchError, match=problem) as caught:
        HttpClient(read_timeout=0.2)(local_issuer.keys_url)
    assert "upstream" not in str(caught.value)
    assert "E0000009" not in str(caught.value)


def test_http_fetcher_unknown_path_is_fetch_error(local_issuer: LocalIssuer) -> None:
    with pytest.raises(FetchError, match="HTTP status 404"):
        HttpClient()(f"{local_issuer.issuer}/v1/nothing-here")


def test_http_fetcher_reads_document_and_cache_control(local_issuer: LocalIssuer) -> None:
    # GIVEN a healthy key endpoint with Okta's Cache-Control
    fetcher = HttpClient()

    # WHEN it is fetched twice with the same fetcher (pooled session)
    first = fetcher(local_issuer.keys_url)
    second = fetcher(local_issuer.keys_url)

    # THEN the document and max-age come back each time
    assert first == second
    assert first.document == {"keys": [local_issuer.key.public_jwk()]}
    assert first.max_age == 3600
    assert local_issuer.count("keys") == 2


# -- bodies without Content-Length -----------------------------------------------------------
class HangUpTolerantServer(ThreadingHTTPServer):
    """A threading server that says nothing when the client hangs up, and everything else."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The fetcher closes the connection on purpose once a body passes its cap.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ChunkedServer:
    """A loopback server answering every GET with a chunked JSON body of a chosen size."""

    def __init__(self) -> None:
        self.body_size = 0
        self.gzip = False  # send the body gzip-compressed (Content-Encoding: gzip)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                body = json.dumps({"keys": [], "pad": "x" * owner.body_size}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if owner.gzip:
                    body = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for start in range(0, len(body), 8192):
                        chunk = body[start : start + 8192]
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return

        self.server = HangUpTolerantServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/keys"


@pytest.fixture
def chunked_server() -> Iterator[ChunkedServer]:
    server = ChunkedServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(
    ("pad", "gzipped", "accepted"),
    [
        (MAX_BODY_BYTES - 1024, False, True),
        (MAX_BODY_BYTES + 1024, False, False),
        (4 * MAX_BODY_BYTES, False, False),
        (MAX_BODY_BYTES - 1024, True, True),
        # 16 MiB of padding compresses to ~16 KiB: the cap must count decoded bytes
        (64 * MAX_BODY_BYTES, True, False),
    ],
    ids=[
        "just-under-cap",
        "just-over-cap",
        "far-over-cap",
        "gzip-decoded-under-cap",
        "gzip-decompression-bomb",
    ],
)
def test_http_fetcher_streaming_cap_applies_without_content_length(
    chunked_server: ChunkedServer, pad: int, gzipped: bool, accepted: bool
) -> None:
    # GIVEN a chunked response (no Content-Length to reject up front), gzipped or not
    chunked_server.body_size = pad
    chunked_server.gzip = gzipped

    # WHEN it is fetched THEN only a body within 256 KiB once decoded is accepted
    if accepted:
        assert HttpClient()(chunked_server.url).document["keys"] == []
    else:
        with pytest.raises(FetchError, match="exceeds"):
            HttpClient()(chunked_server.url)


# -- Cache-Control ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=120", 120),
        ("max-age=5", 60),
        ("max-age=999999", 3600),
        (None, 3600),
        ("no-store", 60),
        ("max-age=soon", 3600),
    ],
    ids=["shorter", "below-floor", "above-max", "absent", "no-store", "malformed"],
)
def test_cache_control_max_age_honoured_within_bounds(
    local_issuer: LocalIssuer, header: str | None, expected: int
) -> None:
    # GIVEN a key endpoint sending the case's Cache-Control and a warm key set
    local_issuer.state.cache_control = header
    clock = ManualClock()
    key_set = key_set_for(local_issuer, clock)
    key_set.warm()

    # WHEN keys are used until just before the expected age THEN nothing is fetched again
    clock.advance(expected - 1)
    key_set.key(KID)
    assert local_issuer.count("keys") == 1

    # WHEN the age is reached THEN exactly one refresh happens
    clock.advance(1)
    key_set.key(KID)
    key_set.key(KID)
    assert local_issuer.count("keys") == 2


def test_rotation_over_http_picks_up_new_kid_once(local_issuer: LocalIssuer) -> None:
    # GIVEN a warm key set, a cooldown later, and the issuer rotating to a new key
    clock = ManualClock()
    key_set = key_set_for(local_issuer, clock, jwks_uri=local_issuer.keys_url)
    key_set.warm()
    clock.advance(30)
    new_key = SigningKey(kid="rotated-key")
    local_issuer.publish(new_key)

    # WHEN a token signed with the new key arrives
    key = key_set.key("rotated-key")

    # THEN one refresh picked it up and the retired key is gone
    assert key.jwk["n"] == new_key.public_jwk()["n"]
    assert local_issuer.count("keys") == 2
    assert not key_set.has_key(KID)
