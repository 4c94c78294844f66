"""An IAM-style evaluator for execute-api policy documents, as API Gateway applies them."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Literal

from okta_authorizer.errors import AuthorizerError, Reason

Effect = Literal["Allow", "Deny", "ImplicitDeny"]
_SUPPORTED = frozenset({"Sid", "Effect", "Action", "Resource"})


def evaluate(
    policy_document: Mapping[str, Any], resource: str, action: str = "execute-api:Invoke"
) -> Effect:
    """Decide `action` on `resource`: an explicit Deny beats an Allow, which beats implicit deny.

    In Resource, `*` matches any run of characters (including `/` and `:`) and `?` exactly one;
    Action matches the same way but ignores case, as IAM does. Elements this evaluator cannot
    honour (Condition, NotAction, NotResource, Principal) raise AuthorizerError rather than being
    silently ignored.
    """
    statements = policy_document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise _policy_error("Statement must be an object or a list of objects")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise _policy_error("each Statement must be an object")
        unsupported = sorted(set(statement) - _SUPPORTED)
        if unsupported:
            raise _policy_error(f"unsupported statement element(s) {unsupported}")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise _policy_error(f"Effect must be Allow or Deny, not {effect!r}")
        actions = _patterns(statement, "Action")
        resources = _patterns(statement, "Resource")
        if not any(_compile(pattern, True).fullmatch(action) for pattern in actions):
            continue
        if not any(_compile(pattern, False).fullmatch(resource) for pattern in resources):
            continue
        if effect == "Deny":
            return "Deny"
        allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def _patterns(statement: Mapping[str, Any], element: str) -> list[str]:
    value = statement.get(element)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    raise _policy_error(f"{element} must be a string or a non-empty list of strings")


def _policy_error(problem: str) -> AuthorizerError:
    return AuthorizerError(f"policy document: {problem}", reason=Reason.MISCONFIGURED)


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))
