"""Access-token validation: the signature is checked with `cryptography` directly."""

from __future__ import annotations

import binascii
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, NoReturn

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding

from okta_authorizer.bounded import make_room, shrink
from okta_authorizer.errors import ConfigurationError, Reason, TokenError
from okta_authorizer.jwks import KeySet, VerificationKey
from okta_authorizer.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

#: Largest compact token accepted (bytes; the token is ASCII, so also characters).
MAX_TOKEN_BYTES = 8 * 1024
#: Algorithms a verifier may ever be configured with: RSA PKCS#1 v1.5, what Okta signs with.
SUPPORTED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})
#: Header members that point at keys or change how the JWS is processed; never honoured.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip"})
#: Accepted `typ` values (compared case-insensitively): plain JWT and RFC 9068 access tokens.
ACCEPTED_TYPES = frozenset({"jwt", "at+jwt"})

_B64URL_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Okta key ids are base64url; '.' is allowed for other thumbprint styles, '/' never (paths).
_KID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_B64_INDEX = {char: index for index, char in enumerate(_B64URL_BYTES)}
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = {0: b"", 2: b"==", 3: b"="}
# Unused low bits of the last character, by segment length modulo 4, must be zero (canonical form).
_B64_TAIL_MASK = {0: 0, 2: 0b1111, 3: 0b11}
# JSON's safe integer range: anything larger is not a timestamp any system here can represent.
_MAX_NUMERIC_DATE = 2**53
# Distinct JOSE header segments remembered: an issuer signs every token of one key with the same
# header bytes, so a handful covers key rotation; garbage headers are never remembered.
_HEADER_CACHE_LIMIT = 64
_PKCS1V15 = padding.PKCS1v15()
# Each supported algorithm's hash function and the DER DigestInfo that precedes its digest in a
# PKCS#1 v1.5 signature (RFC 8017 section 9.2, note 1).
_DIGEST_INFO: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "RS256": (hashlib.sha256, bytes.fromhex("3031300d060960864801650304020105000420")),
    "RS384": (hashlib.sha384, bytes.fromhex("3041300d060960864801650304020205000430")),
    "RS512": (hashlib.sha512, bytes.fromhex("3051300d060960864801650304020305000440")),
}
#: Verified tokens remembered per container. A token's claims are ~1 KiB, so this stays a few MB.
VERIFIED_CACHE_LIMIT = 2048
# Everything orjson, base64 and cryptography raise on hostile input (orjson.JSONDecodeError,
# UnicodeDecodeError and binascii.Error are ValueErrors); anything else is a bug and must surface
# as one.
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
    KeyError,
    IndexError,
)
_SIGNATURE_ERRORS = (InvalidSignature, *_PARSE_ERRORS)


# A NamedTuple, not a frozen dataclass: one is built per new token, and the dataclass's
# object.__setattr__ per field cost 3.3 us against 1.4 us (benchmarks/README.md).
class AccessToken(NamedTuple):
    """A verified Okta access token: the claims the rest of the authorizer may trust."""

    claims: Mapping[str, Any]
    scopes: tuple[str, ...]
    sub: str
    cid: str | None
    uid: str | None
    jti: str | None
    exp: int
    issuer: str
    kid: str


def extract_bearer(header_value: str | None) -> str:
    """Return the token of an `Authorization: Bearer <token>` value; raise TokenError otherwise."""
    token = _bearer_part(header_value)
    check_compact(token)
    return token


def _bearer_part(header_value: str | None) -> str:
    if header_value is None or header_value == "":
        raise TokenError("no bearer token", reason=Reason.MISSING_TOKEN)
    if not isinstance(header_value, str):
        raise TokenError("authorization header is not text")
    scheme, space, token = header_value.partition(" ")
    if not space or scheme.lower() != "bearer":
        raise TokenError("authorization header is not 'Bearer <token>'")
    return token


def check_compact(token: str) -> None:
    """Raise TokenError unless `token` is compact JWS: three base64url segments, ASCII, <= 8 KiB."""
    _compact_bytes(token)


def _compact_bytes(token: str) -> bytes:
    if not isinstance(token, str):
        raise TokenError("token is not text")
    if not token.isascii():
        raise TokenError("token has non-ASCII characters")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError(f"token is longer than {MAX_TOKEN_BYTES} bytes")
    data = token.encode("ascii")
    # Deleting the base64url alphabet in C leaves exactly the two dots of a well-formed token;
    # about half the cost of a full-match regex over a 1 KiB token.
    if data.translate(None, _B64URL_BYTES) != b"..":
        raise TokenError("token is not three base64url segments")
    first = data.index(b".")
    if first == 0 or data[first + 1 : first + 2] == b".":
        raise TokenError("token is not three base64url segments")
    return data


