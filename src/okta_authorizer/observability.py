"""Powertools Logger and Metrics, and a Tracer that is imported only when tracing is on."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

#: Used when POWERTOOLS_METRICS_NAMESPACE is unset: without a namespace Powertools refuses to flush,
#: which would turn every invocation into a 500.
DEFAULT_NAMESPACE = "OktaAuthorizer"

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
logger = Logger()
metrics = Metrics()
if metrics.namespace is None:
    metrics.namespace = DEFAULT_NAMESPACE
# Rejections carry a `reason` dimension that must not leak onto the invocation's other metrics,
# so they go through their own (unshared) EMF blob.
_rejections = EphemeralMetrics(namespace=metrics.namespace)


def count(name: str) -> None:
    """Add 1 to a Count metric flushed at the end of this invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_rejection(reason: str) -> None:
    """Emit `Rejected` with a `reason` dimension, in its own EMF blob."""
    _rejections.add_dimension(name="reason", value=reason)
    _rejections.add_metric(name="Rejected", unit=MetricUnit.Count, value=1)
    _rejections.flush_metrics()
    _rejections.clear_metrics()  # flush skips this when POWERTOOLS_METRICS_DISABLED is set


@functools.cache
def get_tracer() -> Tracer:
    """The X-Ray tracer, created on first use: importing it costs ~250 ms even when disabled."""
    from aws_lambda_powertools import Tracer

    return Tracer()
