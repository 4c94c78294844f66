"""Settings.from_env: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import pytest

from okta_authorizer.errors import ConfigurationError, Reason
from okta_authorizer.settings import Settings

ISSUER = "https://acme.okta.com/oauth2/default"
BASE = {
    "OKTA_ISSUER": ISSUER,
    "OKTA_AUDIENCE": "api://default",
    "ROUTES_PARAMETER_PATH": "/okta-authorizer/dev/routes",
}


def test_settings_minimal_environment_uses_design_defaults() -> None:
    settings = Settings.from_env(BASE)

    assert settings.issuers == (ISSUER,)
    assert settings.audiences == ("api://default",)
    assert settings.jwks_uri is None
    assert settings.allowed_client_ids is None
    assert settings.jwks_cache_seconds == 3600
    assert settings.clock_skew_seconds == 60
    assert settings.routes_cache_seconds == 300
    assert settings.policy_mode == "api"
    assert settings.context_claims == ()
    assert settings.simple_responses is False
    assert settings.algorithms == ("RS256",)


def test_settings_lists_are_split_trimmed_and_deduplicated() -> None:
    env = BASE | {
        "OKTA_ISSUER": f"{ISSUER}, https://acme.okta.com/oauth2/aus2",
        "OKTA_AUDIENCE": "api://beds, api://default ,api://beds",
        "ALLOWED_CLIENT_IDS": "0oa1, 0oa2",
        "CONTEXT_CLAIMS": "groups,email",
        "POLICY_MODE": "ROUTE",
        "SIMPLE_RESPONSES": "true",
        "JWKS_CACHE_SECONDS": "900",
    }

    settings = Settings.from_env(env)

    assert settings.issuers == (ISSUER, "https://acme.okta.com/oauth2/aus2")
    assert settings.audiences == ("api://beds", "api://default")
    assert settings.allowed_client_ids == frozenset({"0oa1", "0oa2"})
    assert settings.context_claims == ("groups", "email")
    assert settings.policy_mode == "route"
    assert settings.simple_responses is True
    assert settings.jwks_cache_seconds == 900


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/oauth2/default",
        "http://localhost/oauth2/x",
        "http://[::1]:9/oauth2/x",
    ],
    ids=["ipv4-loopback", "localhost", "ipv6-loopback"],
)
def test_settings_http_issuer_on_loopback_is_accepted(url: str) -> None:
    assert Settings.from_env(BASE | {"OKTA_ISSUER": url}).issuers == (url,)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"OKTA_ISSUER": ""}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": "http://acme.okta.com/oauth2/default"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": "https://acme.okta.com"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": f"{ISSUER}/"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": "ftp://acme.okta.com/oauth2/default"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": "http://10.0.0.1/oauth2/default"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": f"{ISSUER},,{ISSUER}2"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": f"{ISSUER}?x=1"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": f"{ISSUER}#top"}, "OKTA_ISSUER"),
        ({"OKTA_ISSUER": "https://acme.okta.com:99999/oauth2/default"}, "OKTA_ISSUER"),
        ({"OKTA_AUDIENCE": " "}, "OKTA_AUDIENCE"),
        ({"OKTA_JWKS_URI": "http://keys.example.com/keys"}, "OKTA_JWKS_URI"),
        (
            {
                "OKTA_ISSUER": f"{ISSUER},https://b.okta.com/oauth2/x",
                "OKTA_JWKS_URI": f"{ISSUER}/k",
            },
            "OKTA_JWKS_URI",
        ),
        ({"ROUTES_PARAMETER_PATH": ""}, "ROUTES_PARAMETER_PATH"),
        ({"ROUTES_PARAMETER_PATH": "routes"}, "ROUTES_PARAMETER_PATH"),
        ({"JWKS_CACHE_SECONDS": "ten"}, "JWKS_CACHE_SECONDS"),
        ({"JWKS_CACHE_SECONDS": "30"}, "JWKS_CACHE_SECONDS"),
        ({"CLOCK_SKEW_SECONDS": "-1"}, "CLOCK_SKEW_SECONDS"),
        ({"CLOCK_SKEW_SECONDS": "3600"}, "CLOCK_SKEW_SECONDS"),
        ({"ROUTES_CACHE_SECONDS": "1.5"}, "ROUTES_CACHE_SECONDS"),
        ({"POLICY_MODE": "method"}, "POLICY_MODE"),
        ({"SIMPLE_RESPONSES": "maybe"}, "SIMPLE_RESPONSES"),
    ],
    ids=[
        "issuer-missing",
        "issuer-plain-http",
        "issuer-org-server",
        "issuer-trailing-slash",
        "issuer-ftp",
        "issuer-http-private-address",
        "issuer-empty-entry",
        "issuer-query",
        "issuer-fragment",
        "issuer-bad-port",
        "audience-blank",
        "jwks-uri-plain-http",
        "jwks-uri-with-two-issuers",
        "routes-path-missing",
        "routes-path-relative",
        "jwks-cache-not-int",
        "jwks-cache-below-floor",
        "skew-negative",
        "skew-too-large",
        "routes-cache-float",
        "policy-mode-unknown",
        "simple-responses-not-bool",
    ],
)
def test_settings_bad_value_raises_configuration_error_naming_variable(
    overrides: dict[str, str], variable: str
) -> None:
    # GIVEN an otherwise valid environment with one bad variable
    env = BASE | overrides

    # WHEN / THEN the error names exactly that variable and carries the misconfigured reason
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}:")
    assert caught.value.reason is Reason.MISCONFIGURED


def test_settings_are_frozen_and_hashable() -> None:
    settings = Settings.from_env(BASE)

    with pytest.raises(AttributeError):
        settings.issuers = ()  # type: ignore[misc]
    assert hash(settings) == hash(Settings.from_env(BASE))
