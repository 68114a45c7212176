"""Every algorithm name we implement, by security-option category (for reports and tests)."""

from __future__ import annotations

from harness.ssh.crypto.compression import COMPRESSIONS
from harness.ssh.crypto.protection import CIPHERS, MACS
from harness.ssh.kex.methods import KEX_METHODS
from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

ALGORITHM_CATEGORIES: dict[str, tuple[str, ...]] = {
    "kex": tuple(KEX_METHODS),
    "key_types": tuple(SUPPORTED_HOST_KEY_ALGORITHMS),
    "ciphers": tuple(n for n in CIPHERS if n != "none"),
    "digests": tuple(n for n in MACS if n != "none"),
    "compression": tuple(COMPRESSIONS),
}
