"""The decision line: one JSON line per invocation that is both the audit record and EMF metrics."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from okta_authorizer.localdev.lambda_context import FakeLambdaContext
from okta_authorizer.observability import DecisionLog

NOW = 1_800_000_000.25
ALLOW_FIELDS: dict[str, Any] = {
    "decision": "allow",
    "reason": None,
    "route": "GET /beds",
    "sub": "nurse.joy@example.com",
    "cid": "0oa1webapp",
    "jti": "AT.audit-me",
    "iss": "https://acme.okta.com/oauth2/default",
    "kid": "key-1",
    "latency_ms": 0.25,
}


def decision_log(*, metrics_enabled: bool = True) -> tuple[DecisionLog, io.StringIO]:
    buffer = io.StringIO()
    log = DecisionLog(
        service="okta-authorizer-test",
        namespace="OktaAuthorizerTest",
        metrics_enabled=metrics_enabled,
        handler=logging.StreamHandler(buffer),
        clock=lambda: NOW,
    )
    return log, buffer


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def published(document: dict[str, Any]) -> dict[tuple[str, ...], dict[str, float]]:
    """What CloudWatch extracts from an EMF document: {dimension names: {metric: value}}.

    Fails the test if the document breaks the EMF rules this line relies on: every metric is a
    top-level number, every dimension a top-level string.
    """
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == "OktaAuthorizerTest"
        for dimensions in directive["Dimensions"]:
            assert all(isinstance(document[name], str) for name in dimensions)
            for metric in directive["Metrics"]:
                assert metric["Unit"] == ("Bytes" if metric["Name"].endswith("Bytes") else "Count")
                value = document[metric["Name"]]
                assert isinstance(value, int | float)
                assert not isinstance(value, bool)
                out.setdefault(tuple(dimensions), {})[metric["Name"]] = value
    assert isinstance(document["_aws"]["Timestamp"], int)
    return out


def test_decision_line_allow_is_one_line_with_audit_fields_and_its_metric() -> None:
    # GIVEN a decision log in a Lambda invocation
    log, buffer = decision_log()
    log.start(FakeLambdaContext(aws_request_id="req-1"))

    # WHEN an allow is written
    log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN exactly one JSON line holds the Powertools keys, the audit fields and `Allowed` = 1
    [line] = lines(buffer)
    assert line["level"] == "INFO"
    assert line["message"] == "decision"
    assert line["service"] == "okta-authorizer-test"
    assert line["function_request_id"] == "req-1"
    assert line["function_name"] == "okta-authorizer-local"
    assert {key: line[key] for key in ALLOW_FIELDS} == ALLOW_FIELDS
    assert published(line) == {("service",): {"Allowed": 1}}
    assert line["_aws"]["Timestamp"] == int(NOW * 1000)


def test_decision_line_rejection_is_counted_in_total_and_by_reason() -> None:
    # GIVEN a rejected token
    log, buffer = decision_log()
    fields = {"decision": "unauthorized", "reason": "bad_signature", "detail": "x"}

    # WHEN its line is written with the reason dimension
    log.write("INFO", fields, "Rejected", by_reason=True)

    # THEN Rejected is published for the service and for the service and reason
    [line] = lines(buffer)
    assert published(line) == {
        ("service",): {"Rejected": 1},
        ("service", "reason"): {"Rejected": 1},
    }
    assert line["reason"] == "bad_signature"


def test_decision_line_carries_counts_of_its_invocation_once() -> None:
    # GIVEN a key-set fetch counted during the first invocation
    log, buffer = decision_log()
    log.count("KeySetFetched")

    # WHEN two invocations write their lines
    log.write("INFO", ALLOW_FIELDS, "Allowed")
    log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN the fetch is published with the first line only
    first, second = lines(buffer)
    assert published(first) == {("service",): {"KeySetFetched": 1, "Allowed": 1}}
    assert published(second) == {("service",): {"Allowed": 1}}


def test_decision_line_metric_named_like_a_field_never_overwrites_the_field() -> None:
    # GIVEN a count whose name is also an audit field
    log, buffer = decision_log()
    log.count("route")

    # WHEN the line is written
    log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN the audit field keeps its value, and only valid metrics are published
    [line] = lines(buffer)
    assert line["route"] == "GET /beds"
    assert published(line) == {("service",): {"Allowed": 1}}


def test_decision_line_with_metrics_disabled_is_still_written_without_emf() -> None:
    # GIVEN POWERTOOLS_METRICS_DISABLED (as the demo sets it)
    log, buffer = decision_log(metrics_enabled=False)

    # WHEN a decision is written
    log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN the audit line is there, without the EMF part
    [line] = lines(buffer)
    assert line["decision"] == "allow"
    assert "_aws" not in line
    assert "Allowed" not in line


def test_decision_line_cold_start_is_true_only_for_the_first_invocation() -> None:
    # GIVEN a fresh process
    log, buffer = decision_log()

    # WHEN two invocations run
    for _ in range(2):
        log.start(FakeLambdaContext())
        log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN the first line says cold start and the second does not
    assert [line["cold_start"] for line in lines(buffer)] == [True, False]


@pytest.mark.parametrize(
    ("level", "metric"), [("INFO", "Denied"), ("ERROR", "Unavailable")], ids=["deny", "outage"]
)
def test_decision_line_level_and_metric_follow_the_outcome(level: str, metric: str) -> None:
    # GIVEN a deny or an outage
    log, buffer = decision_log()

    # WHEN its line is written
    log.write(level, {"decision": "x", "reason": "y"}, metric)

    # THEN the level and metric are the ones given
    [line] = lines(buffer)
    assert line["level"] == level
    assert published(line) == {("service",): {metric: 1}}


def test_decision_line_with_a_lone_surrogate_in_a_field_is_still_one_json_line() -> None:
    # GIVEN a route read from an event that carries a lone surrogate (orjson refuses to encode it)
    log, buffer = decision_log()
    fields = dict(ALLOW_FIELDS, decision="deny", route="GET /beds/\ud800")

    # WHEN the line is written
    log.write("INFO", fields, "Denied")

    # THEN it is written all the same, escaped, with its metric
    [line] = lines(buffer)
    assert line["route"] == "GET /beds/\ud800"
    assert published(line) == {("service",): {"Denied": 1}}
    assert "\\ud800" in buffer.getvalue()


def test_decision_log_start_puts_the_request_id_on_every_powertools_line() -> None:
    # GIVEN a Powertools Logger and a decision log started for two invocations in turn
    buffer = io.StringIO()
    powertools = Logger(service="test", logger_handler=logging.StreamHandler(buffer))
    log = DecisionLog(
        service="okta-authorizer-test",
        namespace=None,
        metrics_enabled=False,
        handler=powertools.registered_handler,
        formatter=powertools.registered_formatter,
    )

    # WHEN each invocation writes an ordinary Powertools line
    for request_id in ("req-1", "req-2"):
        log.start(FakeLambdaContext(aws_request_id=request_id))
        powertools.warning("route map is stale")

    # THEN each line carries its own invocation's request id
    assert [line["function_request_id"] for line in lines(buffer)] == ["req-1", "req-2"]


def test_decision_line_size_metric_is_published_in_bytes_beside_the_counts() -> None:
    # GIVEN an allow whose policy is 412 bytes, and a key-set fetch counted during the invocation
    log, buffer = decision_log()
    log.count("KeySetFetched")

    # WHEN the line is written with the size
    log.write("INFO", ALLOW_FIELDS, "Allowed", size=("PolicyBytes", 412))

    # THEN the counts and the size are published together, the size in Bytes
    [line] = lines(buffer)
    assert published(line) == {("service",): {"KeySetFetched": 1, "Allowed": 1, "PolicyBytes": 412}}
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert {"Name": "PolicyBytes", "Unit": "Bytes"} in directive["Metrics"]


def test_decision_line_without_a_handler_goes_to_standard_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a decision log with no logging handler to share (no Powertools Logger configured)
    log = DecisionLog(service="okta-authorizer-test", namespace=None, metrics_enabled=True)

    # WHEN a line is written
    log.write("INFO", ALLOW_FIELDS, "Allowed")

    # THEN it is one JSON line on standard output, in the default namespace
    [line] = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    assert document["decision"] == "allow"
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OktaAuthorizer"
