"""A flood of tokens with random key ids: how many times the handler asks the issuer for keys."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from typing import IO, Any

from benchmarks.environment import AUDIENCE, reset_caches, token_event
from benchmarks.scenarios import check_allowed, handler_call, production_output
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import b64url, b64url_json, okta_claims


def random_kid_tokens(issuer: str, count: int) -> list[str]:
    """Well-formed tokens from the trusted issuer naming unknown keys (signatures are noise:
    whoever floods with random key ids cannot sign anyway, and no key is found to check them)."""
    tokens = []
    for _ in range(count):
        header = b64url_json({"kid": secrets.token_urlsafe(12), "alg": "RS256"})
        claims = b64url_json(okta_claims(issuer, AUDIENCE))
        tokens.append(f"{header}.{claims}.{b64url(secrets.token_bytes(256))}")
    return tokens


def measure_flood(
    issuer: LocalIssuer, valid_token: str, count: int, sink: IO[str]
) -> dict[str, Any]:
    """Warm the handler with one valid token, then send `count` random-kid tokens; count fetches."""
    events = [token_event(token) for token in random_kid_tokens(issuer.issuer, count)]
    reset_caches()
    outcomes: Counter[str] = Counter()
    with production_output(sink):
        invoke = handler_call()
        first = token_event(valid_token)
        check_allowed(invoke(first), first)
        issuer.reset_counts()
        started = time.perf_counter()
        for event in events:
            try:
                invoke(event)
                outcomes["answered"] += 1
            except Exception as error:  # noqa: BLE001 - API Gateway's view: 401 or 500
                outcomes["401" if str(error) == "Unauthorized" else "500"] += 1
        elapsed = time.perf_counter() - started
    return {
        "tokens": count,
        "keys_requests": issuer.count("keys"),
        "discovery_requests": issuer.count("discovery"),
        "outcomes": dict(outcomes),
        "seconds": elapsed,
    }
