"""A loopback Okta look-alike: discovery and JWKS over HTTP on 127.0.0.1, with failure modes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from okta_authorizer.localdev.keys import SigningKey


class Mode(Enum):
    """How the key endpoint answers."""

    OK = "ok"
    ERROR_500 = "500"
    SLOW = "slow"  # answers after `slow_seconds`, longer than the client's read timeout
    GARBAGE = "garbage"  # 200 with a body that is not JSON
    OVERSIZED = "oversized"  # 200 with a body larger than the client's cap
    REDIRECT = "redirect"  # 302 to another loopback path
    HANG = "hang"  # accepts the request and never answers (until the server stops)
    TRICKLE = "trickle"  # headers, then the body one byte every `trickle_seconds`


@dataclass
class IssuerState:
    """Mutable behaviour of the server; tests change it between requests."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    mode: Mode = Mode.OK
    cache_control: str | None = "max-age=3600, must-revalidate"
    slow_seconds: float = 3.0
    trickle_seconds: float = 0.5
    discovery_issuer: str | None = None  # None: the server's own issuer
    jwks_uri: str | None = None  # None: the server's own key endpoint
    discovery_paths: tuple[str, ...] = ("oauth-authorization-server", "openid-configuration")
    requests: Counter[str] = field(default_factory=Counter)


class _QuietServer(ThreadingHTTPServer):
    """A threading server that does not print a traceback when a client hangs up early."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: tests close connections early on purpose (timeouts, size caps)."""


class LocalIssuer:
    """An Okta custom authorization server look-alike on 127.0.0.1 and a free port."""

    def __init__(self, server_id: str = "default", keys: list[SigningKey] | None = None) -> None:
        self.server_id = server_id
        self.signing_keys: list[SigningKey] = list(keys) if keys is not None else [SigningKey()]
        self.state = IssuerState(keys=[k.public_jwk() for k in self.signing_keys])
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        # Set on stop: releases requests held by HANG and TRICKLE.
        self._stopping = threading.Event()

    # -- addresses -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def issuer(self) -> str:
        """The issuer URL, Okta style: `<base>/oauth2/<server id>`."""
        return f"{self.base_url}/oauth2/{self.server_id}"

    @property
    def keys_url(self) -> str:
        """The JWKS endpoint, Okta style: `<issuer>/v1/keys`."""
        return f"{self.issuer}/v1/keys"

    @property
    def key(self) -> SigningKey:
        """The first (current) signing key."""
        return self.signing_keys[0]

    # -- behaviour -------------------------------------------------------------------------
    def publish(self, *keys: SigningKey, extra: list[dict[str, Any]] | None = None) -> None:
        """Replace the published key set (rotation)."""
        with self._lock:
            self.signing_keys = list(keys)
            self.state.keys = [k.public_jwk() for k in keys] + list(extra or [])

    def count(self, what: str = "keys") -> int:
        """Requests served for `keys`, `discovery` or `other`."""
        with self._lock:
            return self.state.requests[what]

    def reset_counts(self) -> None:
        """Forget the request counters."""
        with self._lock:
            self.state.requests.clear()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalIssuer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- HTTP ------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: with Nagle on, a keep-alive client's delayed
            # ACK stalls every request after the first on a connection by ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read counters, not access logs."""

            def do_GET(self) -> None:
                issuer._serve(self)

        return Handler

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        prefix = f"/oauth2/{self.server_id}"
        with self._lock:
            state = self.state
            for doc in state.discovery_paths:
                if path == f"{prefix}/.well-known/{doc}":
                    state.requests["discovery"] += 1
                    body = {
                        "issuer": state.discovery_issuer or self.issuer,
                        "jwks_uri": state.jwks_uri or self.keys_url,
                        "token_endpoint": f"{self.issuer}/v1/token",
                        "response_types_supported": ["code", "token"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                    payload = json.dumps(body).encode()
                    break
            else:
                if path in (f"{prefix}/v1/keys", "/redirected-keys"):
                    state.requests["keys"] += 1
                    mode = state.mode
                    payload = json.dumps({"keys": state.keys}).encode()
                    cache_control = state.cache_control
                    slow = state.slow_seconds
                    trickle = state.trickle_seconds
                else:
                    state.requests["other"] += 1
                    mode = None
                    payload = b""
        if path.endswith(tuple(f"/.well-known/{d}" for d in state.discovery_paths)) and payload:
            self._send(request, 200, payload, None)
            return
        if mode is None:
            self._send(request, 404, b'{"errorCode":"E0000022"}', None)
            return
        if mode is Mode.ERROR_500:
            self._send(request, 500, b'{"errorCode":"E0000009"}', None)
        elif mode is Mode.SLOW:
            time.sleep(slow)
            self._send(request, 200, payload, cache_control)
        elif mode is Mode.HANG:
            self._stopping.wait()
        elif mode is Mode.TRICKLE:
            self._trickle(request, payload, cache_control, trickle)
        elif mode is Mode.GARBAGE:
            self._send(request, 200, b"<html>upstream error</html>", None)
        elif mode is Mode.OVERSIZED:
            big = json.dumps({"keys": [], "pad": "x" * (300 * 1024)}).encode()
            self._send(request, 200, big, None)
        elif mode is Mode.REDIRECT:
            request.send_response(302)
            request.send_header("Location", f"{self.base_url}/redirected-keys")
            request.send_header("Content-Length", "0")
            request.end_headers()
        else:
            self._send(request, 200, payload, cache_control)

    def _trickle(
        self,
        request: BaseHTTPRequestHandler,
        body: bytes,
        cache_control: str | None,
        interval: float,
    ) -> None:
        try:
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            if cache_control:
                request.send_header("Cache-Control", cache_control)
            request.end_headers()
            request.wfile.flush()
            for index in range(len(body)):
                if self._stopping.wait(interval):
                    return
                request.wfile.write(body[index : index + 1])
                request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: bytes, cache_control: str | None
    ) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            if cache_control:
                request.send_header("Cache-Control", cache_control)
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (read timeout): nothing to answer.
            return
