"""SSH key logs in the format Wireshark's SSH dissector reads (``-o ssh.keylog_file:FILE``).

One line per key exchange and form, each keyed by a KEXINIT cookie (hex):

- ``<cookie> SHARED_SECRET <K>``: K as the unsigned big-endian value of its mpint (Wireshark
  4.2 and later; any method whose K is an mpint: curve25519, ECDH, DH groups and group exchange).
  Written with the client's cookie.
- ``<cookie> <private key>``: our ephemeral X25519 private value, written with our own cookie
  (the only form Wireshark 4.0, Debian bookworm's tshark, reads; it supports curve25519 only).
  Newer versions read it too, as ``PRIVATE_KEY``.

A reader that does not understand a line skips it, so both forms can share one file. The
hybrid KEM methods (sntrup761x25519, mlkem768x25519) have a string K that the dissector does
not handle; nothing is written for them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

MPINT_METHODS = ("curve25519", "ecdh-sha2-", "diffie-hellman-")  # name prefixes whose K is an mpint


def mpint_value(encoded: bytes) -> bytes:
    """The value bytes of K encoded for hashing (``uint32 length || mpint``), without sign padding."""
    if len(encoded) < 4 or int.from_bytes(encoded[:4], "big") != len(encoded) - 4:
        raise ValueError("not a length-prefixed mpint")
    value = encoded[4:]
    return value[1:] if value[:1] == b"\x00" and len(value) > 1 else value


def lines_for(secrets: Any) -> list[str]:
    """Key-log lines for one finished exchange (a harness.ssh.kex.engine.KexSecrets)."""
    lines = []
    if secrets.kex.startswith(MPINT_METHODS):
        lines.append(f"{secrets.client_cookie.hex()} SHARED_SECRET {mpint_value(secrets.shared_secret).hex()}")
    if secrets.ephemeral_private is not None and secrets.kex.startswith("curve25519"):
        ours = secrets.client_cookie if secrets.is_client else secrets.server_cookie
        lines.append(f"{ours.hex()} {secrets.ephemeral_private.hex()}")
    return lines


class KeyLog:
    """Appends key-log lines to a file (created 0600: it unlocks the capture)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.touch(mode=0o600, exist_ok=True)

    def observe(self, secrets: Any) -> None:
        """The Connection.kex_observer callback."""
        text = "".join(line + "\n" for line in lines_for(secrets))
        if text:
            with self._lock, open(self.path, "a") as fh:
                fh.write(text)
