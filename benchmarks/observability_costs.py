"""What one decision log line and one EMF flush cost, in production form and in cheaper forms."""

from __future__ import annotations

import json
import logging
import time
from typing import IO, Any

from benchmarks.timing import Row, sample

#: A decision line's worth of fields: the dozen the handler writes, give or take.
FIELDS: dict[str, Any] = {
    "decision": "allow",
    "reason": None,
    "route": "GET /beds",
    "sub": "nurse.joy@example.com",
    "cid": "0oa1webapp",
    "uid": "00u1nursejoy",
    "jti": "AT.abcdefghijklmnopqrstuv",
    "iss": "https://acme.okta.com/oauth2/default",
    "kid": "test-key-1",
    "scope": "beds:read",
    "policy_bytes": 412,
    "latency_ms": 0.123,
}


def measure_powertools_log(sink: IO[str], samples: int, warmup: int) -> Row:
    """The handler's own Logger (lambda context keys appended): logger.info with 12 extra fields."""
    from okta_authorizer.observability import logger

    handler: Any = logger.registered_handler
    original = handler.stream
    handler.setStream(sink)
    try:
        row = Row("log_powertools", "Powertools Logger.info, 12 fields")
        row.samples_ns = sample(
            lambda _: logger.info("decision", extra=FIELDS), range(samples + warmup), warmup
        )
    finally:
        handler.setStream(original)
    return row


def measure_powertools_log_rfc3339(sink: IO[str], samples: int, warmup: int) -> Row:
    """A Powertools Logger with use_rfc3339 (datetime.isoformat instead of strftime + %F)."""
    from aws_lambda_powertools import Logger

    logger = Logger(
        service="bench-rfc3339", use_rfc3339=True, logger_handler=logging.StreamHandler(sink)
    )
    row = Row("log_powertools_rfc3339", "Powertools Logger.info, 12 fields, use_rfc3339")
    row.samples_ns = sample(
        lambda _: logger.info("decision", extra=FIELDS), range(samples + warmup), warmup
    )
    return row


def measure_powertools_log_orjson(sink: IO[str], samples: int, warmup: int) -> Row:
    """A Powertools Logger whose json_serializer is orjson (Powertools' documented hook)."""
    import orjson
    from aws_lambda_powertools import Logger

    def serialize(document: Any) -> str:
        return orjson.dumps(document, default=str).decode()

    logger = Logger(
        service="bench-orjson",
        json_serializer=serialize,
        logger_handler=logging.StreamHandler(sink),
    )
    row = Row("log_powertools_orjson", "Powertools Logger.info, 12 fields, orjson serializer")
    row.samples_ns = sample(
        lambda _: logger.info("decision", extra=FIELDS), range(samples + warmup), warmup
    )
    return row


class _JsonLineFormatter(logging.Formatter):
    """The least a JSON decision line needs: level, message, time, service and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "level": record.levelname,
            "message": record.getMessage(),
            "timestamp": int(record.created * 1000),
            "service": "bench",
            **getattr(record, "fields", {}),
        }
        return json.dumps(line, separators=(",", ":"), default=str)


def measure_stdlib_log(sink: IO[str], samples: int, warmup: int) -> Row:
    """stdlib logging with a minimal JSON formatter: the floor for a line through `logging`."""
    logger = logging.getLogger("benchmarks.stdlib-json")
    logger.propagate = False
    handler = logging.StreamHandler(sink)
    handler.setFormatter(_JsonLineFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    extra = {"fields": FIELDS}
    row = Row("log_stdlib_json", "stdlib logging + minimal JSON formatter, 12 fields")
    row.samples_ns = sample(
        lambda _: logger.info("decision", extra=extra), range(samples + warmup), warmup
    )
    return row


def measure_emf_flush(sink: IO[str], samples: int, warmup: int) -> Row:
    """Powertools Metrics, one Count metric flushed per call (what the decision line replaced)."""
    import contextlib

    from aws_lambda_powertools import Metrics

    metrics = Metrics(namespace="OktaAuthorizerBench", service="okta-authorizer-bench")

    def flush(_: object) -> None:
        metrics.add_metric(name="Allowed", unit="Count", value=1)
        metrics.flush_metrics()

    row = Row("emf_powertools", "Powertools Metrics add_metric + flush (1 metric)")
    with contextlib.redirect_stdout(sink):
        row.samples_ns = sample(flush, range(samples + warmup), warmup)
    return row


def measure_decision_line(sink: IO[str], samples: int, warmup: int) -> Row:
    """What the handler writes now: its decision line, audit fields and EMF in one document."""
    from okta_authorizer.observability import DecisionLog

    handler = logging.StreamHandler(sink)
    log = DecisionLog(
        service="okta-authorizer-bench",
        namespace="OktaAuthorizerBench",
        metrics_enabled=True,
        handler=handler,
    )
    # The nine fields app._log_decision writes; the policy size travels as the PolicyBytes metric.
    fields = {
        key: value for key, value in FIELDS.items() if key not in ("uid", "scope", "policy_bytes")
    }
    size = ("PolicyBytes", FIELDS["policy_bytes"])

    def write(_: object) -> None:
        log.write("INFO", fields, "Allowed", size=size)

    row = Row("decision_line", "the handler's decision line: audit fields + EMF, one write")
    row.samples_ns = sample(write, range(samples + warmup), warmup)
    return row


def measure_emf_hand_rolled(sink: IO[str], samples: int, warmup: int) -> Row:
    """One EMF document built and written by hand: the floor for a metric per invocation."""
    namespace, service = "OktaAuthorizerBench", "okta-authorizer-bench"

    def flush(_: object) -> None:
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [["service"]],
                        "Metrics": [{"Name": "Allowed", "Unit": "Count"}],
                    }
                ],
            },
            "service": service,
            "Allowed": [1.0],
        }
        sink.write(json.dumps(document, separators=(",", ":")) + "\n")

    row = Row("emf_hand_rolled", "EMF document by hand, json.dumps + write (1 metric)")
    row.samples_ns = sample(flush, range(samples + warmup), warmup)
    return row
