"""Fuzz target: the wire codec (harness.ssh.wire).

Input: one selector byte, then a message payload (message number first).

- selector < 0xF0: ``decode_message(payload, kex_context, auth_context)`` with the contexts
  picked by the selector from ``KEX_TABLES`` / ``AUTH_TABLES`` (and "none"), so every message
  type of every handler table is reachable, including each discriminated subtype
  (USERAUTH_REQUEST methods, CHANNEL_OPEN types, CHANNEL_REQUEST and GLOBAL_REQUEST names).
- selector >= 0xF0: the primitive readers on the bytes as they are (name-list, mpint, string
  sequences), with the same round-trip rule.

Oracle: the only exception is ``DecodeError``; a payload that decodes re-encodes to exactly
the same bytes, except that a boolean byte other than 0/1 re-encodes as 1 (RFC 4251: any
non-zero value is TRUE, senders must use 1), in which case it decodes again to an equal
message; and it has a ``repr`` (transcripts print every message; checked on the inputs that
end in a zero byte, a cheap deterministic sample, because repr costs a third of a run).

Speed: the encoder runs uninstrumented (``common.uninstrument``): its coverage does not guide
the search and instrumented it costs as much as the decoder.
"""

from __future__ import annotations

import re
import sys

from harness.fuzz.common import OracleViolation, codec_encoder_functions, instrumented, uninstrument

with instrumented():
    from harness.ssh.errors import DecodeError
    from harness.ssh.wire import codec
    from harness.ssh.wire import messages as m


uninstrument(*codec_encoder_functions())

KEX_CONTEXTS: tuple[str | None, ...] = (None, *sorted(m.KEX_TABLES))
AUTH_CONTEXTS: tuple[str | None, ...] = (None, *sorted(m.AUTH_TABLES))
PRIMITIVES = 0xF0
# Fields one primitives input reads at most. Each field is one more pass through the same
# bounds checks; without a limit the mutator grew inputs toward 4 KiB of 5-byte fields, each
# ~800 reads (a Python loop per field), and those inputs took most of a campaign's time.
MAX_FIELDS = 32
_NONZERO = re.compile(rb"[^\x00]")


def contexts(selector: int) -> tuple[str | None, str | None]:
    """The (kex, auth) decode contexts a selector byte stands for."""
    return (
        KEX_CONTEXTS[selector % len(KEX_CONTEXTS)],
        AUTH_CONTEXTS[(selector // len(KEX_CONTEXTS)) % len(AUTH_CONTEXTS)],
    )


def selector_for(kex_context: str | None, auth_context: str | None) -> int:
    """Inverse of :func:`contexts` (for seeds)."""
    return KEX_CONTEXTS.index(kex_context) + len(KEX_CONTEXTS) * AUTH_CONTEXTS.index(auth_context)


def _same_but_booleans(original: bytes, encoded: bytes) -> bool:
    """True if the only differences are boolean bytes > 1 that re-encoded as 1.

    The differing positions are found in C (XOR of the two as integers, then a regex scan for
    non-zero bytes), so only they are looked at in Python, not every byte of a 4 KiB payload.
    """
    if len(original) != len(encoded):
        return False
    size = len(original)
    diff = (int.from_bytes(original, "big") ^ int.from_bytes(encoded, "big")).to_bytes(size, "big")
    return all(encoded[i] == 1 and original[i] > 1 for i in (hit.start() for hit in _NONZERO.finditer(diff)))


def _check_message(payload: bytes, kex_context: str | None, auth_context: str | None) -> None:
    try:
        msg = m.decode_message(payload, kex_context, auth_context)
    except DecodeError:
        return
    encoded = msg.encode()
    if encoded == payload:
        # Byte-identical: decoding it again is the same call on the same bytes, nothing to check.
        if payload[-1:] == b"\x00":  # a cheap, input-determined sample: repr costs a third of a run
            repr(msg)
        return
    if not _same_but_booleans(payload, encoded):
        raise OracleViolation(
            f"{msg.NAME} re-encodes differently (contexts {kex_context}/{auth_context}):\n"
            f"  in:  {payload.hex()}\n  out: {encoded.hex()}"
        )
    again = m.decode_message(encoded, kex_context, auth_context)
    if again != msg:
        raise OracleViolation(f"{msg.NAME} decodes differently after re-encoding: {msg!r} != {again!r}")
    repr(msg)


def _check_primitives(data: bytes) -> None:
    try:
        names = codec.decode_name_list(data)
    except DecodeError:
        pass
    else:
        if codec.encode_name_list(names) != data:
            raise OracleViolation(f"name-list {data!r} does not round-trip: {names!r}")
    try:
        value = codec.decode_mpint(data)
    except DecodeError:
        pass
    else:
        if codec.encode_mpint(value) != data:
            raise OracleViolation(f"mpint {data.hex()} does not round-trip: {value}")
    # A run of strings, utf8, names and mpints as a Reader consumes them, each kind chosen by
    # the next byte: exercises the bounds checks between fields and check_end (at most
    # MAX_FIELDS fields; the round trip covers what was read).
    r = codec.Reader(data)
    w = codec.Writer()
    fields = 0
    try:
        while r.remaining() and fields < MAX_FIELDS:
            fields += 1
            tag = r.byte()
            w.byte(tag)
            kind = tag & 3
            if kind == 0:
                w.string(r.string())
            elif kind == 1:
                w.mpint(r.mpint())
            elif kind == 2:
                w.name_list(r.name_list())
            else:
                w.text(r.utf8())
        if fields < MAX_FIELDS:
            r.check_end()
    except DecodeError:
        return
    if w.getvalue() != data[: r.position]:
        raise OracleViolation(f"field sequence {data.hex()} does not round-trip")


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    selector = data[0]
    if selector >= PRIMITIVES:
        _check_primitives(data[1:])
        return
    kex_context, auth_context = contexts(selector)
    _check_message(data[1:], kex_context, auth_context)


def main() -> None:
    from harness.fuzz.common import run

    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
