"""Keys and signatures against real OpenSSH (ssh-keygen 9.2) and paramiko as independent oracles.

Every key is made by ssh-keygen once per module and rewritten into each file format with
``ssh-keygen -p -m FORMAT`` (cheap, unlike generating RSA again). Signatures cross both ways:
ssh-keygen's SSHSIG envelopes are checked with our ``verify``, and SSHSIG envelopes around our
signatures are checked by ``ssh-keygen -Y check-novalidate``.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import asyncssh
import paramiko
import pytest

from harness.ssh.keys import (
    BadKeyFile,
    DSSKey,
    ECDSAKey,
    Ed25519Key,
    IncorrectPassphrase,
    PasswordRequiredException,
    PKey,
    RSAKey,
    load_private_key_file,
    load_public_key_file,
    parse_public_key,
)
from harness.ssh.wire.codec import Reader, Writer

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")

PASSPHRASE = "correct horse"
KEYGEN_ARGS = {
    "ed25519": ["-t", "ed25519"],
    "ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa": ["-t", "rsa", "-b", "2048"],
    "dsa": ["-t", "dsa"],
}
CLASSES: dict[str, type[PKey]] = {"ed25519": Ed25519Key, "ecdsa256": ECDSAKey, "ecdsa384": ECDSAKey,
                                  "ecdsa521": ECDSAKey, "rsa": RSAKey, "dsa": DSSKey}  # fmt: skip
# variant -> (ssh-keygen -m format or None for OpenSSH's own, encrypted?)
VARIANTS = {
    "openssh": (None, False),
    "openssh-enc": (None, True),
    "pem": ("PEM", False),
    "pem-enc": ("PEM", True),
    "pkcs8": ("PKCS8", False),
    "pkcs8-enc": ("PKCS8", True),
}


def keygen(*args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["ssh-keygen", *args], input=stdin, capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key per type, plus a copy in every file format variant (``<type>.<variant>``)."""
    d = tmp_path_factory.mktemp("keys")
    for name, args in KEYGEN_ARGS.items():
        keygen("-q", *args, "-N", "", "-C", f"test-{name}", "-f", str(d / name))
        for variant, (fmt, encrypted) in VARIANTS.items():
            path = d / f"{name}.{variant}"
            shutil.copy(d / name, path)
            path.chmod(0o600)
            fmt_args = ["-m", fmt] if fmt else []
            keygen("-q", "-p", "-f", str(path), "-P", "", "-N", PASSPHRASE if encrypted else "", *fmt_args)
    return d


def ssh_keygen_fingerprint(path: Path) -> tuple[int, str]:
    bits, fingerprint, *_ = keygen("-l", "-E", "sha256", "-f", str(path)).split()
    return int(bits), fingerprint


ALL = [(name, variant) for name in KEYGEN_ARGS for variant in VARIANTS]


@pytest.mark.parametrize(("name", "variant"), ALL, ids=[f"{n}-{v}" for n, v in ALL])
def test_load_matches_pub_file_and_fingerprint(keydir: Path, name: str, variant: str) -> None:
    encrypted = VARIANTS[variant][1]
    key = load_private_key_file(keydir / f"{name}.{variant}", PASSPHRASE if encrypted else None)
    assert type(key) is CLASSES[name]
    pub = load_public_key_file(keydir / f"{name}.pub")
    pub_type, pub_b64 = (keydir / f"{name}.pub").read_text().split()[:2]
    assert key.asbytes() == base64.b64decode(pub_b64) == pub.asbytes()
    assert key.get_name() == pub_type == pub.key_type
    bits, fingerprint = ssh_keygen_fingerprint(keydir / f"{name}.pub")
    assert key.fingerprint_sha256() == pub.fingerprint_sha256() == fingerprint
    assert key.get_bits() == bits
    if not encrypted:  # the subclass's own loader accepts it as well (skipped: bcrypt costs ~0.1 s)
        assert CLASSES[name].from_private_key_file(keydir / f"{name}.{variant}") == key


