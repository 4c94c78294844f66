"""Powertools Logger, the decision line (audit log and EMF metrics in one), a lazy Tracer.

Every invocation writes exactly one decision line: a JSON log line in the Powertools Logger's
shape (level, message, timestamp, service, cold_start, function_name, function_request_id) and
the audit fields, which is at the same time the invocation's CloudWatch EMF document (`_aws`
plus the metric values), so CloudWatch turns the audit log into the metrics.

It is written by hand, not with `Logger.info` + `@metrics.log_metrics`: measured on this project's
benchmark machine (benchmarks/README.md), Logger.info with the decision fields costs 110 us
(2.5x the RS256 check), Metrics add_metric + flush 54 us and with the fields as metadata 74 us,
while this line costs ~8 us (one orjson.dumps, one write). Every other log line still goes
through the Powertools Logger, into the same stream.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from okta_authorizer.bounded import make_room

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

#: Used when POWERTOOLS_METRICS_NAMESPACE is unset.
DEFAULT_NAMESPACE = "OktaAuthorizer"
#: The metric dimension every metric of the decision line carries.
SERVICE_DIMENSION = "service"
_DIRECTIVE_CACHE_LIMIT = 64

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE;
# `metrics` resolves them exactly as Powertools does and is never flushed itself.
logger = Logger()
metrics = Metrics()


class DecisionLog:
    """Writes the one decision line per invocation, carrying the metrics counted during it."""

    def __init__(
        self,
        *,
        service: str,
        namespace: str | None,
        metrics_enabled: bool,
        handler: logging.Handler | None = None,
        formatter: Any = None,
        clock: Any = time.time,
    ) -> None:
        self._service = service
        self._namespace = namespace or DEFAULT_NAMESPACE
        self._metrics_enabled = metrics_enabled
        self._handler = handler
        self._formatter = formatter
        self._clock = clock
        self._directive_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # name -> count, added by count() during an invocation (key-set fetches, stale maps...)
        self._pending: dict[str, int] = {}
        self._lambda: dict[str, Any] = {}
        self._cold_start = True
        self._second = -1
        self._time_prefix = ""
        self._time_zone = ""

    def count(self, name: str) -> None:
        """Add 1 to a Count metric written with the next decision line."""
        with self._lock:
            self._pending[name] = self._pending.get(name, 0) + 1

    def start(self, context: Any) -> None:
        """Remember the Lambda context keys of this invocation (request id, function name)."""
        request_id = getattr(context, "aws_request_id", None)
        self._lambda = {
            "cold_start": self._cold_start,
            "function_name": getattr(context, "function_name", None),
            "function_request_id": request_id,
        }
        self._cold_start = False
        if self._formatter is not None:
            # What Logger.append_keys does, without its two property lookups per call: every
            # other Powertools line of this invocation carries the request id too.
            self._formatter.append_keys(function_request_id=request_id)

    def write(
        self,
        level: str,
        fields: Mapping[str, Any],
        metric: str,
        *,
        by_reason: bool = False,
        size: tuple[str, int] | None = None,
    ) -> None:
        """Write the decision line: `fields`, `metric` + every pending count, as JSON + EMF.

        `by_reason` also publishes `metric` per value of the line's `reason` field; `size` is a
        (name, bytes) metric published with the unit Bytes.
        """
        now = self._clock()
        document: dict[str, Any] = {
            "level": level,
            "message": "decision",
            "timestamp": self._timestamp(now),
            "service": self._service,
            **self._lambda,
            **fields,
        }
        with self._lock:
            counts, self._pending = self._pending, {}
        counts[metric] = counts.get(metric, 0) + 1
        if self._metrics_enabled:
            # A metric named like a field of the line would overwrite it: never let it.
            names = tuple(name for name in counts if name not in document)
            for name in names:
                document[name] = counts[name]
            size_name = None
            if size is not None and size[0] not in document:
                size_name, document[size[0]] = size
            by_reason = by_reason and isinstance(fields.get("reason"), str) and metric in names
            document["_aws"] = {
                "Timestamp": int(now * 1000),
                "CloudWatchMetrics": self._directives(
                    names, size_name, metric if by_reason else None
                ),
            }
        self._emit(_encode_line(document))

    def _directives(
        self, names: tuple[str, ...], size: str | None, by_reason: str | None
    ) -> list[dict[str, Any]]:
        """The EMF metric directives for these metric names, built once per combination."""
        key = (names, size, by_reason)
        directives = self._directive_cache.get(key)
        if directives is None:
            metrics = [{"Name": name, "Unit": "Count"} for name in names]
            if size is not None:
                metrics.append({"Name": size, "Unit": "Bytes"})
            directives = [
                {
                    "Namespace": self._namespace,
                    "Dimensions": [[SERVICE_DIMENSION]],
                    "Metrics": metrics,
                }
            ]
            if by_reason is not None:
                directives.append(
                    {
                        "Namespace": self._namespace,
                        "Dimensions": [[SERVICE_DIMENSION, "reason"]],
                        "Metrics": [{"Name": by_reason, "Unit": "Count"}],
                    }
                )
            # The metric names are this module's callers' constants: a handful of combinations.
            make_room(self._directive_cache, _DIRECTIVE_CACHE_LIMIT)
            self._directive_cache[key] = directives
        return directives

    def _emit(self, line: str) -> None:
        handler = self._handler
        stream: IO[str] = getattr(handler, "stream", None) or sys.stdout
        if handler is None:
            stream.write(line)
            stream.flush()
            return
        # The handler's own lock: a Powertools log line from another thread never interleaves.
        handler.acquire()
        try:
            stream.write(line)
            stream.flush()
        finally:
            handler.release()

    def _timestamp(self, now: float) -> str:
        # Powertools' default format ('2021-05-03 10:20:19,650+0200'); strftime once per second.
        second = int(now)
        if second != self._second:
            local = time.localtime(second)
            self._time_prefix = time.strftime("%Y-%m-%d %H:%M:%S", local)
            self._time_zone = time.strftime("%z", local)
            self._second = second
        return f"{self._time_prefix},{int((now - second) * 1000):03d}{self._time_zone}"


def _encode_line(document: Mapping[str, Any]) -> str:
    try:
        # orjson: ~1 us for the whole line where json.dumps took ~14 us (benchmarks/README.md).
        return orjson.dumps(document, default=str, option=orjson.OPT_APPEND_NEWLINE).decode()
    except orjson.JSONEncodeError:
        # Only a string orjson refuses (a lone surrogate from an event field) gets here: the
        # standard library escapes it, so the decision is still logged, never a 500.
        return json.dumps(document, separators=(",", ":"), default=str) + "\n"


@functools.cache
def get_decision_log() -> DecisionLog:
    """The process-wide decision log, writing where the Powertools Logger writes."""
    return DecisionLog(
        service=logger.service,
        namespace=metrics.namespace,
        # Read once per process (Powertools reads its variables on every flush).
        metrics_enabled=not is_metrics_disabled(),
        handler=logger.registered_handler,
        formatter=logger.registered_formatter,
    )


def count(name: str) -> None:
    """Add 1 to a Count metric published with this invocation's decision line."""
    get_decision_log().count(name)


@functools.cache
def get_tracer() -> Tracer:
    """The X-Ray tracer, created on first use: importing it costs ~250 ms even when disabled."""
    from aws_lambda_powertools import Tracer

    return Tracer()