class TokenVerifier:
    """Verifies Okta access tokens against the trusted issuers' key sets."""

    def __init__(
        self,
        settings: Settings,
        key_sets: Mapping[str, KeySet],
        *,
        clock: Clock = time.time,
        verified_cache_limit: int = VERIFIED_CACHE_LIMIT,
    ) -> None:
        unsupported = sorted(set(settings.algorithms) - SUPPORTED_ALGORITHMS)
        if unsupported or not settings.algorithms:
            raise ConfigurationError(
                "algorithms",
                f"only {sorted(SUPPORTED_ALGORITHMS)} may be allowed, not {unsupported}",
            )
        missing = [issuer for issuer in settings.issuers if issuer not in key_sets]
        if missing:
            raise ConfigurationError("OKTA_ISSUER", f"no key set for issuer(s) {missing}")
        self._key_sets = key_sets
        self._clock = clock
        self._algorithms = frozenset(settings.algorithms)
        self._issuers = frozenset(settings.issuers)
        self._audiences = frozenset(settings.audiences)
        self._clients = settings.allowed_client_ids
        self._skew = settings.clock_skew_seconds
        # header segment -> (alg, kid) of a header that passed every check (see _check_header).
        self._headers: dict[bytes, tuple[str, str]] = {}
        # token -> (claims, the key that verified it, start of validity); a hit skips parsing and
        # the RSA check but re-checks, exactly as the full path would, the time window and that
        # the issuer's key set (refreshed as usual) still holds that very key.
        self._verified: dict[str, tuple[AccessToken, VerificationKey, float]] = {}
        self._verified_limit = verified_cache_limit

    def verify_bearer(self, header_value: str | None) -> AccessToken:
        """`verify(extract_bearer(header_value))`, checking the shape once, not twice per token."""
        # verify() checks the compact shape of every token it has not verified before.
        return self.verify(_bearer_part(header_value))

    def verify(self, token: str) -> AccessToken:
        """Validate `token` (steps 1-6 of the design) and return its trusted claims."""
        cached = self._verified.get(token) if type(token) is str else None
        if cached is not None:
            access, key, valid_from = cached
            now = self._clock()
            if valid_from <= now < access.exp + self._skew:
                current = self._key_sets[access.issuer].key(access.kid)
                if current is key or current == key:
                    return access
            del self._verified[token]
        access, key, valid_from = self._verify_uncached(token)
        if self._verified_limit > 0:
            if len(self._verified) >= self._verified_limit:
                self._make_room()
            self._verified[token] = (access, key, valid_from)
        return access

    @property
    def key_sets(self) -> Mapping[str, KeySet]:
        """The key set of each trusted issuer."""
        return self._key_sets

    @property
    def remembered(self) -> int:
        """How many verified tokens are cached right now."""
        return len(self._verified)

    def _make_room(self) -> None:
        now = self._clock()
        expired = [t for t, (a, _, _) in self._verified.items() if a.exp + self._skew <= now]
        for stale in expired:
            del self._verified[stale]
        # Down to three quarters even when the sweep freed a few: else a cache of mostly live
        # tokens would be swept again on nearly every new one.
        shrink(self._verified, self._verified_limit)

    def _verify_uncached(self, token: str) -> tuple[AccessToken, VerificationKey, float]:
        """The full check: (claims, the key that verified them, start of validity)."""
        # One method for steps 1-6, helpers only where a check fails or needs its slow path:
        # every frame and value handed between frames costs time on each new token.
        # Steps 1-3: no key, no network.
        try:
            data = _compact_bytes(token)
            header_segment, payload_segment, signature_segment = data.split(b".")
            checked = self._headers.get(header_segment)
            if checked is None:
                checked = self._check_header(_decode_json_object(header_segment, "header"))
                make_room(self._headers, _HEADER_CACHE_LIMIT)
                self._headers[header_segment] = checked
            alg, kid = checked
            claims = _decode_json_object(payload_segment, "payload")
            issuer = claims.get("iss")
            if type(issuer) is not str or issuer not in self._issuers:
                self._refuse_issuer(issuer)
            signature = _b64url_decode(signature_segment, "signature")
        except TokenError:
            raise
        except _PARSE_ERRORS as exc:
            raise TokenError(f"token cannot be parsed ({type(exc).__name__})") from None
        if not signature:
            # Checked before the key lookup so that unsigned garbage cannot trigger a key refresh.
            raise TokenError("token has no signature", reason=Reason.BAD_SIGNATURE)
        # Steps 4-5: the one key, the signature.
        key = self._key_sets[issuer].key(kid)
        if key.issuer != issuer or key.kid != kid:
            raise TokenError("key set answered with another key", reason=Reason.UNKNOWN_KEY)
        if key.alg is not None and key.alg != alg:
            raise TokenError(
                "key is published for another algorithm", reason=Reason.UNSUPPORTED_ALGORITHM
            )
        signing_input = data[: len(header_segment) + 1 + len(payload_segment)]
        # RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) by encode-and-compare, as OpenSSL's
        # RSA_verify makes it: the signature is k bytes long; OpenSSL computes s^e mod n and
        # checks the 00 01 FF..FF 00 padding; what remains must be exactly DigestInfo || hash of
        # the header's algorithm. Nothing is parsed, so no lenient parser can be fooled. Not
        # verify(): it fetches the hash from OpenSSL's provider on every call, 6 us of its 43
        # (benchmarks/README.md). tests/unit/test_signature.py holds this to verify()'s answers.
        hash_function, digest_info = _DIGEST_INFO[alg]
        try:
            encoded = key.public_key.recover_data_from_signature(signature, _PKCS1V15, None)
        except _SIGNATURE_ERRORS:
            encoded = b""
        if (
            len(signature) != key.signature_length
            or encoded != digest_info + hash_function(signing_input).digest()
        ):
            raise TokenError("token signature is invalid", reason=Reason.BAD_SIGNATURE)
        # Step 6: the claims.
        try:
            access, valid_from = self._check_claims(claims, issuer, kid)
        except TokenError:
            raise
        except _PARSE_ERRORS as exc:
            raise TokenError(f"token claims are invalid ({type(exc).__name__})") from None
        return access, key, valid_from

    def check_without_key(self, token: str) -> AccessToken:
        """Every check of `verify` but the key and the signature (operator diagnostics only).

        Header, algorithm, issuer (org servers included), audience, lifetime and client: what
        `explain` can tell without the issuer's keys. Never use it to authorize a request.
        """
        try:
            header_segment, payload_segment, _ = _compact_bytes(token).split(b".")
            _, kid = self._check_header(_decode_json_object(header_segment, "header"))
            claims = _decode_json_object(payload_segment, "payload")
            issuer = claims.get("iss")
            if type(issuer) is not str or issuer not in self._issuers:
                self._refuse_issuer(issuer)
            return self._check_claims(claims, issuer, kid)[0]
        except TokenError:
            raise
        except _PARSE_ERRORS as exc:
            raise TokenError(f"token cannot be parsed ({type(exc).__name__})") from None

    def _check_header(self, header: dict[str, Any]) -> tuple[str, str]:
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise TokenError("token header has no 'alg'")
        if alg not in self._algorithms:
            raise TokenError(
                f"algorithm {alg[:20]!r} is not allowed", reason=Reason.UNSUPPORTED_ALGORITHM
            )
        if not FORBIDDEN_HEADERS.isdisjoint(header):
            forbidden = FORBIDDEN_HEADERS.intersection(header)
            raise TokenError(f"token header has forbidden member(s) {sorted(forbidden)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or _KID.fullmatch(kid) is None:
            raise TokenError("token header has no valid 'kid'")
        # Present means a string (`"typ": null` is no more absent than any other odd value).
        typ = header.get("typ", "jwt")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise TokenError("token header 'typ' is not JWT or at+jwt")
        return alg, kid

    def _refuse_issuer(self, issuer: object) -> NoReturn:
        if not isinstance(issuer, str):
            raise TokenError("token has no issuer", reason=Reason.UNTRUSTED_ISSUER)
        if "/oauth2/" not in issuer:
            logger.warning(
                "Rejected a token from an Okta org authorization server (issuer %r has no "
                "/oauth2/): its keys are not meant for third-party validation; request tokens "
                "from a custom authorization server (https://<org>.okta.com/oauth2/<server-id>)",
                issuer[:200],
            )
            raise TokenError(
                "token is from an Okta org authorization server", reason=Reason.UNTRUSTED_ISSUER
            )
        raise TokenError("token issuer is not trusted", reason=Reason.UNTRUSTED_ISSUER)

    # -- step 6: claims ------------------------------------------------------------------------
    def _check_claims(
        self, claims: dict[str, Any], issuer: str, kid: str
    ) -> tuple[AccessToken, float]:
        """The verified claims as an AccessToken, and the time from which they are valid."""
        # `iss` was checked exactly before the key lookup (step 3). Each check has its common
        # case inline and its helper for the rest: this runs once per new token.
        aud = claims.get("aud")
        if type(aud) is not str or aud not in self._audiences:
            self._check_audience(aud)
        exp = claims.get("exp")
        iat = claims.get("iat")
        if not (
            type(exp) is int
            and type(iat) is int
            and -_MAX_NUMERIC_DATE < exp < _MAX_NUMERIC_DATE
            and -_MAX_NUMERIC_DATE < iat < _MAX_NUMERIC_DATE
        ):
            exp = _numeric_date(claims, "exp")  # each raises if its value is not a NumericDate
            iat = _numeric_date(claims, "iat")
        valid_from = iat if "nbf" not in claims else max(iat, _numeric_date(claims, "nbf"))
        now = self._clock()
        skew = self._skew
        if exp <= now - skew:
            raise TokenError("token has expired", reason=Reason.EXPIRED)
        if valid_from > now + skew:
            raise TokenError("token is not valid yet", reason=Reason.NOT_YET_VALID)
        sub = claims.get("sub")
        if type(sub) is not str or not sub:
            raise TokenError("token has no 'sub'")
        cid = claims.get("cid")
        if type(cid) is not str:
            cid = _optional_string(claims, "cid")
        if self._clients is not None and cid not in self._clients:
            raise TokenError("client is not allowed", reason=Reason.CLIENT_NOT_ALLOWED)
        scopes = read_scopes(claims)
        uid = claims.get("uid")
        if type(uid) is not str:
            uid = _optional_string(claims, "uid")
        jti = claims.get("jti")
        if type(jti) is not str:
            jti = _optional_string(claims, "jti")
        # Positional: keyword arguments double the cost of building the NamedTuple.
        access = AccessToken(claims, scopes, sub, cid, uid, jti, exp, issuer, kid)
        return access, valid_from - skew

    def _check_audience(self, aud: object) -> None:
        if isinstance(aud, str):
            accepted = aud in self._audiences
        elif type(aud) is list and _all_strings(aud):
            accepted = not self._audiences.isdisjoint(aud)
        else:
            accepted = False
        if not accepted:
            raise TokenError("token audience is not accepted", reason=Reason.WRONG_AUDIENCE)


def _b64url_decode(segment: bytes, what: str) -> bytes:
    # The caller has checked the alphabet; this rejects impossible lengths and non-canonical tails
    # so that one token has exactly one spelling.
    remainder = len(segment) % 4
    if remainder == 1:
        raise TokenError(f"token {what} is not base64url")
    if remainder and _B64_INDEX[segment[-1]] & _B64_TAIL_MASK[remainder]:
        raise TokenError(f"token {what} is not canonical base64url")
    try:
        return binascii.a2b_base64(
            segment.translate(_URLSAFE_TO_STANDARD) + _PADDING[remainder], strict_mode=True
        )
    except (ValueError, binascii.Error):
        raise TokenError(f"token {what} is not base64url") from None


def _decode_json_object(segment: bytes, what: str) -> dict[str, Any]:
    raw = _b64url_decode(segment, what)
    try:
        # orjson is strict where the standard library is lenient: no NaN/Infinity, no lone
        # surrogates, no byte-order mark, nothing after the value, UTF-8 only, nesting capped;
        # and it parses a claims set in a third of the time (benchmarks/README.md).
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise TokenError(f"token {what} is not UTF-8 JSON") from None
    if type(value) is not dict:
        raise TokenError(f"token {what} is not a JSON object")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    # bool is an int subclass and floats cover 1e999: only a plain int is a NumericDate here.
    if type(value) is not int or not -_MAX_NUMERIC_DATE < value < _MAX_NUMERIC_DATE:
        raise TokenError(f"token '{name}' is missing or not an integer")
    return value


def _optional_string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    if not isinstance(value, str):
        raise TokenError(f"token '{name}' is not a string")
    return value


def read_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Scopes from Okta's `scp` list or a space-separated `scope`; TokenError if malformed."""
    if "scp" in claims:
        scp = claims["scp"]
        if type(scp) is not list or not _all_strings(scp):
            raise TokenError("token 'scp' is not a list of strings")
        scopes = tuple(scp)
        # Okta never repeats a scope: keeping the first of each only when one is repeated saves
        # half the cost on every new token.
        return scopes if len(set(scopes)) == len(scopes) else tuple(dict.fromkeys(scopes))
    if "scope" in claims:
        scope = claims["scope"]
        if not isinstance(scope, str):
            raise TokenError("token 'scope' is not a string")
        return tuple(dict.fromkeys(scope.split()))
    return ()


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS WITHOUT any verification: for diagnostics only."""
    header_segment, payload_segment, _ = _compact_bytes(token).split(b".")
    return (
        _decode_json_object(header_segment, "header"),
        _decode_json_object(payload_segment, "payload"),
    )


def _all_strings(items: list[Any]) -> bool:
    # str.join type-checks every item in C, a fifth of the cost of a generator over the list.
    try:
        "".join(items)
    except TypeError:
        return False
    return True
