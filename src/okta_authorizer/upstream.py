"""Outside calls: one `requests` session, a total deadline per call, a capped body, no redirects."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import certifi
import requests
import urllib3

from okta_authorizer.urls import check_url

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

#: The largest key set, discovery or introspection document accepted, in bytes (decoded).
MAX_BODY_BYTES = 256 * 1024
#: Total deadline of one outside call unless configured (UPSTREAM_DEADLINE_MS): API Gateway's own.
DEFAULT_DEADLINE_SECONDS = 1.5
#: Time kept back from the invocation's remaining time for logging and answering after a call.
SAFETY_MARGIN_SECONDS = 0.25
_READ_SIZE = 16 * 1024
_MAX_AGE = re.compile(r'max-age\s*=\s*(?:(\d+)|"(\d+)")', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched JSON document and the `Cache-Control: max-age` it came with (None if absent)."""

    document: Any
    max_age: int | None


class FetchError(Exception):
    """A call failed (network, deadline, status, size, JSON...); the message never holds a body."""


class DeadlineExceededError(FetchError):
    """The call had no complete answer within its total deadline."""


# -- the invocation's deadline ---------------------------------------------------------------
class InvocationClock:
    """When the current Lambda invocation must have answered: caps every outside call's budget."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._ends: float | None = None

    def start(self, remaining_ms: int | None) -> None:
        """A new invocation with `remaining_ms` left (Lambda's context), or None: no cap."""
        self._ends = None if remaining_ms is None else self._clock() + remaining_ms / 1000

    def budget(self, limit: float) -> float:
        """Seconds one call may take: `limit`, or what the invocation has left less a margin."""
        if self._ends is None:
            return limit
        return min(limit, self._ends - SAFETY_MARGIN_SECONDS - self._clock())


#: The process's invocation clock: app.py starts it for every invocation (one at a time in Lambda).
invocation = InvocationClock()


class _Outcome(Generic[T]):
    """What a worker thread hands back: a value or an exception, and when it is there."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_with_deadline(
    work: Callable[[], T],
    budget: float,
    what: str,
    *,
    abandon: Callable[[], None] | None = None,
) -> T:
    """Run `work` on a worker thread and wait at most `budget` seconds for it.

    Per-read timeouts (requests', botocore's) bound each read, not the call: a server that
    trickles a byte at a time, or retries that add up, would keep the invocation waiting. Past the
    budget the caller gets DeadlineExceededError; `abandon` then asks the worker to stop (its late
    result is dropped).
    """
    if budget <= 0:
        raise DeadlineExceededError(f"{what}: no time left in this invocation")
    outcome: _Outcome[T] = _Outcome()

    def run() -> None:
        try:
            outcome.value = work()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting caller below
            outcome.error = error
        finally:
            outcome.done.set()

    # A thread per call, not a pool: an abandoned worker must never hold up the next call.
    threading.Thread(target=run, name=f"upstream: {what}", daemon=True).start()
    if not outcome.done.wait(budget):
        if abandon is not None:
            abandon()
        raise DeadlineExceededError(f"{what}: no complete answer within {round(budget * 1000)} ms")
    if outcome.error is not None:
        raise outcome.error
    return cast("T", outcome.value)


# -- HTTP ------------------------------------------------------------------------------------
def new_session(pool_size: int = 10) -> requests.Session:
    """A `requests.Session` for upstream calls: no environment, no redirects, no retries."""
    session = requests.Session()
    # No proxies, .netrc or CA bundle from the environment: keys come straight from the issuer,
    # and nothing is sent anywhere else. certifi's CA bundle: the same trust on every image.
    session.trust_env = False
    session.verify = certifi.where()
    # An empty allow-list of domains: no cookie an upstream sets is ever stored or sent back.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers["Accept"] = "application/json"
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _Exchange:
    """One request in flight on a worker thread; `abandon` cuts its body read short."""

    def __init__(self, method: str, url: str, budget: float, options: dict[str, Any]) -> None:
        self.method = method
        self.url = url
        self.budget = budget
        self.options = options
        self.abandoned = threading.Event()
        self.response: requests.Response | None = None

    def abandon(self) -> None:
        self.abandoned.set()
        response = self.response
        if response is not None:
            # Shutting the socket down wakes a worker blocked in a read of a trickling body.
            with contextlib.suppress(ValueError, RuntimeError, OSError):
                # Already released or closed: the worker is finishing anyway.
                response.raw.shutdown()


class HttpClient:
    """GET and POST JSON over one pooled session, each call bounded by a total deadline."""

    def __init__(
        self,
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 2.0,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        max_bytes: int = MAX_BODY_BYTES,
        session: requests.Session | None = None,
        clock: InvocationClock | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._session = session
        self._clock = clock or invocation
        self._lock = threading.Lock()

    def get_json(self, url: str, *, deadline: float | None = None) -> FetchResult:
        """GET `url` and parse its JSON body; raises FetchError on any failure."""
        return self._call("GET", url, deadline=deadline)

    def post_form(
        self,
        url: str,
        form: Mapping[str, str],
        *,
        auth: tuple[str, str],
        deadline: float | None = None,
    ) -> FetchResult:
        """POST a form with HTTP Basic client authentication and parse the JSON answer."""
        return self._call("POST", url, deadline=deadline, data=dict(form), auth=auth)

    __call__ = get_json

    def close(self) -> None:
        """Drop the pooled connections (a new session is made on the next call)."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def _session_for_call(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = new_session()
            return self._session

    def _call(self, method: str, url: str, *, deadline: float | None, **kwargs: Any) -> FetchResult:
        problem = check_url(url)
        if problem is not None:
            raise FetchError(f"refused URL: {problem}")
        budget = self._clock.budget(self._deadline if deadline is None else deadline)
        exchange = _Exchange(method, url, budget, kwargs)
        session = self._session_for_call()
        return call_with_deadline(
            lambda: self._exchange(session, exchange),
            budget,
            f"{method} {_where(url)}",
            abandon=exchange.abandon,
        )

    def _exchange(self, session: requests.Session, exchange: _Exchange) -> FetchResult:
        budget = exchange.budget
        ends = time.monotonic() + budget
        try:
            response = session.request(
                exchange.method,
                exchange.url,
                timeout=(min(self._connect_timeout, budget), min(self._read_timeout, budget)),
                allow_redirects=False,
                stream=True,
                **exchange.options,
            )
        except requests.RequestException as exc:
            raise FetchError(f"request failed ({type(exc).__name__})") from None
        exchange.response = response
        try:
            body = self._read_body(response, exchange, ends)
            max_age = parse_cache_control(response.headers.get("Cache-Control"))
        finally:
            # A partly read body (bad status, over the cap, abandoned) must not go back to the
            # pool with bytes still on the wire: close() drops that connection.
            response.close()
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            # ValueError covers both JSONDecodeError and UnicodeDecodeError.
            raise FetchError("response is not JSON") from None
        return FetchResult(document=document, max_age=max_age)

    def _read_body(self, response: requests.Response, exchange: _Exchange, ends: float) -> bytes:
        if response.status_code != 200:
            raise FetchError(f"HTTP status {response.status_code}")
        declared = response.headers.get("Content-Length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_bytes):
            raise FetchError(f"declared body size exceeds {self._max_bytes} bytes")
        body = bytearray()
        try:
            while True:
                # read1: whatever one read brings (at most _READ_SIZE decoded bytes), so the
                # deadline is looked at between reads even when a server trickles its body.
                chunk = response.raw.read1(_READ_SIZE, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > self._max_bytes:
                    raise FetchError(f"body exceeds {self._max_bytes} bytes")
                if exchange.abandoned.is_set() or time.monotonic() > ends:
                    raise DeadlineExceededError("the body did not arrive within the deadline")
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise FetchError(f"reading the body failed ({type(exc).__name__})") from None
        return bytes(body)


def _where(url: str) -> str:
    """The scheme, host and path of `url` for messages (never a query string)."""
    return url.split("?", 1)[0]


def parse_cache_control(value: str | None) -> int | None:
    """Cache-Control `max-age`: 0 for no-store/no-cache, None if absent or malformed."""
    if not value:
        return None
    ages: list[int] = []
    for raw in value.split(","):
        directive = raw.strip()
        name = directive.split("=", 1)[0].strip().lower()
        if name in ("no-store", "no-cache"):
            return 0
        if name == "max-age":
            match = _MAX_AGE.fullmatch(directive)
            if match is not None:
                ages.append(int(match.group(1) or match.group(2)))
    # Conflicting max-age directives: the shortest is the safe reading.
    return min(ages) if ages else None


_client: HttpClient | None = None
_client_lock = threading.Lock()


def get_http_client(deadline: float = DEFAULT_DEADLINE_SECONDS) -> HttpClient:
    """The process-wide HTTP client (one session, one pool), built on first use."""
    global _client  # noqa: PLW0603 - one pooled session per process, reset by reset_http_client
    with _client_lock:
        if _client is None:
            _client = HttpClient(deadline=deadline)
        return _client


def reset_http_client() -> None:
    """Close and forget the process-wide client (tests; SnapStart restore)."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()
