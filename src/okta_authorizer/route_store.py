"""The route map in SSM Parameter Store: loaded through Powertools, cached, last good map kept."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from okta_authorizer.errors import RouteMapError, RoutesUnavailableError
from okta_authorizer.observability import count
from okta_authorizer.routes import RouteMap, parse_route_map

if TYPE_CHECKING:
    from okta_authorizer.settings import Settings

log = logging.getLogger(__name__)

Loader = Callable[[str], Mapping[str, str]]
Clock = Callable[[], float]

#: After a failed refresh, how long the last good map is served before SSM is asked again; short
#: enough to pick up a fix quickly, long enough not to hammer SSM (and its throttling) per call.
RETRY_AFTER_FAILURE_SECONDS = 30


class SsmLoader:
    """Reads every parameter under a path (recursive, decrypted) with Powertools parameters."""

    def __init__(self) -> None:
        self._provider: Any = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Build the SSM client now (no request): SnapStart snapshots it with the imports."""
        self._get_provider()

    def close(self) -> None:
        """Drop the SSM client's pooled connections (after a SnapStart restore)."""
        with self._lock:
            if self._provider is not None:
                self._provider.client.close()

    def _get_provider(self) -> Any:
        with self._lock:
            if self._provider is None:
                # Imported here: boto3 costs ~150 ms and is only needed once a map must be fetched.
                from aws_lambda_powertools.utilities.parameters import SSMProvider

                self._provider = SSMProvider()
            return self._provider

    def __call__(self, path: str) -> Mapping[str, str]:
        """Return {parameter name: value} for every parameter under `path`."""
        provider = self._get_provider()
        # force_fetch: RouteStore owns the caching (and the last-good fallback) itself.
        values = provider.get_multiple(path, recursive=True, decrypt=True, force_fetch=True)
        return {f"{path}/{name}": str(value) for name, value in values.items()}


class RouteStore:
    """The current route map: refreshed every `max_age` seconds, the last good one kept on error."""

    def __init__(
        self,
        path: str,
        *,
        loader: Loader,
        clock: Clock = time.monotonic,
        max_age: int = 300,
        retry_after_failure: int = RETRY_AFTER_FAILURE_SECONDS,
        observer: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._loader = loader
        self._clock = clock
        self._max_age = max_age
        self._retry_after_failure = retry_after_failure
        self._observer = observer or (lambda _name: None)
        self._lock = threading.Lock()
        self._map: RouteMap | None = None
        self._next_refresh = 0.0
        self._last_error: str | None = None

    @property
    def loaded(self) -> bool:
        """True once a valid map has been loaded."""
        return self._map is not None

    def prepare(self) -> None:
        """Build the loader's clients without fetching (SnapStart, before the snapshot)."""
        prepare = getattr(self._loader, "prepare", None)
        if callable(prepare):
            prepare()

    def forget_age(self) -> None:
        """Treat the loaded map as due now and drop the loader's connections (SnapStart restore)."""
        with self._lock:
            self._next_refresh = 0.0
        close = getattr(self._loader, "close", None)
        if callable(close):
            close()

    def current(self) -> RouteMap:
        """The map to decide with; RoutesUnavailableError when there has never been a valid one."""
        route_map = self._map
        if route_map is not None and self._clock() < self._next_refresh:
            return route_map
        with self._lock:
            if self._map is not None and self._clock() < self._next_refresh:
                return self._map
            return self._refresh()

    def _refresh(self) -> RouteMap:
        try:
            documents = self._loader(self.path)
            fresh = parse_route_map(documents) if documents else None
        except RouteMapError as error:
            return self._fall_back(f"invalid route map: {error.detail}")
        except Exception as error:  # noqa: BLE001 - any SSM/botocore failure is an outage here
            return self._fall_back(f"route map not loaded: {type(error).__name__}: {error}")
        if fresh is None:
            return self._fall_back(f"no parameters under {self.path}")
        if self._map is None or fresh.version != self._map.version:
            log.info(
                "route map loaded",
                extra={"path": self.path, "version": fresh.version, "rules": len(fresh.rules)},
            )
        self._map = fresh
        self._last_error = None
        self._next_refresh = self._clock() + self._max_age
        return fresh

    def _fall_back(self, problem: str) -> RouteMap:
        self._last_error = problem
        if self._map is None:
            log.error("no route map available: %s", problem, extra={"path": self.path})
            raise RoutesUnavailableError(problem)
        self._next_refresh = self._clock() + min(self._retry_after_failure, self._max_age)
        log.warning(
            "route map refresh failed, serving the last good map: %s",
            problem,
            extra={"path": self.path, "version": self._map.version},
        )
        self._observer("RoutesStaleServed")
        return self._map


@functools.cache
def get_route_store(settings: Settings) -> RouteStore:
    """The process-wide route store for these settings (reset: `get_route_store.cache_clear()`)."""
    return RouteStore(
        settings.routes_parameter_path,
        loader=SsmLoader(),
        max_age=settings.routes_cache_seconds,
        observer=count,
    )
