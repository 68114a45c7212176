"""Public key blobs, lines and signature checks: strict parsing, the DecodeError/False split."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.ssh.errors import DecodeError
from harness.ssh.keys import (
    SUPPORTED_HOST_KEY_ALGORITHMS,
    DSSKey,
    ECDSAKey,
    Ed25519Key,
    PKey,
    PublicKey,
    RSAKey,
    key_type_for_algorithm,
    parse_public_key,
    parse_public_key_line,
    signature_algorithms_for_key_type,
    split_public_key_line,
)
from harness.ssh.keys.public import ECDSAPublicKey, RSAPublicKey, encode_signature_blob
from harness.ssh.wire.codec import Writer, encode_mpint


@pytest.fixture(scope="module")
def keys() -> dict[str, PKey]:
    """One key per type; RSA and DSA generation is slow, so once per module."""
    return {
        "ssh-ed25519": Ed25519Key.generate(seed=bytes(range(32))),
        "ecdsa-sha2-nistp256": ECDSAKey.generate(256, scalar=0x1234567),
        "ecdsa-sha2-nistp384": ECDSAKey.generate(384, scalar=0x7654321),
        "ecdsa-sha2-nistp521": ECDSAKey.generate(521, scalar=0xABCDEF),
        "ssh-rsa": RSAKey.generate(2048),
        "ssh-dss": DSSKey.generate(1024),
    }


def test_algorithm_tables() -> None:
    assert SUPPORTED_HOST_KEY_ALGORITHMS == (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-dss",
    )  # fmt: skip
    assert key_type_for_algorithm("rsa-sha2-256") == "ssh-rsa"
    assert key_type_for_algorithm("ecdsa-sha2-nistp384") == "ecdsa-sha2-nistp384"
    assert signature_algorithms_for_key_type("ssh-rsa") == ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert signature_algorithms_for_key_type("ssh-ed25519") == ("ssh-ed25519",)
    with pytest.raises(ValueError):
        key_type_for_algorithm("ssh-ed448")
    with pytest.raises(ValueError):
        signature_algorithms_for_key_type("rsa-sha2-256")


def test_blob_and_line_round_trip(keys: dict[str, PKey]) -> None:
    for key_type, key in keys.items():
        pub = parse_public_key(key.asbytes())
        assert pub == key.public_key and hash(pub) == hash(key.public_key)
        assert pub.key_type == pub.get_name() == key_type
        line = pub.to_openssh_line("user@host with spaces")
        assert line.startswith(f"{key_type} {pub.get_base64()} ")
        parsed = split_public_key_line(line)
        assert parsed.key == pub and parsed.comment == "user@host with spaces" and parsed.options == ""
        assert parse_public_key_line(pub.to_openssh_line()) == pub
        assert pub.fingerprint_sha256().startswith("SHA256:") and not pub.fingerprint_sha256().endswith("=")
        assert pub.fingerprint_md5().count(":") == 16


def test_authorized_keys_options(keys: dict[str, PKey]) -> None:
    pub = keys["ssh-ed25519"].public_key
    line = f'from="10.0.0.1,host name",no-pty,command="echo a b" {pub.to_openssh_line("me")}'
    parsed = split_public_key_line(line)
    assert parsed.options == 'from="10.0.0.1,host name",no-pty,command="echo a b"'
    assert parsed.key == pub and parsed.comment == "me"


def test_key_sizes(keys: dict[str, PKey]) -> None:
    sizes = {k: v.public_key.get_bits() for k, v in keys.items()}
    assert sizes == {"ssh-ed25519": 256, "ecdsa-sha2-nistp256": 256, "ecdsa-sha2-nistp384": 384,
                     "ecdsa-sha2-nistp521": 521, "ssh-rsa": 2048, "ssh-dss": 1024}  # fmt: skip


def blob(*fields: bytes) -> bytes:
    w = Writer()
    for f in fields:
        w.string(f)
    return w.getvalue()


def test_strict_blob_parsing(keys: dict[str, PKey]) -> None:
    ed = keys["ssh-ed25519"].asbytes()
    ec: ECDSAPublicKey = keys["ecdsa-sha2-nistp256"].public_key  # type: ignore[assignment]
    rsa: RSAPublicKey = keys["ssh-rsa"].public_key  # type: ignore[assignment]
    compressed = bytes([2 + (ec.point[-1] & 1)]) + ec.point[1:33]
    off_curve = ec.point[:-1] + bytes([ec.point[-1] ^ 1])
    bad = {
        "trailing byte": ed + b"\x00",
        "truncated": ed[:-1],
        "empty": b"",
        "unknown type": blob(b"ssh-ed448", bytes(57)),
        "certificate": blob(b"ssh-ed25519-cert-v01@openssh.com", bytes(32)),
        "ed25519 short": blob(b"ssh-ed25519", bytes(31)),
        "curve mismatch": blob(b"ecdsa-sha2-nistp256", b"nistp384", ec.point),
        "unknown curve": blob(b"ecdsa-sha2-nistp256", b"nistp999", ec.point),
        "compressed point": blob(b"ecdsa-sha2-nistp256", b"nistp256", compressed),
        "off-curve point": blob(b"ecdsa-sha2-nistp256", b"nistp256", off_curve),
        "negative e": blob(b"ssh-rsa", encode_mpint(-65537), encode_mpint(rsa.n)),
        "non-canonical mpint": blob(b"ssh-rsa", b"\x00" + encode_mpint(65537), encode_mpint(rsa.n)),
        "even e": blob(b"ssh-rsa", encode_mpint(65536), encode_mpint(rsa.n)),
        "huge modulus": blob(b"ssh-rsa", encode_mpint(65537), encode_mpint((1 << 16400) | 1)),
        "dsa zeros": blob(b"ssh-dss", b"", b"", b"", b""),
        "non-ascii type": blob(b"ssh-\xff", b""),
    }
    for what, data in bad.items():
        with pytest.raises(DecodeError):
            parse_public_key(data)
            pytest.fail(what)


def test_strict_line_parsing(keys: dict[str, PKey]) -> None:
    ed = keys["ssh-ed25519"].public_key
    b64 = ed.get_base64()
    for line in ["", "   ", "# comment", f"ssh-rsa {b64}", f"ssh-ed25519 {b64[:-2]}", "ssh-ed25519",
                 f"ssh-ed25519 {b64}!", f"no-pty,from=\"x {b64}", f"sk-ssh-ed25519@openssh.com {b64}"]:  # fmt: skip
        with pytest.raises(DecodeError):
            parse_public_key_line(line)


@pytest.mark.parametrize(
    "key_type",
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss"],
)
def test_sign_verify_and_wrong_is_false(keys: dict[str, PKey], key_type: str) -> None:
    key = keys[key_type]
    pub = parse_public_key(key.asbytes())
    for alg in pub.signature_algorithms():
        sig = key.sign(b"data", alg)
        assert pub.verify(alg, b"data", sig)
        assert not pub.verify(alg, b"datA", sig)
        other = "ssh-ed25519" if key_type != "ssh-ed25519" else "ssh-rsa"
        assert not pub.verify(other, b"data", sig)  # algorithm for another key type
        assert not pub.verify("no-such-alg", b"data", sig)
        flipped = sig[:-1] + bytes([sig[-1] ^ 1])  # still well formed, no longer valid
        assert not pub.verify(alg, b"data", flipped)
    if key_type.startswith(("ssh-ed25519", "ecdsa")):
        stranger = (
            Ed25519Key.generate(seed=bytes(32))
            if key_type == "ssh-ed25519"
            else ECDSAKey.generate(pub.get_bits(), scalar=424242)
        )
        assert not pub.verify(key_type, b"data", stranger.sign(b"data"))


def test_rsa_name_inside_blob_must_match_negotiated(keys: dict[str, PKey]) -> None:
    key = keys["ssh-rsa"]
    sha1 = key.sign(b"h", "ssh-rsa")
    assert key.public_key.verify("ssh-rsa", b"h", sha1)
    assert not key.public_key.verify("rsa-sha2-256", b"h", sha1)  # downgraded name: refused
    sha256 = key.sign(b"h", "rsa-sha2-256")
    relabelled = encode_signature_blob("rsa-sha2-512", sha256[4 + 12 + 4 :])
    assert not key.public_key.verify("rsa-sha2-512", b"h", relabelled)


def test_malformed_signature_blobs_raise(keys: dict[str, PKey]) -> None:
    ed = keys["ssh-ed25519"]
    good = ed.sign(b"m")
    with pytest.raises(DecodeError):
        ed.public_key.verify("ssh-ed25519", b"m", good + b"\x00")  # trailing bytes
    with pytest.raises(DecodeError):
        ed.public_key.verify("ssh-ed25519", b"m", good[:-1])  # truncated
    with pytest.raises(DecodeError):
        ed.public_key.verify("ssh-ed25519", b"m", encode_signature_blob("ssh-ed25519", bytes(63)))
    ec = keys["ecdsa-sha2-nistp256"]
    inner = Writer().mpint(5).mpint(7).getvalue()
    with pytest.raises(DecodeError):
        ec.public_key.verify("ecdsa-sha2-nistp256", b"m", encode_signature_blob("ecdsa-sha2-nistp256", inner + b"\x00"))
    with pytest.raises(DecodeError):
        ec.public_key.verify("ecdsa-sha2-nistp256", b"m", encode_signature_blob("ecdsa-sha2-nistp256", inner[:-1]))
    assert not ec.public_key.verify("ecdsa-sha2-nistp256", b"m", encode_signature_blob("ecdsa-sha2-nistp256", inner))
    neg = Writer().mpint(-5).mpint(7).getvalue()
    assert not ec.public_key.verify("ecdsa-sha2-nistp256", b"m", encode_signature_blob("ecdsa-sha2-nistp256", neg))
    dss = keys["ssh-dss"]
    with pytest.raises(DecodeError):
        dss.public_key.verify("ssh-dss", b"m", encode_signature_blob("ssh-dss", bytes(39)))
    assert not dss.public_key.verify("ssh-dss", b"m", encode_signature_blob("ssh-dss", bytes(40)))


def test_rsa_signature_lengths(keys: dict[str, PKey]) -> None:
    key = keys["ssh-rsa"]
    # A signature longer than the modulus is wrong (False); a shorter one is left-padded, as
    # OpenSSH does. Find a message whose signature starts with a zero byte to strip.
    for i in range(4000):
        data = b"pad %d" % i
        sig = key.sign(data, "rsa-sha2-256")[4 + 12 + 4 :]
        assert len(sig) == 256  # our own signatures are always the full modulus length
        if sig[0] == 0:
            break
    else:
        pytest.fail("no RSA signature with a leading zero byte in 4000 tries")
    stripped = encode_signature_blob("rsa-sha2-256", sig[1:])
    assert key.public_key.verify("rsa-sha2-256", data, stripped)
    assert not key.public_key.verify("rsa-sha2-256", data, encode_signature_blob("rsa-sha2-256", b"\x00" + sig))


# -- hypothesis: the parser's only failure is DecodeError ---------------------------------------


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    def mutate(draw_data: tuple[int, int, bytes]) -> bytes:
        pos, cut, insert = draw_data
        pos %= len(valid) + 1
        return valid[:pos] + insert + valid[pos + cut :]

    return st.tuples(st.integers(0, 1 << 16), st.integers(0, 8), st.binary(max_size=8)).map(mutate)


_SEED_BLOBS = [
    Ed25519Key.generate(seed=bytes(32)).asbytes(),
    ECDSAKey.generate(256, scalar=99).asbytes(),
    ECDSAKey.generate(521, scalar=99).asbytes(),
    blob(b"ssh-rsa", encode_mpint(65537), encode_mpint((1 << 1023) + 12345)),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), *(_mutations(b) for b in _SEED_BLOBS)))
@example(b"\x00\x00\x00\x07ssh-rsa")
@example(b"\xff\xff\xff\xff")
def test_parse_public_key_raises_only_decode_error(data: bytes) -> None:
    _parse_or_decode_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_blobs_raise_only_decode_error(keys: dict[str, PKey], data: st.DataObject) -> None:
    valid = data.draw(st.sampled_from([k.asbytes() for k in keys.values()]))
    _parse_or_decode_error(data.draw(_mutations(valid)))


def _parse_or_decode_error(data: bytes) -> None:
    try:
        key = parse_public_key(data)
    except DecodeError:
        return
    assert isinstance(key, PublicKey) and key.asbytes() == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]))
def test_verify_on_random_signature_blobs(sig: bytes, alg: str) -> None:
    keys = {"ssh-ed25519": _SEED_BLOBS[0], "ecdsa-sha2-nistp256": _SEED_BLOBS[1], "ssh-rsa": _SEED_BLOBS[3]}
    pub = parse_public_key(keys[alg])
    for candidate in (sig, encode_signature_blob(alg, sig)):
        try:
            assert pub.verify(alg, b"data", candidate) is False
        except DecodeError:
            pass


def test_line_base64_is_strict() -> None:
    pub = Ed25519Key.generate(seed=bytes(32)).public_key
    b64 = base64.b64encode(pub.asbytes()).decode()
    with pytest.raises(DecodeError):
        parse_public_key_line(f"ssh-ed25519 {b64[:10]} {b64[10:]}")
