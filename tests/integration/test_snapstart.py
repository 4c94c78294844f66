"""SnapStart hooks: registered on import, run in order, no cached age trusted after restore."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest
import snapshot_restore_py

from okta_authorizer import iam, snapstart
from okta_authorizer.localdev.events import load_event
from okta_authorizer.localdev.issuer import Mode
from tests.integration.conftest import Harness

# `audit` is a fixture: metrics on, as in production.
from tests.integration.test_handler import audit, decisions  # noqa: F401

READ_ROUTES = {"GET /beds": {"scopes": ["beds:read"]}}
NO_ROUTES: dict[str, Any] = {}


def effect(harness: Harness, scopes: list[str]) -> str:
    """What API Gateway would do with the handler's answer to a TOKEN event for GET /beds."""
    event = load_event("token.json", harness.token(scp=scopes))
    return iam.evaluate(harness.invoke(event)["policyDocument"], event["methodArn"])


def run_hooks(hooks: list[Any]) -> None:
    """Run registered hooks the way Lambda's runtime does: in order, with their arguments."""
    for function, args, kwargs in hooks:
        function(*args, **kwargs)


def test_snapstart_hooks_registered_on_import_in_order() -> None:
    # GIVEN a fresh interpreter WHEN the handler module is imported
    probe = (
        "import json, snapshot_restore_py as s, okta_authorizer.app\n"
        "name = lambda hooks: [f'{f.__module__}.{f.__qualname__}' for f, _, _ in hooks]\n"
        "print(json.dumps([name(s.get_before_snapshot()), name(s.get_after_restore())]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    # THEN exactly one hook of each kind is registered: ours
    before, after = json.loads(result.stdout)
    assert before == ["okta_authorizer.snapstart.before_snapshot"]
    assert after == ["okta_authorizer.snapstart.after_restore"]


def test_snapstart_register_hooks_without_the_library_registers_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an interpreter where snapshot_restore_py cannot be imported (not Lambda)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)

    # WHEN the hooks are registered THEN nothing is, and nothing fails
    assert snapstart.register_hooks() is False


def test_snapstart_before_snapshot_builds_clients_without_any_request(harness: Harness) -> None:
    # GIVEN a configured function before its first invocation (the init phase)
    harness.put_routes(READ_ROUTES)

    # WHEN Lambda runs the before-snapshot hook
    snapstart.before_snapshot()

    # THEN nothing was fetched, and the modules of the first decision are imported
    assert harness.issuer.count("discovery") == 0
    assert harness.issuer.count("keys") == 0
    for module in ("requests", "botocore.client", "aws_lambda_powertools.utilities.parameters"):
        assert module in sys.modules, module
    # AND the first decision after it works like any cold start
    assert effect(harness, ["beds:read"]) == "Allow"
    assert harness.issuer.count("keys") == 1


def test_snapstart_after_restore_revalidates_key_set_and_route_map(harness: Harness) -> None:
    # GIVEN a warm function (key set and route map loaded and cached for minutes), snapshotted
    harness.put_routes(READ_ROUTES)
    run_hooks(snapshot_restore_py.get_before_snapshot()[-1:])
    assert effect(harness, ["beds:read"]) == "Allow"
    assert harness.issuer.count("keys") == 1
    # AND, while it sleeps in the snapshot, the route map is changed to deny everything
    harness.put_routes(NO_ROUTES)
    assert effect(harness, ["beds:read"]) == "Allow"  # still cached before the restore

    # WHEN Lambda restores the snapshot and runs the after-restore hook
    run_hooks(snapshot_restore_py.get_after_restore()[-1:])

    # THEN the first decision revalidates both: the key set is fetched and the new map applies
    assert effect(harness, ["beds:read"]) == "Deny"
    assert harness.issuer.count("keys") == 2


@pytest.mark.usefixtures("audit")
def test_snapstart_after_restore_with_issuer_down_serves_keys_stale_and_counts_it(
    harness: Harness, log_stream: io.StringIO
) -> None:
    # GIVEN a warm function, then the key endpoint failing when the snapshot is restored
    harness.put_routes(READ_ROUTES)
    assert effect(harness, ["beds:read"]) == "Allow"
    harness.issuer.state.mode = Mode.ERROR_500

    # WHEN restored
    snapstart.after_restore()

    # THEN the key set is asked for again, and served stale (within the grace) when that fails
    assert effect(harness, ["beds:read"]) == "Allow"
    assert harness.issuer.count("keys") == 2
    assert decisions(log_stream)[-1].get("KeySetStaleServed") == 1
