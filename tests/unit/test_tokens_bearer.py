"""extract_bearer: step 1, the Authorization header and the compact JWS shape."""

from __future__ import annotations

import pytest

from okta_authorizer.errors import Reason, TokenError
from okta_authorizer.tokens import MAX_TOKEN_BYTES, extract_bearer

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "value",
    [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}", f"bEaReR {TOKEN}"],
    ids=["canonical", "lowercase", "uppercase", "mixed-case"],
)
def test_bearer_scheme_in_any_case_yields_the_token(value: str) -> None:
    assert extract_bearer(value) == TOKEN


@pytest.mark.parametrize(
    "token",
    ["a.b.c", "a.b.", "A-_z.0-9_.-_-_", "x" * (MAX_TOKEN_BYTES - 4) + ".b.c"],
    ids=["minimal", "empty-signature-segment", "url-safe-characters", "exactly-8-KiB"],
)
def test_bearer_compact_shape_edge_is_accepted(token: str) -> None:
    assert extract_bearer(f"Bearer {token}") == token


@pytest.mark.parametrize("value", [None, ""], ids=["absent", "empty"])
def test_bearer_missing_header_is_missing_token(value: str | None) -> None:
    with pytest.raises(TokenError) as caught:
        extract_bearer(value)

    assert caught.value.reason is Reason.MISSING_TOKEN


MALFORMED = [
    ("whitespace-only", "   "),
    ("scheme-only", "Bearer"),
    ("scheme-and-space", "Bearer "),
    ("wrong-scheme-basic", "Basic dXNlcjpwYXNz"),
    ("wrong-scheme-token", f"Token {TOKEN}"),
    ("scheme-prefix", f"Bearerx {TOKEN}"),
    ("no-space", f"Bearer{TOKEN}"),
    ("two-spaces", f"Bearer  {TOKEN}"),
    ("tab-separator", f"Bearer\t{TOKEN}"),
    ("leading-space", f" Bearer {TOKEN}"),
    ("trailing-space", f"Bearer {TOKEN} "),
    ("trailing-newline", f"Bearer {TOKEN}\n"),
    ("crlf-injection", f"Bearer {TOKEN}\r\nX-Admin: 1"),
    ("bare-token", TOKEN),
    ("two-tokens", f"Bearer {TOKEN} {TOKEN}"),
    ("scheme-twice", f"Bearer Bearer {TOKEN}"),
    ("two-segments", "Bearer a.b"),
    ("four-segments", "Bearer a.b.c.d"),
    ("empty-header-segment", "Bearer .b.c"),
    ("empty-payload-segment", "Bearer a..c"),
    ("padding", "Bearer a=.b.c"),
    ("padding-in-signature", f"Bearer {TOKEN}=="),
    ("standard-base64-plus", "Bearer a+.b.c"),
    ("standard-base64-slash", "Bearer a/.b.c"),
    ("quoted", f'Bearer "{TOKEN}"'),
    ("non-ascii", f"Bearer {TOKEN}\u00e9"),
    ("non-ascii-digit", "Bearer a\u0661.b.c"),
    ("nul-byte", f"Bearer {TOKEN}\x00"),
    ("over-8-KiB", "Bearer " + "x" * (MAX_TOKEN_BYTES - 3) + ".b.c"),
]


@pytest.mark.parametrize(
    "value", [value for _, value in MALFORMED], ids=[case_id for case_id, _ in MALFORMED]
)
def test_bearer_malformed_header_is_malformed_token(value: str) -> None:
    with pytest.raises(TokenError) as caught:
        extract_bearer(value)

    assert caught.value.reason is Reason.MALFORMED_TOKEN


def test_bearer_error_detail_never_contains_the_token() -> None:
    # GIVEN a header with a token that is almost right
    secret_looking = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2VjcmV0c2lnbmF0dXJl"

    # WHEN it is refused
    with pytest.raises(TokenError) as caught:
        extract_bearer(f"Bearer  {secret_looking}")

    # THEN the detail (which reaches the decision log) does not echo it
    assert secret_looking not in str(caught.value)
    assert "c2VjcmV0c2lnbmF0dXJl" not in caught.value.detail


@pytest.mark.parametrize("value", [b"Bearer a.b.c", 42], ids=["bytes", "int"])
def test_bearer_non_text_header_is_malformed_token(value: object) -> None:
    with pytest.raises(TokenError) as caught:
        extract_bearer(value)  # type: ignore[arg-type]

    assert caught.value.reason is Reason.MALFORMED_TOKEN
