"""Fuzz target: key material from outside (harness.ssh.keys).

Input: a selector byte, then the material:

- 0, public key blob (a host key from KEXDH_REPLY, a key in USERAUTH_REQUEST);
- 1, signature check: ``[algorithm][2-byte len][key blob][2-byte len][signature blob][data]``,
  the key blob parsed first (seeds hold real host keys, signatures and exchange hashes);
- 2, private key file (OpenSSH or PEM): ``[passphrase flag][file bytes]``;
- 3, known_hosts text (any number of lines);
- 4, one authorized_keys / .pub line.

Oracle: blobs and lines raise only ``DecodeError``; key files only ``BadKeyFile`` or
``PasswordRequiredException`` (``IncorrectPassphrase`` included); ``verify`` returns a bool or
raises ``DecodeError``; known_hosts loading never raises (bad lines are collected). Whatever
parses serialises back to what parses equal: a blob is its own canonical form, a signature
blob re-encodes to the same bytes, a known_hosts entry's ``to_line()`` parses to the same
entry, a loaded private key signs data that its public key verifies (except DSA: cryptography
does not validate DSA parameters, so a corrupt file may load as a key that cannot sign).
"""

from __future__ import annotations

import base64
import struct
import sys

from harness.fuzz.common import OracleViolation, instrument_module, instrumented

with instrumented():
    from harness.ssh.errors import DecodeError, HostKeyMismatch, UnknownHostKey
    from harness.ssh.keys import known_hosts as kh
    from harness.ssh.keys import private, public
    from harness.ssh.wire.codec import Reader

# cryptography parses the OpenSSH private key format in Python: its coverage guides the search
# through that format (the PEM/DER parsers are Rust and invisible to atheris).
from cryptography.hazmat.primitives.serialization import ssh as _crypto_ssh

instrument_module(_crypto_ssh)

BLOB, SIGNATURE, PRIVATE_FILE, KNOWN_HOSTS, AUTHORIZED_KEY = range(5)
ALGORITHMS: tuple[str, ...] = (*public.SIGNATURE_ALGORITHMS, "rsa-sha2-384", "")
PASSPHRASE = b"fuzz"
# Signing with a key loaded from the input costs time proportional to its size: above this,
# only the public half is checked (seeds stay far below it).
MAX_SIGN_BITS = 4096
# An encrypted OpenSSH key file names its own bcrypt-pbkdf round count; the work is linear in
# it (about 10-25 ms a round here), and ssh-keygen -a may legitimately ask for hundreds. That
# is the file's choice, not a parser bug (OpenSSH sets no limit either): above this many rounds
# the input is skipped instead of tripping libFuzzer's timeout (the first 10-minute campaign
# stopped on rounds = 4097). The seeds use 1 or no encryption; ssh-keygen defaults to 16.
MAX_KDF_ROUNDS = 64
_U16 = struct.Struct(">H")
_OPENSSH_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"


def _bcrypt_rounds(text: bytes) -> int:
    """The bcrypt-pbkdf round count an OpenSSH key file asks for (0 if none or unreadable)."""
    start = text.find(_OPENSSH_BEGIN)
    if start < 0:
        return 0
    body = text[start + len(_OPENSSH_BEGIN) :].split(b"-----END", 1)[0]
    try:
        r = Reader(base64.b64decode(b"".join(body.split()), validate=False), len(b"openssh-key-v1\x00"))
        r.string()  # cipher name
        r.string()  # kdf name
        options = Reader(r.string())
        options.string()  # salt
        return options.uint32()
    except (ValueError, DecodeError):
        return 0


