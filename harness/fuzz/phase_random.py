"""Randomness for a fuzzed connection that a snapshot restores for free (see PhaseRandom)."""

from __future__ import annotations

import hashlib
import random


class PhaseRandom:
    """A fuzzed connection's randomness: ``random.Random(seed).randbytes``, byte for byte, with
    state a snapshot restores for free after :meth:`freeze`.

    Why exact: a phase stops where the recording goes on, and the seeds carry the recorded
    peer's next packets; in phases that draw randomness after that point (our ECDH key in the
    version and kexinit phases, the group-exchange exponent) any other stream changes the
    exchange hash, the recorded host-key signature no longer verifies, and no seed gets past
    the key exchange. Why not ``random.Random`` itself: restoring its Mersenne Twister state
    (``setstate``, 625 words) costs ~2.5 us per input, a third of a snapshot restore.

    :meth:`freeze` draws :data:`AHEAD` 32-bit words from the generator once; from then on
    ``randbytes(n)`` is rebuilt from those words exactly as CPython's does (``getrandbits(8n)``:
    whole words, least significant first, the last one shifted right to the bits it needs,
    little-endian), and the only state is a position, an int in ``__dict__``. Past the drawn
    words (no input needs 64 KiB of randomness) it continues with a deterministic hash stream.
    """

    AHEAD = 16384  # words

    def __init__(self, seed: int) -> None:
        self._rng: random.Random | None = random.Random(seed)
        self._words = b""  # AHEAD words, little-endian, once frozen
        self._pos = 0

    def freeze(self) -> None:
        rng = self._rng
        assert rng is not None, "frozen twice"
        self._words = b"".join(rng.getrandbits(32).to_bytes(4, "little") for _ in range(self.AHEAD))
        self._rng = None

    def randbytes(self, n: int) -> bytes:
        if self._rng is not None:
            return self._rng.randbytes(n)
        whole, part = divmod(n, 4)
        pos = self._pos
        end = pos + 4 * (whole + (part > 0))
        self._pos = end
        if end > len(self._words):
            return self._beyond(n, pos)
        out = self._words[pos : pos + 4 * whole]
        if part:
            word = int.from_bytes(self._words[end - 4 : end], "little")
            out += (word >> (32 - 8 * part)).to_bytes(part, "little")
        return out

    def _beyond(self, n: int, pos: int) -> bytes:
        block = pos.to_bytes(8, "big")
        return b"".join(hashlib.blake2b(block + i.to_bytes(4, "big")).digest() for i in range(-(-n // 64)))[:n]
