"""Unit tests touch no network: any AWS call they make by mistake goes to a closed loopback port."""

from __future__ import annotations

import pytest

from okta_authorizer.localdev.ssm import LOCAL_AWS_ENV


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, no user profile, and every AWS endpoint on 127.0.0.1:9 (discard)."""
    for name, value in LOCAL_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
