"""Focused tests for the bugs the fuzzers found (each also has a regression input).

Each is ``xfail(strict=True)`` while the bug is open: the day it is fixed the test passes, the
strict xfail fails, and the fixer removes the mark and flips the regression note to
``status: fixed``.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ssh.errors import RemoteProtocolError
from harness.ssh.keys import private
from harness.ssh.limits import MAX_CHANNELS
from harness.ssh.phases import Phase
from harness.ssh.wire import messages as m
from tests.core.sim import client_authenticated, seal_as_peer


def _strings(data: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(count):
        (n,) = struct.unpack_from(">I", data, pos)
        out.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out, pos


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _openssh_ecdsa_with_compressed_point() -> bytes:
    """A valid OpenSSH ECDSA private key file, its public point rewritten in compressed form."""
    key = private.ECDSAKey.generate(256, scalar=123456789)
    pem = key.private_bytes().decode()
    body = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    magic = b"openssh-key-v1\x00"
    (cipher, kdf, kdfopts), pos = _strings(body, len(magic), 3)
    (nkeys,) = struct.unpack_from(">I", body, pos)
    (public, secret), _ = _strings(body, pos + 4, 2)
    (ktype, curve, point), _ = _strings(public, 0, 3)
    compressed = bytes([2 + (point[-1] & 1)]) + point[1:33]
    new_public = _string(ktype) + _string(curve) + _string(compressed)
    new_body = magic + _string(cipher) + _string(kdf) + _string(kdfopts) + struct.pack(">I", nkeys)
    new_body += _string(new_public) + _string(secret)
    lines = base64.b64encode(new_body).decode()
    wrapped = "\n".join(lines[i : i + 70] for i in range(0, len(lines), 70))
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{wrapped}\n-----END OPENSSH PRIVATE KEY-----\n".encode()


def test_compressed_ecdsa_point_in_key_file_is_a_bad_key_file() -> None:
    data = _openssh_ecdsa_with_compressed_point()
    with pytest.raises(private.BadKeyFile):
        private.load_private_key(data)


def test_channel_open_flood_from_the_peer_keeps_the_promise() -> None:
    """Past MAX_CHANNELS the client must refuse the open or fail with a RemoteProtocolError."""
    conn = client_authenticated()
    try:
        for i in range(MAX_CHANNELS):
            msg = m.ChannelOpen(channel_type="x-flood@example.com", sender=i, initial_window=0, max_packet=1, data=b"")
            conn.receive_data(seal_as_peer(conn, msg))
            conn.data_to_send()
    except RemoteProtocolError:
        assert conn.phase is Phase.CLOSED
        return
    assert conn.phase is not Phase.CLOSED  # every open was answered (refused) instead


def _pem_with_short_dek_info_iv() -> bytes:
    """A legacy-encrypted (Proc-Type 4,ENCRYPTED) EC key whose DEK-Info IV lost its last byte."""
    key = ec.derive_private_key(987654321, ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"fuzz"),
    ).decode()
    head, iv = pem.split("DEK-Info: AES-256-CBC,")
    return (head + "DEK-Info: AES-256-CBC," + iv[:30] + iv[32:]).encode()


def test_short_pem_iv_is_a_bad_key_file_not_a_library_panic() -> None:
    """cryptography panics (pyo3 PanicException, a BaseException) on a DEK-Info IV shorter than the block."""
    data = _pem_with_short_dek_info_iv()
    assert b"Proc-Type: 4,ENCRYPTED" in data
    with pytest.raises(private.BadKeyFile, match="IV"):
        private.load_private_key(data, "fuzz")


def test_dsa_key_file_with_invalid_domain_parameters_is_a_bad_key_file() -> None:
    """cryptography loads a PEM DSA key with a 161-bit q; building its public half raised ValueError."""
    path = Path(__file__).resolve().parents[2] / "corpus" / "regressions" / "keys" / "crash-22a01d6c66"
    data = path.read_bytes()
    password = "fuzz" if data[1] & 1 else None
    with pytest.raises(private.BadKeyFile, match="public half"):
        private.load_private_key(data[2:], password)
