"""Group-exchange moduli (OpenSSH's /etc/ssh/moduli format) for the server side of RFC 4419.

Format, one group per line: ``time type tests tries size generator modulus`` with the size in
bits minus one and the modulus in hex. Without a file the fixed RFC 3526 groups serve, as
OpenSSH does when its moduli file is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.ssh.errors import KexError
from harness.ssh.kex import groups

# Where OpenSSH installs the file on the systems we run on.
DEFAULT_MODULI_PATHS = ("/etc/ssh/moduli", "/usr/local/etc/moduli", "/etc/moduli")
# Safe-prime tests flag (type 2 = safe prime) and the tests performed (Miller-Rabin bit 0x04).
_TYPE_SAFE = 2


@dataclass
class Moduli:
    groups_by_bits: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "moduli") -> Moduli:
        out = cls()
        for lineno, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 7:
                raise ValueError(f"{source}:{lineno}: expected 7 fields, got {len(parts)}")
            try:
                kind, size, generator, modulus = int(parts[1]), int(parts[4]), int(parts[5]), int(parts[6], 16)
            except ValueError as exc:
                raise ValueError(f"{source}:{lineno}: {exc}") from None
            if kind != _TYPE_SAFE or modulus.bit_length() != size + 1:
                continue
            out.groups_by_bits.setdefault(size + 1, []).append((modulus, generator))
        return out

    @classmethod
    def load(cls, path: str) -> Moduli:
        with open(path, encoding="ascii") as fh:
            return cls.parse(fh, path)

    @classmethod
    def fixed(cls) -> Moduli:
        """The RFC 3526 groups only (the fallback)."""
        out = cls()
        for g in (groups.GROUP14, groups.GROUP16, groups.GROUP18):
            out.groups_by_bits[g.bits] = [(g.prime, g.generator)]
        return out

    def __len__(self) -> int:
        return sum(len(v) for v in self.groups_by_bits.values())

    def choose(self, lo: int, n: int, hi: int, randbytes: Callable[[int], bytes]) -> tuple[int, int]:
        """A group of the size closest to ``n`` within [lo, hi] (OpenSSH's rule), at random among equals."""
        sizes = [b for b in self.groups_by_bits if lo <= b <= hi]
        if not sizes:
            fallback = Moduli.fixed()
            sizes = [b for b in fallback.groups_by_bits if lo <= b <= hi]
            if not sizes:
                raise KexError(f"no group-exchange group between {lo} and {hi} bits")
            return fallback.choose(lo, n, hi, randbytes)
        best = min(sizes, key=lambda b: (b < n, abs(b - n)))
        candidates = self.groups_by_bits[best]
        return candidates[randbytes(1)[0] % len(candidates)]
