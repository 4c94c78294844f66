"""Powertools Logger, the decision line (audit log and EMF metrics in one), a lazy Tracer.

Every invocation writes exactly one decision line: a JSON log line in the Powertools Logger's
shape (level, message, timestamp, service, cold_start, function_name, function_request_id) and
the audit fields, which is at the same time the invocation's CloudWatch EMF document (`_aws`
plus the metric values), so CloudWatch turns the audit log into the metrics.

It is written by hand, not with `Logger.info` + `@metrics.log_metrics`: measured on this project's
benchmark machine (benchmarks/README.md), Logger.info with the decision fields costs 110 us
(2.5x the RS256 check), Metrics add_metric + flush 54 us and with the fields as metadata 74 us,
while this line costs 26 us (one json.dumps, one write). Every other log line still goes
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

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

#: Used when POWERTOOLS_METRICS_NAMESPACE is unset.
DEFAULT_NAMESPACE = "OktaAuthorizer"
#: The metric dimension every metric of the decision line carries.
SERVICE_DIMENSION = "service"

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
        clock: Any = time.time,
    ) -> None:
        self._service = service
        self._namespace = namespace or DEFAULT_NAMESPACE
        self._metrics_enabled = metrics_enabled
        self._handler = handler
        self._clock = clock
        self._encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
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
        self._lambda = {
            "cold_start": self._cold_start,
            "function_name": getattr(context, "function_name", None),
            "function_request_id": getattr(context, "aws_request_id", None),
        }
        self._cold_start = False

    def write(
        self,
        level: str,
        fields: Mapping[str, Any],
        metric: str,
        *,
        by_reason: bool = False,
    ) -> None:
        """Write the decision line: `fields`, `metric` + every pending count, as JSON + EMF.

        `by_reason` also publishes `metric` per value of the line's `reason` field.
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
            names = [name for name in counts if name not in document]
            directives = [
                {
                    "Namespace": self._namespace,
                    "Dimensions": [[SERVICE_DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
                }
            ]
            if by_reason and isinstance(fields.get("reason"), str) and metric in names:
                directives.append(
                    {
                        "Namespace": self._namespace,
                        "Dimensions": [[SERVICE_DIMENSION, "reason"]],
                        "Metrics": [{"Name": metric, "Unit": "Count"}],
                    }
                )
            document["_aws"] = {"Timestamp": int(now * 1000), "CloudWatchMetrics": directives}
            for name in names:
                document[name] = counts[name]
        self._emit(self._encode(document) + "\n")

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


@functools.cache
def get_decision_log() -> DecisionLog:
    """The process-wide decision log, writing where the Powertools Logger writes."""
    return DecisionLog(
        service=logger.service,
        namespace=metrics.namespace,
        # Read once per process (Powertools reads its variables on every flush).
        metrics_enabled=not is_metrics_disabled(),
        handler=logger.registered_handler,
    )


def count(name: str) -> None:
    """Add 1 to a Count metric published with this invocation's decision line."""
    get_decision_log().count(name)


@functools.cache
def get_tracer() -> Tracer:
    """The X-Ray tracer, created on first use: importing it costs ~250 ms even when disabled."""
    from aws_lambda_powertools import Tracer

    return Tracer()
