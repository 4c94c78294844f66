"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from okta_authorizer.jwks import reset_key_sets
from okta_authorizer.localdev.issuer import LocalIssuer
from okta_authorizer.localdev.keys import SigningKey


def pytest_collection_finish(session: pytest.Session) -> None:
    """Importing the handler pauses the collector until its first call; tests run with it on."""
    gc.enable()


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    """One 2048-bit signing key for the whole session (key generation is slow)."""
    return SigningKey(kid="test-key-1")


@pytest.fixture
def local_issuer(rsa_key: SigningKey) -> Iterator[LocalIssuer]:
    """A loopback Okta look-alike publishing `rsa_key`; stopped after the test."""
    with LocalIssuer(keys=[rsa_key]) as issuer:
        yield issuer


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """The process-wide key-set registry emptied before and after the test."""
    reset_key_sets()
    yield
    reset_key_sets()