def _check_blob(blob: bytes) -> public.PublicKey | None:
    try:
        key = public.parse_public_key(blob)
    except DecodeError:
        return None
    if key.asbytes() != blob:
        raise OracleViolation(f"{key.key_type} blob is not canonical but parsed: {blob.hex()}")
    if public.parse_public_key(key.asbytes()) != key:
        raise OracleViolation(f"{key.key_type} blob does not parse back to an equal key")
    key.fingerprint_sha256()
    key.get_bits()
    repr(key)
    line = public.split_public_key_line(key.to_openssh_line("fuzz comment"))
    if line.key != key or line.comment != "fuzz comment":
        raise OracleViolation(f"{key.key_type} .pub line does not round-trip: {line!r}")
    return key


def _take(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        return b"", len(data)
    n = _U16.unpack_from(data, pos)[0]
    return data[pos + 2 : pos + 2 + n], pos + 2 + n


def _check_signature(data: bytes) -> None:
    if not data:
        return
    algorithm = ALGORITHMS[data[0] % len(ALGORITHMS)]
    blob, pos = _take(data, 1)
    signature, pos = _take(data, pos)
    message = data[pos:]
    try:
        name, raw = public.decode_signature_blob(signature)
    except DecodeError:
        pass
    else:
        if public.encode_signature_blob(name, raw) != signature:
            raise OracleViolation(f"signature blob does not re-encode: {signature.hex()}")
    key = _check_blob(blob)
    if key is None:
        return
    try:
        result = key.verify(algorithm, message, signature)
    except DecodeError:
        return
    if not isinstance(result, bool):
        raise OracleViolation(f"verify returned {result!r}")


def _check_private(data: bytes) -> None:
    if not data:
        return
    password = PASSPHRASE if data[0] & 1 else None
    if _bcrypt_rounds(data[1:]) > MAX_KDF_ROUNDS:
        return
    try:
        key = private.load_private_key(data[1:], password)
    except (private.BadKeyFile, private.PasswordRequiredException):
        return
    pub = _check_blob(key.asbytes())
    if pub is None or pub != key.public_key:
        raise OracleViolation(f"loaded {key.get_name()} key has an unparsable public blob")
    if key.get_bits() > MAX_SIGN_BITS or key.get_name() == "ssh-dss":
        # DSA: cryptography does not validate DSA domain parameters on load, so a corrupted
        # file can hold a "key" whose signatures never verify. Legacy algorithm, not checked.
        return
    for algorithm in key.signature_algorithms()[:1]:
        if not key.public_key.verify(algorithm, b"fuzz", key.sign(b"fuzz", algorithm)):
            raise OracleViolation(f"{key.get_name()} key loaded from a file signs what it cannot verify")


def _check_known_hosts(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    hosts = kh.HostKeys()
    hosts.load_text(text)
    for entry in hosts:
        again = kh.parse_line(entry.to_line())
        if again is None or (again.key, again.patterns, again.hashed, again.marker, again.comment) != (
            entry.key, entry.patterns, entry.hashed, entry.marker, entry.comment
        ):
            raise OracleViolation(f"known_hosts line does not round-trip: {entry.to_line()!r} -> {again!r}")
        entry.matches("example.com")
        entry.matches("[127.0.0.1]:2222")
        try:
            kh.verify_host_key(hosts, "example.com", 22, entry.key)
        except (HostKeyMismatch, UnknownHostKey):
            pass
    hosts.lookup("[127.0.0.1]:2222")


def _check_authorized_key(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        line = public.split_public_key_line(text)
    except DecodeError:
        return
    rebuilt = line.key.to_openssh_line(line.comment)
    if line.options:
        rebuilt = f"{line.options} {rebuilt}"
    again = public.split_public_key_line(rebuilt)
    if (again.options, again.key, again.comment) != (line.options, line.key, line.comment):
        raise OracleViolation(f"authorized_keys line does not round-trip: {rebuilt!r} -> {again!r}")


_CHECKS = (_check_blob, _check_signature, _check_private, _check_known_hosts, _check_authorized_key)


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    _CHECKS[data[0] % len(_CHECKS)](data[1:])


def main() -> None:
    from harness.fuzz.common import run

    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
