"""Access-token validation; the only module that imports python-jose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A verified Okta access token: the claims the rest of the authorizer may trust."""

    claims: Mapping[str, Any]
    scopes: tuple[str, ...]
    sub: str
    cid: str | None
    uid: str | None
    jti: str | None
    exp: int
    issuer: str
    kid: str
