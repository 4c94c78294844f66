"""The sample API Gateway events in events/, with a real token in place of the placeholder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"
#: What the sample events carry where a token belongs (`Bearer <okta-access-token>`).
PLACEHOLDER = "<okta-access-token>"


def load_event(name: str, token: str | None) -> dict[str, Any]:
    """events/`name` carrying `token`; with None, the Authorization header and sources removed."""
    text = (EVENTS_DIR / name).read_text(encoding="utf-8")
    if token is not None:
        loaded: dict[str, Any] = json.loads(text.replace(PLACEHOLDER, token))
        return loaded
    event: dict[str, Any] = json.loads(text)
    event.pop("authorizationToken", None)
    event.pop("identitySource", None)
    for key in ("headers", "multiValueHeaders"):
        if key in event:
            event[key].pop("authorization", None)
    return event
