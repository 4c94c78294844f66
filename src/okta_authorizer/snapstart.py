"""SnapStart runtime hooks: import before the snapshot; after a restore, trust no cached age.

Lambda SnapStart (opt-in: the template's `EnableSnapStart`) runs the init phase once per published
version, snapshots the memory and restores it for each new execution environment. Two things a
snapshot carries over are wrong after a restore:

- ages: `time.monotonic()` may jump (or not) across a restore, and the snapshot may be days old,
  so a key set or route map loaded before the snapshot must not count as fresh after it;
- connections: pooled TCP/TLS connections of the snapshot belong to another machine's past.

So before the snapshot the hooks import and build everything the first decision needs, with no
outside call (the first decision after a restore fetches the key set and route map like any cold
start, only without the imports); after a restore every cache is marked of unknown age (refreshed on
first use, served stale only within the usual stale rules) and pooled connections are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from okta_authorizer import service
from okta_authorizer.settings import get_settings

log = logging.getLogger(__name__)


def register_hooks(
    register_before: Callable[[Callable[[], None]], Any] | None = None,
    register_after: Callable[[Callable[[], None]], Any] | None = None,
) -> bool:
    """Register the hooks with `snapshot_restore_py`; False where it is absent (not on Lambda)."""
    if register_before is None or register_after is None:
        try:
            # Present in Lambda's Python runtimes (3.12+); pinned for tests in requirements-dev.
            from snapshot_restore_py import register_after_restore, register_before_snapshot
        except ImportError:
            return False
        register_before, register_after = register_before_snapshot, register_after_restore
    register_before(before_snapshot)
    register_after(after_restore)
    return True


def before_snapshot() -> None:
    """Import and build what the first decision needs, without any outside call."""
    service.prepare(get_settings())
    log.info("snapshot prepared: modules imported, clients built, nothing fetched")


def after_restore() -> None:
    """Every cached age is unknown now: revalidate on first use, and drop pooled connections."""
    service.forget_ages()
    log.info("restored from a snapshot: caches marked of unknown age, connections dropped")
