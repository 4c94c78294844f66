"""The signature check against cryptography's own RSA PKCS#1 v1.5 verify(), answer for answer.

tokens.py recovers the encoded message with OpenSSL and compares it with the expected
DigestInfo || hash itself (benchmarks/README.md says why). These tests sign hand-built encoded
messages with the real private key (raw RSA: s = EM^d mod n) and hold the verifier to what
`RSAPublicKey.verify` answers for the very same signature, including every classic forgery
shape: a lenient parser accepting any of them would let a token through that OpenSSL refuses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given, settings
from hypothesis import strategies as st

from okta_authorizer.errors import Reason, TokenError
from okta_authorizer.localdev.keys import SigningKey, b64url, b64url_json, okta_claims
from okta_authorizer.tokens import TokenVerifier
from tests.support import ACME_ISSUER, TOKEN_AUDIENCE, TOKEN_NOW, memory_verifier

# RFC 8017 section 9.2, note 1, written out here rather than imported: the test must not share
# the table it checks.
DIGEST_INFO = {
    "RS256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "RS384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "RS512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
HASH = {"RS256": hashlib.sha256, "RS384": hashlib.sha384, "RS512": hashlib.sha512}
CRYPTOGRAPHY_HASH = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
ALGORITHMS = ("RS256", "RS384", "RS512")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(kid="signature-test")


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> TokenVerifier:
    # A key published without `alg` may verify every configured algorithm.
    jwk = key.public_jwk()
    del jwk["alg"]
    return memory_verifier([jwk], algorithms=ALGORITHMS, verified_cache_limit=0)[0]


def signing_input(key: SigningKey, alg: str, jti: str = "AT.signature-test") -> bytes:
    header = b64url_json({"kid": key.kid, "alg": alg})
    claims = b64url_json(okta_claims(ACME_ISSUER, TOKEN_AUDIENCE, now=TOKEN_NOW, jti=jti))
    return f"{header}.{claims}".encode("ascii")


def modulus_bytes(key: SigningKey) -> int:
    return (key.private.key_size + 7) // 8


def encoded_message(key: SigningKey, alg: str, message: bytes) -> bytes:
    """EMSA-PKCS1-v1_5(message): 00 01 FF..FF 00 DigestInfo hash, k bytes (RFC 8017 9.2)."""
    t = DIGEST_INFO[alg] + HASH[alg](message).digest()
    return b"\x00\x01" + b"\xff" * (modulus_bytes(key) - len(t) - 3) + b"\x00" + t


def raw_sign(key: SigningKey, em: bytes) -> bytes:
    """The RSA signature primitive (RFC 8017 RSASP1, by the CRT) on any EM, as k bytes."""
    numbers = key.private.private_numbers()
    value = int.from_bytes(em, "big") % numbers.public_numbers.n
    m1 = pow(value, numbers.dmp1, numbers.p)
    m2 = pow(value, numbers.dmq1, numbers.q)
    signature = m2 + (numbers.iqmp * (m1 - m2) % numbers.p) * numbers.q
    return signature.to_bytes(modulus_bytes(key), "big")


def cryptography_accepts(key: SigningKey, alg: str, message: bytes, signature: bytes) -> bool:
    try:
        key.private.public_key().verify(
            signature, message, padding.PKCS1v15(), CRYPTOGRAPHY_HASH[alg]
        )
    except InvalidSignature:
        return False
    return True


def verifier_accepts(verifier: TokenVerifier, message: bytes, signature: bytes) -> bool:
    """True if the verifier accepts; a refusal must be BAD_SIGNATURE, never any other reason."""
    try:
        verifier.verify(f"{message.decode('ascii')}.{b64url(signature)}")
    except TokenError as error:
        refused = error.reason
    else:
        return True
    assert refused is Reason.BAD_SIGNATURE, refused
    return False


def replace_digest_info(key: SigningKey, alg: str, message: bytes, info: bytes) -> bytes:
    """EM with `info` in place of the DigestInfo, the padding resized to keep k bytes."""
    t = info + HASH[alg](message).digest()
    return b"\x00\x01" + b"\xff" * (modulus_bytes(key) - len(t) - 3) + b"\x00" + t


def genuine(key: SigningKey, alg: str, message: bytes) -> bytes:
    return raw_sign(key, encoded_message(key, alg, message))


def without_null_parameters(key: SigningKey, alg: str, message: bytes) -> bytes:
    # The DigestInfo with its AlgorithmIdentifier's NULL parameters left out (RFC 8017 9.2
    # note 2 mentions such encoders); OpenSSL's encode-and-compare refuses them.
    info = bytes.fromhex("302f300b0609608648016503040201") + b"\x04\x20"
    return raw_sign(key, replace_digest_info(key, alg, message, info))


def long_form_length(key: SigningKey, alg: str, message: bytes) -> bytes:
    # The same DER value, its outer length written in long form (BER, not DER).
    info = b"\x30\x81\x31" + DIGEST_INFO[alg][2:]
    return raw_sign(key, replace_digest_info(key, alg, message, info))


def garbage_after_hash(key: SigningKey, alg: str, message: bytes) -> bytes:
    # Bleichenbacher's 2006 forgery shape: a short padding, then DigestInfo and hash, then
    # garbage a parser that stops after the hash never looks at.
    t = DIGEST_INFO[alg] + HASH[alg](message).digest()
    head = b"\x00\x01" + b"\xff" * 8 + b"\x00" + t
    return raw_sign(key, head + b"\x00" * (modulus_bytes(key) - len(head)))


def seven_ff_bytes(key: SigningKey, alg: str, message: bytes) -> bytes:
    # RFC 8017 requires at least eight 0xFF bytes of padding.
    t = DIGEST_INFO[alg] + HASH[alg](message).digest()
    filler = b"\x00" * (modulus_bytes(key) - len(t) - 10)
    return raw_sign(key, b"\x00\x01" + b"\xff" * 7 + b"\x00" + filler + t)


def no_zero_separator(key: SigningKey, alg: str, message: bytes) -> bytes:
    em = encoded_message(key, alg, message)
    t_length = len(DIGEST_INFO[alg]) + HASH[alg]().digest_size
    return raw_sign(key, em[: -t_length - 1] + b"\xff" + em[-t_length:])


def modulus_itself(key: SigningKey, alg: str, message: bytes) -> bytes:
    # s = n, congruent to 0: a value OpenSSL must refuse as not below the modulus.
    return key.private.public_key().public_numbers().n.to_bytes(modulus_bytes(key), "big")


# (id, alg of the header, the signature from key, alg and signing input)
Forgery = Callable[[SigningKey, str, bytes], bytes]
CASES: list[tuple[str, str, Forgery]] = [
    ("genuine-rs256", "RS256", genuine),
    ("genuine-rs384", "RS384", genuine),
    ("genuine-rs512", "RS512", genuine),
    (
        "library-signature-rs256",
        "RS256",
        lambda k, a, m: k.private.sign(m, padding.PKCS1v15(), CRYPTOGRAPHY_HASH[a]),
    ),
    ("digest-info-without-null-parameters", "RS256", without_null_parameters),
    ("digest-info-long-form-length", "RS256", long_form_length),
    ("sha384-encoding-under-rs256", "RS256", lambda k, _a, m: genuine(k, "RS384", m)),
    ("sha256-encoding-under-rs512", "RS512", lambda k, _a, m: genuine(k, "RS256", m)),
    (
        "bare-hash-without-digest-info",
        "RS256",
        lambda k, a, m: raw_sign(k, replace_digest_info(k, a, m, b"")),
    ),
    ("garbage-after-hash", "RS256", garbage_after_hash),
    ("padding-of-seven-ff-bytes", "RS256", seven_ff_bytes),
    (
        "block-type-2",
        "RS256",
        lambda k, a, m: raw_sign(k, b"\x00\x02" + encoded_message(k, a, m)[2:]),
    ),
    (
        "non-ff-byte-in-padding",
        "RS256",
        lambda k, a, m: raw_sign(k, b"\x00\x01\xfe" + encoded_message(k, a, m)[3:]),
    ),
    ("no-zero-separator", "RS256", no_zero_separator),
    ("hash-of-another-message", "RS256", lambda k, a, m: genuine(k, a, m + b"x")),
    ("zero-byte-prepended", "RS256", lambda k, a, m: b"\x00" + genuine(k, a, m)),
    ("signature-equal-to-modulus", "RS256", modulus_itself),
    ("all-zero-signature", "RS256", lambda k, _a, _m: bytes(modulus_bytes(k))),
    ("signature-of-one", "RS256", lambda k, _a, _m: (1).to_bytes(modulus_bytes(k), "big")),
]


@pytest.mark.parametrize(("alg", "forge"), [(a, f) for _, a, f in CASES], ids=[c[0] for c in CASES])
def test_signature_crafted_encoding_matches_cryptography_verify(
    key: SigningKey, verifier: TokenVerifier, alg: str, forge: Forgery
) -> None:
    # GIVEN a token whose signature encodes a hand-built message
    message = signing_input(key, alg)
    signature = forge(key, alg, message)

    # WHEN both the verifier and cryptography's verify() judge it
    expected = cryptography_accepts(key, alg, message, signature)

    # THEN they agree (and a BAD_SIGNATURE is the only refusal; see verifier_accepts)
    assert verifier_accepts(verifier, message, signature) is expected


def test_signature_genuine_cases_are_accepted_so_the_matrix_can_tell(
    key: SigningKey, verifier: TokenVerifier
) -> None:
    # The matrix above only compares answers; this pins that it holds accepting cases at all,
    # and that the forgeries are refused, so agreement cannot come from both always refusing.
    verdicts = {
        name: cryptography_accepts(
            key, alg, signing_input(key, alg), forge(key, alg, signing_input(key, alg))
        )
        for name, alg, forge in CASES
    }
    accepted = {name for name, ok in verdicts.items() if ok}
    assert accepted == {
        "genuine-rs256",
        "genuine-rs384",
        "genuine-rs512",
        "library-signature-rs256",
    }


def test_signature_same_integer_one_byte_short_is_refused_like_verify(
    key: SigningKey, verifier: TokenVerifier
) -> None:
    # GIVEN a genuine signature that begins with a zero byte (about one in 256 do)
    for attempt in range(8192):
        message = signing_input(key, "RS256", jti=f"AT.{attempt}")
        signature = key.sign(message)
        if signature[0] == 0:
            break
    else:
        pytest.fail("no signature with a leading zero byte in 8192 attempts")
    assert verifier_accepts(verifier, message, signature)

    # WHEN it is sent without that byte: the same integer, k - 1 bytes long
    short = signature[1:]

    # THEN cryptography refuses it (RFC 8017 8.2.2 step 1: the length must be k) and so do we
    assert not cryptography_accepts(key, "RS256", message, short)
    assert not verifier_accepts(verifier, message, short)


@settings(max_examples=150, deadline=None)
@given(
    alg=st.sampled_from(ALGORITHMS),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
)
def test_signature_any_one_byte_change_to_the_encoding_matches_cryptography_verify(
    key: SigningKey, verifier: TokenVerifier, alg: str, position: int, value: int
) -> None:
    # GIVEN the genuine encoded message with one byte set to any value (often the same one)
    message = signing_input(key, alg)
    em = bytearray(encoded_message(key, alg, message))
    em[position % len(em)] = value
    signature = raw_sign(key, bytes(em))

    # THEN the verifier accepts exactly when cryptography's verify() does
    assert verifier_accepts(verifier, message, signature) is cryptography_accepts(
        key, alg, message, signature
    )


@settings(max_examples=100, deadline=None)
@given(signature=st.binary(min_size=1, max_size=520))
def test_signature_arbitrary_bytes_match_cryptography_verify(
    key: SigningKey, verifier: TokenVerifier, signature: bytes
) -> None:
    message = signing_input(key, "RS256")
    assert verifier_accepts(verifier, message, signature) is cryptography_accepts(
        key, "RS256", message, signature
    )


@pytest.mark.parametrize("bits", [2049, 3072], ids=["2049-bit-modulus", "3072-bit-modulus"])
def test_signature_longer_keys_accept_signatures_of_their_own_length(bits: int) -> None:
    # GIVEN a key whose modulus is not 2048 bits (k = 257 and 384 bytes)
    key = SigningKey(kid=f"rsa-{bits}", bits=bits)
    verifier = memory_verifier([key.public_jwk()])[0]
    token = key.token(okta_claims(ACME_ISSUER, TOKEN_AUDIENCE, now=TOKEN_NOW))
    message = token.rpartition(".")[0]

    # THEN its genuine k-byte signature verifies, and the same with a zero byte prepended not
    assert verifier.verify(token).sub == "nurse.joy@example.com"
    longer = b"\x00" + key.sign(message.encode("ascii"))
    assert not cryptography_accepts(key, "RS256", message.encode("ascii"), longer)
    assert not verifier_accepts(verifier, message.encode("ascii"), longer)