@pytest.mark.parametrize("variant", [v for v, (_, enc) in VARIANTS.items() if enc])
@pytest.mark.parametrize("name", ["ed25519", "ecdsa256", "rsa"])
def test_passphrase_errors_are_ssh_exceptions(keydir: Path, name: str, variant: str) -> None:
    path = keydir / f"{name}.{variant}"
    with pytest.raises(PasswordRequiredException) as missing:
        load_private_key_file(path)
    assert not isinstance(missing.value, IncorrectPassphrase)
    assert "passphrase" in str(missing.value)
    with pytest.raises(IncorrectPassphrase, match="wrong passphrase"):
        load_private_key_file(path, "not the passphrase")


def test_passphrase_for_unencrypted_key_is_ignored(keydir: Path) -> None:
    assert load_private_key_file(keydir / "ed25519.openssh", "unused") == load_private_key_file(keydir / "ed25519")
    assert load_private_key_file(keydir / "rsa.pem", b"unused") == load_private_key_file(keydir / "rsa")


def test_wrong_class_and_garbage_raise_bad_key_file(keydir: Path, tmp_path: Path) -> None:
    with pytest.raises(BadKeyFile, match="ed25519"):
        RSAKey.from_private_key_file(keydir / "ed25519")
    with pytest.raises(BadKeyFile):
        Ed25519Key(filename=keydir / "rsa.pem")
    (tmp_path / "junk").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(BadKeyFile):
        load_private_key_file(tmp_path / "junk")
    with pytest.raises(BadKeyFile):
        load_private_key_file(keydir / "ed25519.pub")


# -- SSHSIG (OpenSSH PROTOCOL.sshsig) ---------------------------------------------------------

NAMESPACE = "harness-test"
MESSAGE = b"signed by the harness test suite\n"


def sshsig_signed_data(namespace: str, hash_alg: str, message: bytes) -> bytes:
    """What the inner signature covers: MAGIC, namespace, reserved, hash algorithm, H(message)."""
    digest = hashlib.new(hash_alg, message).digest()
    return b"SSHSIG" + Writer().text(namespace).string(b"").text(hash_alg).string(digest).getvalue()


def read_sshsig(armoured: str) -> tuple[bytes, str, str, bytes]:
    body = "".join(line for line in armoured.splitlines() if not line.startswith("-----"))
    r = Reader(base64.b64decode(body))
    assert r.raw(6) == b"SSHSIG" and r.uint32() == 1
    public_key, namespace, _reserved, hash_alg, signature = r.string(), r.ascii(), r.string(), r.ascii(), r.string()
    r.check_end()
    return public_key, namespace, hash_alg, signature


def write_sshsig(public_key: bytes, hash_alg: str, signature: bytes) -> str:
    blob = b"SSHSIG" + Writer().uint32(1).string(public_key).text(NAMESPACE).string(b"").text(hash_alg) \
        .string(signature).getvalue()  # fmt: skip
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


@pytest.mark.parametrize("name", list(KEYGEN_ARGS))
def test_verify_ssh_keygen_signature(keydir: Path, tmp_path: Path, name: str) -> None:
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    keygen("-Y", "sign", "-n", NAMESPACE, "-f", str(keydir / name), str(message))
    blob, namespace, hash_alg, signature = read_sshsig((tmp_path / "message.sig").read_text())
    key = parse_public_key(blob)
    assert key == load_public_key_file(keydir / f"{name}.pub") and namespace == NAMESPACE
    algorithm = Reader(signature).ascii()
    data = sshsig_signed_data(namespace, hash_alg, MESSAGE)
    assert key.verify(algorithm, data, signature)
    assert not key.verify(algorithm, data + b"x", signature)


SIGN_CASES = [(n, a) for n in KEYGEN_ARGS if n != "rsa" for a in [None]] + [
    ("rsa", "rsa-sha2-256"),
    ("rsa", "rsa-sha2-512"),
]


