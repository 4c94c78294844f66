"""Bounded caches: plain dicts that drop their oldest entries once full."""

from __future__ import annotations

import itertools
from typing import Any


def make_room(cache: dict[Any, Any], limit: int) -> None:
    """Drop the oldest quarter of `cache` (dicts keep insertion order) once it holds `limit`.

    A quarter at once, not one entry per insert: a full cache then costs one sweep per limit/4
    new entries instead of a sweep per entry.
    """
    if len(cache) >= limit:
        for old in list(itertools.islice(cache, max(1, limit // 4))):
            del cache[old]
