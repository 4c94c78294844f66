"""The IAM-style evaluator: wildcard semantics and the Deny > Allow > implicit deny order."""

from __future__ import annotations

from typing import Any

import pytest

from okta_authorizer.errors import AuthorizerError, Reason
from okta_authorizer.iam import evaluate

STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(*resources: str, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


def deny(*resources: str, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": list(resources)}


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        (f"{STAGE}/GET/beds", f"{STAGE}/GET/beds", "Allow"),
        (f"{STAGE}/GET/beds", f"{STAGE}/GET/beds/1", "ImplicitDeny"),
        (f"{STAGE}/GET/beds", f"{STAGE}/GET/Beds", "ImplicitDeny"),
        (f"{STAGE}/GET/beds/*", f"{STAGE}/GET/beds/1", "Allow"),
        (f"{STAGE}/GET/beds/*", f"{STAGE}/GET/beds/1/notes/2", "Allow"),
        (f"{STAGE}/GET/beds/*", f"{STAGE}/GET/beds/", "Allow"),
        (f"{STAGE}/GET/beds/*", f"{STAGE}/GET/beds", "ImplicitDeny"),
        (f"{STAGE}/*/beds", f"{STAGE}/DELETE/beds", "Allow"),
        (f"{STAGE}/*/beds", f"{STAGE}/GET/x/beds", "Allow"),
        (f"{STAGE}/*/*", f"{STAGE}/GET/", "Allow"),
        (f"{STAGE}/GET/bed?", f"{STAGE}/GET/beds", "Allow"),
        (f"{STAGE}/GET/bed?", f"{STAGE}/GET/bed", "ImplicitDeny"),
        (f"{STAGE}/GET/bed?", f"{STAGE}/GET/bedss", "ImplicitDeny"),
        (f"{STAGE}/GET/a?b", f"{STAGE}/GET/a/b", "Allow"),
        (f"{STAGE}/GET/beds.json", f"{STAGE}/GET/bedsXjson", "ImplicitDeny"),
        (f"{STAGE}/GET/(a)+", f"{STAGE}/GET/(a)+", "Allow"),
        ("*", f"{STAGE}/GET/beds", "Allow"),
        ("arn:aws:execute-api:*", f"{STAGE}/GET/beds", "Allow"),
        ("arn:aws-cn:execute-api:*", f"{STAGE}/GET/beds", "ImplicitDeny"),
    ],
    ids=[
        "exact",
        "exact-not-prefix",
        "case-sensitive",
        "star-one-segment",
        "star-spans-slash",
        "star-matches-empty",
        "star-needs-the-slash",
        "star-method",
        "star-method-spans-slash",
        "stage-wide-matches-root",
        "question-one-char",
        "question-not-zero",
        "question-not-two",
        "question-matches-slash",
        "dot-is-literal",
        "regex-chars-literal",
        "bare-star",
        "star-spans-colons",
        "other-partition",
    ],
)
def test_evaluate_resource_wildcards(pattern: str, resource: str, expected: str) -> None:
    # GIVEN a policy allowing one pattern
    document = policy(allow(pattern))

    # WHEN / THEN
    assert evaluate(document, resource) == expected


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([allow(f"{STAGE}/GET/*"), deny(f"{STAGE}/GET/beds/*")], "Deny"),
        ([deny(f"{STAGE}/GET/beds/*"), allow(f"{STAGE}/GET/*")], "Deny"),
        ([deny(f"{STAGE}/POST/*"), allow(f"{STAGE}/GET/*")], "Allow"),
        ([deny(f"{STAGE}/GET/beds/*")], "Deny"),
        ([deny(f"{STAGE}/POST/*")], "ImplicitDeny"),
        ([], "ImplicitDeny"),
        ([allow(f"{STAGE}/POST/*"), allow(f"{STAGE}/GET/beds/*")], "Allow"),
    ],
    ids=[
        "deny-after-allow",
        "deny-before-allow",
        "unrelated-deny",
        "deny-only",
        "unrelated-deny-only",
        "no-statements",
        "second-allow",
    ],
)
def test_evaluate_effect_order_deny_over_allow_over_implicit(
    statements: list[dict[str, Any]], expected: str
) -> None:
    # WHEN / THEN
    assert evaluate(policy(*statements), f"{STAGE}/GET/beds/1") == expected


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow(f"{STAGE}/POST/x", f"{STAGE}/GET/beds/1"), "Allow"),
        ({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{STAGE}/*"}, "Allow"),
        (allow(f"{STAGE}/*", action=["s3:GetObject", "execute-api:Invoke"]), "Allow"),
        (allow(f"{STAGE}/*", action="execute-api:*"), "Allow"),
        (allow(f"{STAGE}/*", action="execute-api:Inv?ke"), "Allow"),
        (allow(f"{STAGE}/*", action="EXECUTE-API:invoke"), "Allow"),
        (allow(f"{STAGE}/*", action="*"), "Allow"),
        (allow(f"{STAGE}/*", action="execute-api:ManageConnections"), "ImplicitDeny"),
        (allow(f"{STAGE}/*", action=["s3:*"]), "ImplicitDeny"),
        (deny(f"{STAGE}/*", action=["execute-api:*"]), "Deny"),
    ],
    ids=[
        "resource-list",
        "resource-string",
        "action-list",
        "action-star",
        "action-question",
        "action-case-insensitive",
        "action-bare-star",
        "other-action",
        "other-service",
        "deny-action-wildcard",
    ],
)
def test_evaluate_action_and_resource_lists(statement: dict[str, Any], expected: str) -> None:
    # WHEN / THEN
    assert evaluate(policy(statement), f"{STAGE}/GET/beds/1") == expected


def test_evaluate_single_statement_object_is_accepted() -> None:
    # GIVEN a Statement written as one object rather than a list
    document = {"Version": "2012-10-17", "Statement": allow(f"{STAGE}/GET/*")}

    # WHEN / THEN
    assert evaluate(document, f"{STAGE}/GET/beds") == "Allow"
    assert evaluate(document, f"{STAGE}/POST/beds") == "ImplicitDeny"


@pytest.mark.parametrize(
    "document",
    [
        {"Version": "2012-10-17"},
        policy({**allow(f"{STAGE}/*"), "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}),
        policy({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}),
        policy({"Effect": "Deny", "Action": "execute-api:Invoke", "NotResource": "*"}),
        policy({"Effect": "allow", "Action": "execute-api:Invoke", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": []}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke"}),
        policy({"Effect": "Allow", "Action": 7, "Resource": "*"}),
        {"Statement": ["Allow"]},
    ],
    ids=[
        "no-statement",
        "condition",
        "not-action",
        "not-resource",
        "effect-lowercase",
        "empty-resource",
        "no-resource",
        "action-number",
        "statement-string",
    ],
)
def test_evaluate_unsupported_or_malformed_policy_raises(document: dict[str, Any]) -> None:
    # WHEN / THEN it refuses rather than guessing
    with pytest.raises(AuthorizerError) as caught:
        evaluate(document, f"{STAGE}/GET/beds")
    assert caught.value.reason is Reason.MISCONFIGURED