@pytest.mark.parametrize(("name", "algorithm"), SIGN_CASES)
def test_ssh_keygen_verifies_our_signature(keydir: Path, tmp_path: Path, name: str, algorithm: str | None) -> None:
    key = load_private_key_file(keydir / name)
    signature = key.sign(sshsig_signed_data(NAMESPACE, "sha512", MESSAGE), algorithm)
    (tmp_path / "msg.sig").write_text(write_sshsig(key.asbytes(), "sha512", signature))
    out = keygen("-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(tmp_path / "msg.sig"), stdin=MESSAGE)
    assert "Good" in out and key.fingerprint_sha256() in out
    with pytest.raises(subprocess.CalledProcessError):
        keygen("-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(tmp_path / "msg.sig"), stdin=MESSAGE + b"x")


# every type unencrypted; encryption (bcrypt-pbkdf, ~0.3 s per case) on two types is enough
WRITE_CASES = [(n, None) for n in KEYGEN_ARGS] + [("ed25519", PASSPHRASE), ("rsa", PASSPHRASE)]


@pytest.mark.parametrize(("name", "password"), WRITE_CASES)
def test_ssh_keygen_reads_our_private_key_file(keydir: Path, tmp_path: Path, name: str, password: str | None) -> None:
    key = load_private_key_file(keydir / name)
    out = tmp_path / "written"
    key.write_private_key_file(out, password)
    assert out.stat().st_mode & 0o777 == 0o600
    public_line = keygen("-y", "-P", password or "", "-f", str(out))
    assert base64.b64decode(public_line.split()[1]) == key.asbytes()
    assert load_private_key_file(out, password) == key


# -- paramiko as a second oracle --------------------------------------------------------------

PARAMIKO_CLASSES: dict[str, type[paramiko.PKey]] = {"ed25519": paramiko.Ed25519Key, "ecdsa256": paramiko.ECDSAKey,
                                                    "ecdsa384": paramiko.ECDSAKey, "ecdsa521": paramiko.ECDSAKey,
                                                    "rsa": paramiko.RSAKey}  # fmt: skip
# paramiko 5 dropped ssh-rsa (SHA-1) and DSA; asyncssh below covers those.
PARAMIKO_CASES = [(n, None) for n in PARAMIKO_CLASSES if n != "rsa"] + [
    ("rsa", a) for a in ("rsa-sha2-256", "rsa-sha2-512")
]


@pytest.mark.parametrize(("name", "algorithm"), PARAMIKO_CASES)
def test_paramiko_cross_signatures(keydir: Path, name: str, algorithm: str | None) -> None:
    theirs = PARAMIKO_CLASSES[name].from_private_key_file(str(keydir / name))
    ours = load_private_key_file(keydir / name)
    assert theirs.asbytes() == ours.asbytes()
    data = b"exchange hash stand-in " + name.encode()
    alg = algorithm or ours.get_name()

    their_sig = theirs.sign_ssh_data(data, algorithm).asbytes()
    assert ours.public_key.verify(alg, data, their_sig)
    assert not ours.public_key.verify(alg, data[:-1], their_sig)

    # paramiko's verifier built from our public blob (its Ed25519Key loaded from a private
    # key file has no verifying key, so the blob route is the one that works for every type)
    their_public = PARAMIKO_CLASSES[name](data=ours.asbytes())
    our_sig = ours.sign(data, algorithm)
    assert Reader(our_sig).ascii() == alg
    assert their_public.verify_ssh_sig(data, paramiko.Message(our_sig))
    assert not their_public.verify_ssh_sig(data + b"!", paramiko.Message(our_sig))


# -- asyncssh as a third oracle (the only one here that still does ssh-rsa and ssh-dss) ---------

ASYNCSSH_CASES = [(n, None) for n in KEYGEN_ARGS if n != "rsa"] + [
    ("rsa", a) for a in ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512")
]


@pytest.mark.parametrize(("name", "algorithm"), ASYNCSSH_CASES)
def test_asyncssh_cross_signatures(keydir: Path, name: str, algorithm: str | None) -> None:
    theirs = asyncssh.read_private_key(str(keydir / name))
    their_public = asyncssh.import_public_key((keydir / f"{name}.pub").read_text())
    ours = load_private_key_file(keydir / name)
    alg = algorithm or ours.get_name()
    data = b"session id stand-in " + name.encode()

    their_sig = theirs.sign(data, alg.encode())
    assert ours.public_key.verify(alg, data, their_sig)
    assert not ours.public_key.verify(alg, data + b"?", their_sig)

    our_sig = ours.sign(data, algorithm)
    assert their_public.verify(data, our_sig)
    assert not their_public.verify(data + b"?", our_sig)
