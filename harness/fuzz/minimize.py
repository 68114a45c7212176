"""Reproduce a finding in-process, name it by a signature, and shrink its input.

Why in Python rather than libFuzzer's ``-minimize_crash``: a finding here is a Python
exception (or an oracle violation) at a source location, so "the same bug" is simply "the
same exception type raised from the same place in the harness", which a few hundred plain
calls of ``fuzz_one_input`` can preserve while delta debugging drops bytes. It needs no
atheris, runs in the test environment, and gives the same result every time.
"""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.fuzz import TARGETS

_HARNESS = str(Path(__file__).resolve().parents[1])
_FUZZ = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Finding:
    """What one input does to a target: the exception, where it came from, the traceback."""

    exception: str  # "LocalProtocolError: too many channels (limit 1024)"
    kind: str  # exception type name
    location: str  # innermost harness frame: "harness/ssh/channels/table.py:61 in _allocate_id"
    traceback: str

    @property
    def signature(self) -> tuple[str, str]:
        return (self.kind, self.location)


def target_function(target: str) -> Callable[[bytes], None]:
    module = importlib.import_module(TARGETS[target].module)
    return module.fuzz_one_input  # type: ignore[no-any-return]


def _location(exc: BaseException) -> str:
    """The innermost frame in the code under test (not in the fuzz harness, not in libraries).

    An oracle violation is raised by the target itself, so its location is the target's line.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if f.filename.startswith(_HARNESS) and not f.filename.startswith(_FUZZ)]
    if type(exc).__name__ == "OracleViolation" or not inside:
        inside = [f for f in frames if f.filename.startswith(_HARNESS)] or frames
    frame = inside[-1]
    rel = frame.filename[len(_HARNESS) - len("harness") :] if frame.filename.startswith(_HARNESS) else frame.filename
    return f"{rel}:{frame.lineno} in {frame.name}"


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+) in (\S+)', re.MULTILINE)


def hang_location(stack_dump: str) -> str:
    """Where a hanging input was stuck, from a faulthandler dump (most recent call first): the
    innermost frame in the code under test, as :func:`_location` names it; "-" if none.

    Why: a timeout has no exception to sign, and without a location every hang of a target had
    the same signature, so the campaign filed the second, different hang as already known.
    """
    frames = _FRAME.findall(stack_dump)
    for filename, lineno, name in frames:
        if filename.startswith(_HARNESS) and not filename.startswith(_FUZZ):
            return f"{filename[len(_HARNESS) - len('harness') :]}:{lineno} in {name}"
    return "-"


def reproduce(fn: Callable[[bytes], None], data: bytes) -> Finding | None:
    """Run one input; None if it passes, else what it raised."""
    try:
        fn(data)
    except Exception as exc:  # every escaping exception is a finding
        text = "".join(traceback.format_exception(exc))
        return Finding(f"{type(exc).__name__}: {exc}"[:500], type(exc).__name__, _location(exc), text)
    return None


def minimize(fn: Callable[[bytes], None], data: bytes, budget: int = 3000) -> bytes:
    """Delta-debug ``data`` down while it still fails with the same signature."""
    first = reproduce(fn, data)
    if first is None:
        return data
    want = first.signature
    tries = 0

    def same(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        found = reproduce(fn, candidate)
        return found is not None and found.signature == want

    granularity = 2
    while len(data) >= 2 and tries < budget:
        size = max(1, len(data) // granularity)
        for start in range(0, len(data), size):
            candidate = data[:start] + data[start + size :]
            if same(candidate):
                data = candidate
                granularity = max(granularity - 1, 2)
                break
            if tries >= budget:
                break
        else:
            if size == 1:
                break
            granularity = min(len(data), granularity * 2)
    # Then make the surviving bytes boring where possible (zeros read best in a hex dump).
    buf = bytearray(data)
    for i in range(len(buf)):
        if tries >= budget or buf[i] == 0:
            continue
        old = buf[i]
        buf[i] = 0
        if not same(bytes(buf)):
            buf[i] = old
    return bytes(buf)
