"""A pcapng writer for one TCP connection, synthesised from the bytes we sent and received.

Why our own: capturing on loopback needs root and tcpdump; the harness already sees every byte
of a connection it drives, so it writes the capture itself. Each connection becomes an
Ethernet/IPv4/TCP conversation with a three-way handshake, data segments whose sequence and
acknowledgement numbers follow the bytes each side has sent, and a FIN exchange at the end.
Wireshark and tshark read it like a real capture (and decrypt it with the key log, keylog.py).

The format (pcapng, draft-ietf-opsawg-pcapng): a Section Header Block, one Interface
Description Block (link type 1, Ethernet), then one Enhanced Packet Block per segment, all
little-endian, each block padded to 32 bits and framed by its total length.
"""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from typing import BinaryIO

LINKTYPE_ETHERNET = 1
SEGMENT_BYTES = 32768  # payload per synthetic segment: big enough to keep files small, < IPv4's 65535
CLIENT_MAC, SERVER_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")  # locally administered
CLIENT_ISN, SERVER_ISN = 1_000_000, 2_000_000  # initial sequence numbers (any value; fixed for readability)
SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def _block(block_type: int, body: bytes) -> bytes:
    pad = b"\x00" * (-len(body) % 4)
    total = 12 + len(body) + len(pad)
    return struct.pack("<II", block_type, total) + body + pad + struct.pack("<I", total)


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of 16-bit big-endian words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(address: str) -> bytes:
    """The four bytes of an IPv4 address; IPv6 loopback is shown as 127.0.0.1 (IPv4 frames only)."""
    parts = address.split(".")
    if len(parts) == 4 and all(part.isdigit() and int(part) < 256 for part in parts):
        return bytes(int(part) for part in parts)
    return bytes([127, 0, 0, 1])


class TcpPcapWriter:
    """One TCP conversation (client -> server) written to a pcapng file as it happens.

    ``data(from_client, payload)`` records bytes one side sent; ``close()`` writes the FINs.
    Thread-safe: the driver's reader and writer threads record concurrently.
    """

    def __init__(self, path: Path, client: tuple[str, int], server: tuple[str, int]) -> None:
        self.path = path
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (closed by close())
        self._lock = threading.Lock()
        self._addr = {True: (_ipv4(client[0]), int(client[1])), False: (_ipv4(server[0]), int(server[1]))}
        self._seq = {True: CLIENT_ISN, False: SERVER_ISN}  # next sequence number of each side
        self._ip_id = 0
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)  # byte-order magic, version 1.0, unknown length
        idb = struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 0)  # link type, reserved, no snap length
        self._file.write(_block(0x0A0D0D0A, shb) + _block(1, idb))
        self._segment(True, SYN, b"")
        self._seq[True] += 1
        self._segment(False, SYN | ACK, b"")
        self._seq[False] += 1
        self._segment(True, ACK, b"")

    def _segment(self, from_client: bool, flags: int, payload: bytes) -> None:
        src_ip, src_port = self._addr[from_client]
        dst_ip, dst_port = self._addr[not from_client]
        ack = self._seq[not from_client] if flags & ACK else 0
        tcp = struct.pack("!HHIIBBHHH", src_port, dst_port, self._seq[from_client] & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)  # fmt: skip
        pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        checksum = internet_checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", checksum) + tcp[18:]
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self._ip_id, 0x4000, 64, 6, 0,
                         src_ip, dst_ip)  # fmt: skip
        ip = ip[:10] + struct.pack("!H", internet_checksum(ip)) + ip[12:]
        macs = (SERVER_MAC + CLIENT_MAC) if from_client else (CLIENT_MAC + SERVER_MAC)  # destination first
        frame = macs + b"\x08\x00" + ip + tcp + payload
        micros = time.time_ns() // 1000
        epb = struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(frame), len(frame)) + frame
        assert self._file is not None
        self._file.write(_block(6, epb))

    def data(self, from_client: bool, payload: bytes) -> None:
        """Record ``payload`` sent by the client (True) or the server (False)."""
        with self._lock:
            if self._file is None or not payload:
                return
            view = memoryview(payload)
            for start in range(0, len(payload), SEGMENT_BYTES):
                chunk = bytes(view[start : start + SEGMENT_BYTES])
                self._segment(from_client, PSH | ACK, chunk)
                self._seq[from_client] += len(chunk)
            self._file.flush()  # readable while the connection lasts (a long `harness serve`)

    def close(self) -> None:
        """Write both FINs and the final ACK, and close the file (idempotent)."""
        with self._lock:
            if self._file is None:
                return
            self._segment(True, FIN | ACK, b"")
            self._seq[True] += 1
            self._segment(False, FIN | ACK, b"")
            self._seq[False] += 1
            self._segment(True, ACK, b"")
            self._file.close()
            self._file = None
