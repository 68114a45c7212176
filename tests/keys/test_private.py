"""Private key classes: generation, signing choices, OpenSSH-format round trips, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.ssh.errors import SSHException
from harness.ssh.keys import (
    BadKeyFile,
    DSSKey,
    ECDSAKey,
    Ed25519Key,
    IncorrectPassphrase,
    PasswordRequiredException,
    PKey,
    RSAKey,
    decode_signature_blob,
    load_private_key,
    load_private_key_file,
)


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate(bits=2048)


def test_generate_each_type(rsa_key: RSAKey) -> None:
    assert Ed25519Key.generate().get_name() == "ssh-ed25519"
    assert ECDSAKey.generate().get_name() == "ecdsa-sha2-nistp256"
    assert ECDSAKey.generate(bits=384).get_name() == "ecdsa-sha2-nistp384"
    assert ECDSAKey.generate(bits=521).get_bits() == 521
    assert rsa_key.get_name() == "ssh-rsa" and rsa_key.get_bits() == 2048
    with pytest.raises(ValueError):
        ECDSAKey.generate(bits=255)


def test_seeded_generation_is_reproducible() -> None:
    assert Ed25519Key.generate(seed=b"\x01" * 32) == Ed25519Key.generate(seed=b"\x01" * 32)
    assert Ed25519Key.generate(seed=b"\x01" * 32) != Ed25519Key.generate(seed=b"\x02" * 32)
    assert ECDSAKey.generate(384, scalar=7).asbytes() == ECDSAKey.generate(384, scalar=7).asbytes()
    # Ed25519 signatures are deterministic, so a seeded key replays byte for byte
    key = Ed25519Key.generate(seed=b"\x03" * 32)
    assert key.sign(b"x") == key.sign(b"x")


def test_rsa_algorithm_choice(rsa_key: RSAKey) -> None:
    assert rsa_key.signature_algorithms() == ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert decode_signature_blob(rsa_key.sign(b"d"))[0] == "rsa-sha2-512"
    for alg in rsa_key.signature_algorithms():
        name, raw = decode_signature_blob(rsa_key.sign(b"d", alg))
        assert name == alg and len(raw) == 256
        assert rsa_key.verify(alg, b"d", rsa_key.sign(b"d", alg))
    with pytest.raises(ValueError, match="cannot sign"):
        rsa_key.sign(b"d", "ssh-ed25519")
    with pytest.raises(ValueError):
        Ed25519Key.generate().sign(b"d", "rsa-sha2-256")


def test_signature_shapes() -> None:
    ed = Ed25519Key.generate()
    assert decode_signature_blob(ed.sign(b"d")) == ("ssh-ed25519", decode_signature_blob(ed.sign(b"d"))[1])
    assert len(decode_signature_blob(ed.sign(b"d"))[1]) == 64
    dss = DSSKey.generate()
    name, raw = decode_signature_blob(dss.sign(b"d"))
    assert name == "ssh-dss" and len(raw) == 40 and dss.verify("ssh-dss", b"d", dss.sign(b"d"))
    ec = ECDSAKey.generate(521)
    assert decode_signature_blob(ec.sign(b"d", "ecdsa-sha2-nistp521"))[0] == "ecdsa-sha2-nistp521"
    assert ec.public_key.verify("ecdsa-sha2-nistp521", b"d", ec.sign(b"d"))


@pytest.mark.parametrize("password", [None, "s3cret"])
def test_write_and_reload(tmp_path: Path, rsa_key: RSAKey, password: str | bytes | None) -> None:
    for key in (Ed25519Key.generate(), ECDSAKey.generate(384), rsa_key):
        path = tmp_path / f"{key.get_name()}.key"
        key.write_private_key_file(path, password)
        assert path.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        assert path.stat().st_mode & 0o777 == 0o600
        loaded = load_private_key_file(path, password)
        assert type(loaded) is type(key) and loaded == key and hash(loaded) == hash(key)
        if password is None:  # (each encrypted load runs bcrypt-pbkdf: ~0.1 s, so only once)
            assert type(key).from_private_key_file(path) == key
            assert type(key)(filename=path) == key
        else:
            with pytest.raises(PasswordRequiredException):
                load_private_key_file(path)
            with pytest.raises(IncorrectPassphrase):
                load_private_key_file(path, "wrong")


def test_file_object_and_bytes_loading(rsa_key: RSAKey) -> None:
    text = rsa_key.private_bytes().decode()
    assert RSAKey.from_private_key(io.StringIO(text)) == rsa_key
    assert PKey.from_private_key(io.BytesIO(text.encode())) == rsa_key
    assert RSAKey(file_obj=io.StringIO(text)) == rsa_key
    assert load_private_key(text) == rsa_key
    buf = io.StringIO()
    rsa_key.write_private_key(buf, "pw")
    assert load_private_key(buf.getvalue(), b"pw") == rsa_key  # str and bytes passphrases agree
    with pytest.raises(TypeError):
        RSAKey()


def test_bad_inputs_raise_ssh_exceptions(rsa_key: RSAKey) -> None:
    for junk in [b"", b"not a key", b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                 rsa_key.private_bytes()[:200], rsa_key.public_key.to_openssh_line().encode()]:  # fmt: skip
        with pytest.raises(BadKeyFile) as info:
            load_private_key(junk)
        assert isinstance(info.value, SSHException)
    with pytest.raises(BadKeyFile):
        ECDSAKey.from_private_key(io.BytesIO(rsa_key.private_bytes()))


def test_public_half_and_repr(rsa_key: RSAKey) -> None:
    assert rsa_key.public_key.asbytes() == rsa_key.asbytes()
    assert rsa_key.get_base64() == rsa_key.public_key.get_base64()
    assert rsa_key.can_sign()
    assert "SHA256:" in repr(rsa_key) and "RSAKey" in repr(rsa_key)
    assert rsa_key != Ed25519Key.generate()
