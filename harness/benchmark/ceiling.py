"""The ceiling: what `cryptography` alone costs per MB for each cipher at the SSH packet size, and
what our packet layer (framing + sealer/opener, no sockets, no threads) costs on top of it.

A client can never be cheaper than the raw rate of its cipher; the gap between the raw rate and
the packet layer is framing overhead, and the gap between the packet layer and the end-to-end
client CPU is the driver, channel and facade.
"""

from __future__ import annotations

import os
import time

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

from harness.benchmark.clients import CIPHERS, Algorithms

PACKET = 32768  # the channel max packet every client and server uses here
TOTAL = 64 * 1024 * 1024  # bytes per measurement


def _raw(algs: Algorithms, decrypt: bool) -> float:
    """Seconds of CPU per packet for the primitive(s) alone, over TOTAL bytes."""
    data = os.urandom(PACKET + 16)
    n = TOTAL // len(data)
    if algs.cipher.startswith("aes128-gcm"):
        gcm = AESGCM(os.urandom(16))
        nonce, aad = os.urandom(12), b"\0\0\0\0"
        blob = gcm.encrypt(nonce, data, aad)
        t0 = time.process_time()
        for _ in range(n):
            if decrypt:
                gcm.decrypt(nonce, blob, aad)
            else:
                gcm.encrypt(nonce, data, aad)
        return time.process_time() - t0
    if algs.cipher.startswith("chacha20"):
        key, key2 = os.urandom(32), os.urandom(32)
        t0 = time.process_time()
        for i in range(n):
            nonce = i.to_bytes(16, "little")
            poly_key = Cipher(algorithms.ChaCha20(key, nonce), None).encryptor().update(bytes(32))
            Cipher(algorithms.ChaCha20(key2, nonce), None).encryptor().update(data[:4])
            enc = Cipher(algorithms.ChaCha20(key, (1).to_bytes(4, "little") + nonce[4:]), None).encryptor()
            out = enc.update(data)
            Poly1305.generate_tag(poly_key, out)
        return time.process_time() - t0
    ctx = Cipher(algorithms.AES(os.urandom(16)), modes.CTR(os.urandom(16))).encryptor()
    mac = hmac.HMAC(os.urandom(32), hashes.SHA256())
    t0 = time.process_time()
    for i in range(n):
        out = ctx.update(data)
        h = mac.copy()
        h.update(i.to_bytes(4, "big"))
        h.update(out if algs.mac and "etm" in algs.mac else data)
        h.finalize()
    return time.process_time() - t0


def _framed(algs: Algorithms, decrypt: bool) -> float:
    """CPU seconds for our PacketWriter/PacketReader over TOTAL bytes of 32 KiB channel payloads."""
    from harness.ssh.crypto.protection import CIPHERS as CIPHER_SPECS
    from harness.ssh.crypto.protection import MACS, make_opener, make_sealer
    from harness.ssh.packet.framing import PacketReader, PacketWriter

    cspec = CIPHER_SPECS[algs.cipher]
    mspec = MACS[algs.mac] if algs.mac else None
    key, iv = os.urandom(cspec.key_size), os.urandom(cspec.iv_size)
    mkey = os.urandom(mspec.key_size) if mspec else b""
    writer = PacketWriter(make_sealer(cspec, mspec, key, iv, mkey), os.urandom)
    reader = PacketReader(make_opener(cspec, mspec, key, iv, mkey))
    payload = bytes(PACKET + 9)
    n = TOTAL // PACKET
    if not decrypt:
        t0 = time.process_time()
        for _ in range(n):
            writer.frame(payload)
        return time.process_time() - t0
    wires = [writer.frame(payload) for _ in range(n)]
    t0 = time.process_time()
    for wire in wires:
        reader.feed(wire)
        reader.next_payload()
    return time.process_time() - t0


def measure() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    mb = TOTAL / 1e6
    for algs in CIPHERS:
        row: dict[str, object] = {"cipher": algs.label, "packet": PACKET}
        for decrypt, what in ((False, "seal"), (True, "open")):
            raw = _raw(algs, decrypt)
            row[f"raw_{what}_ms_per_mb"] = round(1000 * raw / mb, 3)
            row[f"raw_{what}_mb_s"] = round(mb / raw) if raw else None
            try:
                framed = _framed(algs, decrypt)
                row[f"framed_{what}_ms_per_mb"] = round(1000 * framed / mb, 3)
            except Exception as exc:  # the packet layer's API moved: report, never fail the run
                row[f"framed_{what}_error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows
