"""Shared pieces of the fuzz targets: instrumentation, input framing, the atheris entry point.

Why plain Python: a target's ``fuzz_one_input`` is also what the test suite replays, so it
must not need atheris. Only :func:`run` (a campaign) and :func:`instrumented` (when the
program is a fuzzer) touch atheris, and both import it lazily. Nothing here imports
``harness.ssh``: the target modules do that inside :func:`instrumented`.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

# Set by the campaign launcher: the executable libFuzzer re-runs for -fork/-jobs/-minimize.
ARGV0_ENV = "HARNESS_FUZZ_ARGV0"
# Force instrumentation on (1) or off (0) regardless of how the program was started.
INSTRUMENT_ENV = "HARNESS_FUZZ_INSTRUMENT"
# Our own modules are excluded: coverage of the harness around the code under test is noise.
_OWN_MODULES = (
    "harness.fuzz",
    "harness.fuzz.common",
    "harness.fuzz.snapshot",
    "harness.fuzz.fake_peer",
    "harness.fuzz.fuzz_codec",
    "harness.fuzz.fuzz_packet",
    "harness.fuzz.fuzz_connection",
    "harness.fuzz.fuzz_connection_dh",
    "harness.fuzz.fuzz_keys",
    "harness.fuzz.seeds",
    "harness.fuzz.campaign",
    "harness.fuzz.minimize",
    "harness.fuzz.recorded",
    "harness.fuzz.phase_random",
    "harness.transcript",
)

_U16 = struct.Struct(">H")


class OracleViolation(Exception):
    """The code under test broke a promise without raising (wrong bytes out, wrong state, ...)."""


def _fuzzer_program() -> bool:
    forced = os.environ.get(INSTRUMENT_ENV)
    if forced is not None:
        return forced == "1"
    main = sys.modules.get("__main__")
    names = (getattr(main, "__file__", None) or "", sys.argv[0] if sys.argv else "")
    return any(os.path.basename(name).startswith("fuzz_") for name in names)


def instrumented(*extra_packages: str) -> contextlib.AbstractContextManager[Any]:
    """``atheris.instrument_imports()`` for harness (and ``extra_packages``) when fuzzing, else a no-op.

    A target wraps its ``harness.ssh`` imports in this block. Under pytest or ``--replay`` the
    modules load uninstrumented, so replays are fast and need no atheris.
    """
    if not _fuzzer_program():
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["harness", *extra_packages], exclude=list(_OWN_MODULES))


def run(fuzz_one_input: Callable[[bytes], None], argv: list[str] | None = None) -> None:
    """libFuzzer main loop (through atheris) over ``fuzz_one_input``; never returns."""
    import atheris

    args = list(sys.argv if argv is None else argv)
    # libFuzzer re-executes argv[0] for -fork, -jobs and -minimize_crash; a .py file is not
    # executable, so the campaign passes a wrapper script (see campaign.py).
    args[0] = os.environ.get(ARGV0_ENV, args[0])
    atheris.Setup(args, fuzz_one_input)
    atheris.Fuzz()


def corpus_inputs() -> list[bytes]:
    """The inputs in the corpus directories on the command line (libFuzzer's positional
    arguments), for targets that learn from their seeds before the campaign starts."""
    from pathlib import Path

    inputs: list[bytes] = []
    for arg in sys.argv[1:]:
        path = Path(arg)
        if not arg.startswith("-") and path.is_dir():
            inputs.extend(p.read_bytes() for p in sorted(path.iterdir()) if p.is_file())
    return inputs


# -- input framing ---------------------------------------------------------------------------------


def split_records(data: bytes, limit: int | None = None) -> list[bytes]:
    """A list of byte strings, each a 2-byte big-endian length and that many bytes.

    A final record whose length runs past the end takes what is left, so every input means
    something and truncation by the mutator does not waste the tail. With ``limit``, at most
    that many records (the rest of the input is ignored).
    """
    out: list[bytes] = []
    pos, end = 0, len(data)
    if limit is None:
        limit = end
    while pos + 2 <= end and len(out) < limit:
        n = _U16.unpack_from(data, pos)[0]
        pos += 2
        out.append(data[pos : pos + n])
        pos += n
    return out


def join_records(records: list[bytes]) -> bytes:
    """Inverse of :func:`split_records` (for seeds); each record must be below 64 KiB."""
    return b"".join(_U16.pack(len(r)) + r for r in records)


# Feeding modes: the same bytes delivered whole, one byte at a time, or in chunks whose sizes
# cycle through four fuzzer-chosen values (1..256 each).
FEED_WHOLE, FEED_BYTES, FEED_CHUNKS = 0, 1, 2
# Byte-by-byte feeding covers this many bytes, then the rest comes in one piece: every split
# point of a usual identification line and of the first packet's length, padding and first
# cipher blocks is tried, while a long packet body (where each extra byte only appends to a
# buffer) does not cost thousands of calls per input. Split points further on are the chunked
# mode's job (chunk sizes from 1 byte, chosen by the fuzzer). 64, not 128: halves the feeding
# cost of the packet and connection targets, the largest part of both.
BYTEWISE_LIMIT = 64
# Past that point chunks are at least this long (split points still fall anywhere).
MIN_LATE_CHUNK = 64


def chunked(data: bytes, mode: int, sizes: bytes = b"", bytewise: int = BYTEWISE_LIMIT) -> Iterator[bytes]:
    """``data`` as the feeding ``mode`` delivers it; ``bytewise``: how far FEED_BYTES goes one
    byte at a time (and where chunks start being at least MIN_LATE_CHUNK long)."""
    if mode == FEED_WHOLE or not data:
        yield data
        return
    if mode == FEED_BYTES:
        for i in range(min(len(data), bytewise)):
            yield data[i : i + 1]
        if len(data) > bytewise:
            yield data[bytewise:]
        return
    cycle = [1 + b for b in sizes[:4]] or [7]
    pos, i = 0, 0
    while pos < len(data):
        n = cycle[i % len(cycle)]
        if pos >= bytewise and n < MIN_LATE_CHUNK:
            n = MIN_LATE_CHUNK  # tiny chunks all the way through cost like byte-by-byte feeding
        yield data[pos : pos + n]
        pos += n
        i += 1


# -- keeping the oracle's own work out of the instrumentation ------------------------------------------


def _find_code(code: types.CodeType, qualname: str) -> types.CodeType | None:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_qualname == qualname:
                return const
            found = _find_code(const, qualname)
            if found is not None:
                return found
    return None


def uninstrument(*functions: Callable[..., Any]) -> None:
    """Give ``functions`` back their plain (uninstrumented) bytecode; a no-op when not fuzzing.

    Why: an oracle that re-encodes what was decoded runs the encoder on every input, and the
    encoder's coverage does not guide the search (its path is fixed by what decoding produced),
    yet instrumented it costs as much as the decoder. The plain code objects come from
    compiling the module's source again, so behaviour is identical; only the coverage
    callbacks are gone.
    """
    if not _fuzzer_program():
        return
    import inspect

    compiled: dict[str, types.CodeType] = {}
    for fn in functions:
        fn = inspect.unwrap(fn)
        filename = fn.__code__.co_filename
        if filename not in compiled:
            # A PyInstaller bundle (OSS-Fuzz) names modules relative to its directory, where
            # .clusterfuzzlite/build.sh puts the sources; elsewhere _MEIPASS is unset.
            with open(os.path.join(getattr(sys, "_MEIPASS", ""), filename), encoding="utf-8") as fh:
                compiled[filename] = compile(fh.read(), filename, "exec", dont_inherit=True)
        plain = _find_code(compiled[filename], fn.__code__.co_qualname)
        if plain is None or plain.co_freevars != fn.__code__.co_freevars:
            raise ValueError(f"no plain code for {fn.__qualname__} in {filename}")
        fn.__code__ = plain


def codec_encoder_functions() -> list[types.FunctionType]:
    """The encode side of the wire codec (and repr/equality): oracle work in every target.

    A target's oracle re-encodes what was decoded, and the connection encodes every reply it
    sends; which messages go out is decided by the (instrumented) handlers, so the encoder's
    own coverage adds nothing the fuzzer can steer by. Imported lazily: call this after the
    target's instrumented imports.
    """
    from harness.ssh.wire import codec, fields, message

    fns = [message.Message.encode, message.Message.values, message.UnknownMessage.encode,
           message.UnknownMessage.values, codec.encode_mpint, codec.encode_name_list,
           message.Message.__repr__, message.UnknownMessage.__repr__, message._show,
           message.Message.__eq__, message.Message.__init__]  # fmt: skip
    fns += [f for f in vars(codec.Writer).values() if isinstance(f, types.FunctionType)]
    for kind in vars(fields).values():
        if isinstance(kind, type) and issubclass(kind, fields.Kind) and "write" in vars(kind):
            fns.append(vars(kind)["write"])
    return fns


def instrument_module(module: types.ModuleType) -> None:
    """Instrument the functions and methods defined in an already imported module (when fuzzing).

    ``instrument_imports`` works per top-level package; this reaches one module of a library
    (cryptography's OpenSSH key parser, which is Python) without instrumenting all of it.
    """
    if not _fuzzer_program():
        return
    import atheris

    def owned(obj: object) -> bool:
        return getattr(obj, "__module__", None) == module.__name__

    for obj in list(vars(module).values()):
        if isinstance(obj, types.FunctionType) and owned(obj):
            atheris.instrument_func(obj)
        elif isinstance(obj, type) and owned(obj):
            for attr in vars(obj).values():
                fn = attr.__func__ if isinstance(attr, staticmethod | classmethod) else attr
                if isinstance(fn, types.FunctionType):
                    atheris.instrument_func(fn)
