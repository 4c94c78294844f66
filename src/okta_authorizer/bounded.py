"""Bounded caches: plain dicts that drop their oldest entries once full."""

from __future__ import annotations

import itertools
from typing import Any


def make_room(cache: dict[Any, Any], limit: int) -> None:
    """Once `cache` holds `limit` entries, drop the oldest (dicts keep insertion order) to 3/4.

    A quarter at once, not one entry per insert: a full cache then costs one sweep per limit/4
    new entries instead of a sweep per entry.
    """
    if len(cache) >= limit:
        shrink(cache, limit)


def shrink(cache: dict[Any, Any], limit: int) -> None:
    """Drop the oldest entries of `cache` until at most three quarters of `limit` are left."""
    excess = len(cache) - (limit - max(1, limit // 4))
    if excess > 0:
        for old in list(itertools.islice(cache, excess)):
            del cache[old]
