"""Ask a live SSH server what it offers: its identification line and its first KEXINIT.

Why a raw probe and not our client: the launcher must describe a peer truthfully even while the
harness's own SSH stack is broken, and must not depend on the peer accepting our key exchange.
The server sends KEXINIT in the clear before anything is negotiated, so one socket, one line and
one binary packet are enough.
"""

from __future__ import annotations

import socket
import struct
import time

from harness.peers.base import PeerError
from harness.ssh.errors import RemoteProtocolError
from harness.ssh.packet.version import VersionReader
from harness.ssh.wire.codec import Reader

PROBE_IDENTIFICATION = b"SSH-2.0-harness_probe\r\n"
SSH_MSG_KEXINIT = 20
# RFC 4253 6.1: every implementation must accept 35000-byte packets; a first KEXINIT is far
# smaller (a few KiB even with every algorithm enabled), so anything bigger is garbage.
MAX_PROBE_PACKET = 35000
# recv size: one KEXINIT usually arrives in a single segment of this size.
_RECV_CHUNK = 16384

KEXINIT_FIELDS = (
    "kex",
    "host_key",
    "cipher_c2s",
    "cipher_s2c",
    "mac_c2s",
    "mac_s2c",
    "compression_c2s",
    "compression_s2c",
    "languages_c2s",
    "languages_s2c",
)


class ProbeError(PeerError):
    """The server did not send a usable identification line or KEXINIT in time."""


class _Stream:
    """Deadline-bounded reads from a socket, with bytes left over from the version exchange."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = bytearray()

    def recv_some(self) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeError("timed out waiting for the server")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(_RECV_CHUNK)
        except TimeoutError as exc:
            raise ProbeError("timed out waiting for the server") from exc
        except OSError as exc:
            raise ProbeError(f"connection failed while reading: {exc}") from exc
        if not data:
            raise ProbeError("server closed the connection")
        return data

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += self.recv_some()
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ProbeError(f"cannot connect to {host}:{port}: {exc}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_identification(stream: _Stream) -> str:
    reader = VersionReader(allow_pre_banner=True)
    try:
        while reader.result is None:
            stream.buffer += reader.feed(stream.recv_some())
    except RemoteProtocolError as exc:
        raise ProbeError(f"bad identification from server: {exc}") from exc
    return reader.result.line


def read_server_identification(host: str, port: int, timeout: float) -> str:
    """Connect, send our identification, return the server's identification line (no CR LF)."""
    deadline = time.monotonic() + timeout
    with _connect(host, port, timeout) as sock:
        sock.sendall(PROBE_IDENTIFICATION)
        return _read_identification(_Stream(sock, deadline))


def decode_kexinit(payload: bytes) -> dict[str, tuple[str, ...]]:
    """Decode an SSH_MSG_KEXINIT payload (RFC 4253 7.1) strictly; raises ProbeError otherwise."""
    try:
        reader = Reader(payload)
        msg_id = reader.byte()
        if msg_id != SSH_MSG_KEXINIT:
            raise ProbeError(f"first packet is message {msg_id}, not KEXINIT ({SSH_MSG_KEXINIT})")
        reader.raw(16, "cookie")
        lists = {name: reader.name_list() for name in KEXINIT_FIELDS}
        reader.boolean()  # first_kex_packet_follows
        reader.uint32()  # reserved
        reader.check_end()
    except RemoteProtocolError as exc:
        raise ProbeError(f"malformed KEXINIT from server: {exc}") from exc
    return lists


def read_server_kexinit(host: str, port: int, timeout: float) -> dict[str, tuple[str, ...]]:
    """The server's offered algorithms: KEXINIT name-lists by field, plus ``banner`` (1-tuple).

    Reads exactly one unencrypted binary packet after the identification line; the connection is
    then closed without answering (servers log that as a pre-auth disconnect, which is harmless).
    """
    deadline = time.monotonic() + timeout
    with _connect(host, port, timeout) as sock:
        return read_first_kexinit(sock, deadline)


def read_first_kexinit(sock: socket.socket, deadline: float) -> dict[str, tuple[str, ...]]:
    """Send our identification on a connected socket, then read the peer's line and first KEXINIT.

    Works for either role: a client under test also sends its KEXINIT unasked, so the same probe
    tells what a client offers (harness.peers.custom)."""
    sock.sendall(PROBE_IDENTIFICATION)
    stream = _Stream(sock, deadline)
    banner = _read_identification(stream)
    packet_length = struct.unpack(">I", stream.read_exact(4))[0]
    if not 2 <= packet_length <= MAX_PROBE_PACKET:
        raise ProbeError(f"implausible first packet_length {packet_length} (limit {MAX_PROBE_PACKET})")
    body = stream.read_exact(packet_length)
    padding_length = body[0]
    if padding_length + 1 > packet_length:
        raise ProbeError(f"padding_length {padding_length} exceeds packet_length {packet_length}")
    result = decode_kexinit(body[1 : packet_length - padding_length])
    result["banner"] = (banner,)
    return result
