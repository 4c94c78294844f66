"""`explain` with a token: the authorizer's own checks, a 401 (never ALLOW) for a bad token."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from okta_authorizer import cli
from okta_authorizer.localdev.keys import SigningKey, b64url, b64url_json, okta_claims
from okta_authorizer.localdev.sample import load_sample_route_map
from tests.support import ACME_ISSUER

AUDIENCE = "api://beds"
ORG_ISSUER = "https://acme.okta.com"


@pytest.fixture
def files(tmp_path: Path, rsa_key: SigningKey) -> dict[str, Path]:
    routes = tmp_path / "sample-api.json"
    routes.write_text(load_sample_route_map()[1], encoding="utf-8")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [rsa_key.public_jwk()]}), encoding="utf-8")
    return {"routes": routes, "keys": keys, "token": tmp_path / "token.txt"}


@pytest.fixture(autouse=True)
def function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """explain is configured from the function's variables, as the operator's shell holds them."""
    monkeypatch.setenv("OKTA_ISSUER", ACME_ISSUER)
    monkeypatch.setenv("OKTA_AUDIENCE", AUDIENCE)
    monkeypatch.delenv("ALLOWED_CLIENT_IDS", raising=False)


def explain(files: dict[str, Path], token: str, *extra: str) -> list[str]:
    files["token"].write_text(f"Bearer {token}\n", encoding="utf-8")
    return [
        "explain",
        "--routes",
        str(files["routes"]),
        "--route",
        "GET /beds",
        "--token-file",
        str(files["token"]),
        *extra,
    ]


def unsigned(alg: str, claims: dict[str, Any], secret: bytes = b"") -> str:
    signing_input = f"{b64url_json({'alg': alg, 'kid': 'test-key-1'})}.{b64url_json(claims)}"
    if alg == "none":
        return f"{signing_input}."
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _claims(**changes: Any) -> dict[str, Any]:
    claims = okta_claims(ACME_ISSUER, AUDIENCE, scopes=("beds:read",))
    claims.update(changes)
    return claims


NOW = int(time.time())
CASES: dict[str, tuple[Callable[[SigningKey, SigningKey], str], str]] = {
    "expired": (lambda k, _: k.token(_claims(exp=NOW - 3600, iat=NOW - 7200)), "expired"),
    "not-yet-valid": (lambda k, _: k.token(_claims(nbf=NOW + 3600)), "not_yet_valid"),
    "issued-in-future": (
        lambda k, _: k.token(_claims(iat=NOW + 3600, exp=NOW + 7200)),
        "not_yet_valid",
    ),
    "wrong-audience": (lambda k, _: k.token(_claims(aud="api://other")), "wrong_audience"),
    "untrusted-issuer": (
        lambda k, _: k.token(_claims(iss="https://evil.okta.com/oauth2/default")),
        "untrusted_issuer",
    ),
    "org-issuer": (lambda k, _: k.token(_claims(iss=ORG_ISSUER)), "untrusted_issuer"),
    "hs256": (lambda _k, _o: unsigned("HS256", _claims(), b"secret"), "unsupported_algorithm"),
    "alg-none": (lambda _k, _o: unsigned("none", _claims()), "unsupported_algorithm"),
    "bad-signature": (lambda _, other: other.token(_claims()), "bad_signature"),
}


# A signature can be checked only with the issuer's keys: bad-signature runs with keys only.
MATRIX = [
    (case, with_keys)
    for case in sorted(CASES)
    for with_keys in (True, False)
    if with_keys or case != "bad-signature"
]


@pytest.mark.parametrize(
    ("case", "with_keys"),
    MATRIX,
    ids=[f"{case}-{'with' if keys else 'without'}-keys" for case, keys in MATRIX],
)
def test_cli_explain_bad_token_is_401_with_reason_and_nonzero_exit(
    files: dict[str, Path],
    rsa_key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    case: str,
    with_keys: bool,
) -> None:
    make, reason = CASES[case]
    # GIVEN a token the authorizer refuses, whose scope would open the route
    other = SigningKey(kid=rsa_key.kid)
    token = make(rsa_key, other)
    keys = ["--issuer-keys", str(files["keys"])] if with_keys else []

    # WHEN explained (text and JSON)
    code = cli.main(explain(files, token, *keys))
    out = capsys.readouterr().out
    json_code = cli.main(explain(files, token, *keys, "--json"))
    report = json.loads(capsys.readouterr().out)

    # THEN it is reported as the 401 the authorizer answers, never ALLOW, exit non-zero
    assert code == json_code == 1
    assert f"decision: 401 {reason}" in out
    assert "ALLOW" not in out
    assert (report["status"], report["reason"], report["allowed"]) == (401, reason, False)
    signature = token.split(".")[2]
    assert not signature or signature not in out


def test_cli_explain_good_token_with_keys_is_verified_and_allowed(
    files: dict[str, Path], rsa_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    token = rsa_key.token(_claims())

    code = cli.main(explain(files, token, "--issuer-keys", str(files["keys"])))

    out = capsys.readouterr().out
    assert code == 0
    assert "SIGNATURE NOT CHECKED" not in out
    assert "the signature was verified" in out
    assert "outcome with POLICY_MODE=api: ALLOW" in out


def test_cli_explain_good_token_without_keys_says_the_signature_was_not_checked(
    files: dict[str, Path], rsa_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(explain(files, rsa_key.token(_claims())))

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("!! SIGNATURE NOT CHECKED")


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--audience", "api://orders"], "wrong_audience"),
        (["--issuer", "https://other.okta.com/oauth2/default"], "untrusted_issuer"),
        (["--client-ids", "0oa1reportingjob"], "client_not_allowed"),
    ],
    ids=["audience", "issuer", "client"],
)
def test_cli_explain_flags_override_the_function_environment(
    files: dict[str, Path],
    rsa_key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    reason: str,
) -> None:
    code = cli.main(explain(files, rsa_key.token(_claims()), *flags))

    assert code == 1
    assert f"decision: 401 {reason}" in capsys.readouterr().out


def test_cli_explain_client_allow_list_from_the_environment_is_applied(
    files: dict[str, Path],
    rsa_key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_CLIENT_IDS", "0oa1reportingjob")

    code = cli.main(explain(files, rsa_key.token(_claims())))

    assert code == 1
    assert "decision: 401 client_not_allowed" in capsys.readouterr().out


def test_cli_explain_without_issuer_configured_is_a_usage_error_naming_the_variable(
    files: dict[str, Path],
    rsa_key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OKTA_ISSUER")

    code = cli.main(explain(files, rsa_key.token(_claims())))

    assert code == 2
    error = capsys.readouterr().err
    assert "OKTA_ISSUER" in error
    assert "--issuer" in error
