"""Hypothesis strategies for the fuzz targets: structured messages and mutated seeds.

``mutated(seeds)`` is mitmproxy's ``chunks(mutations(valid_input))`` idea: start from a real
input and apply a few byte-level edits (flip, insert, delete, duplicate, truncate, splice a
dictionary word), so bounded runs stay near inputs that get deep into the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from harness.ssh.wire import fields as f
from harness.ssh.wire import messages as m

CORPUS = Path(__file__).resolve().parents[2] / "corpus"

_WORDS = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x00\x00\x10", b"ssh-ed25519", b"curve25519-sha256",
          b"session", b"exec", b",", b"\r\n", b"SSH-2.0-"]  # fmt: skip


def seed_files(target: str) -> list[bytes]:
    folder = CORPUS / target
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 5))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 2:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == 3:
            end = draw(st.integers(pos, len(data)))
            data[pos:pos] = data[pos:end]
        elif op == 4:
            del data[pos:]
        else:
            data[pos:pos] = draw(st.sampled_from(_WORDS))
    return bytes(data)


def _value(kind: f.Kind) -> st.SearchStrategy[Any]:
    if kind in (f.BOOL,):
        return st.booleans()
    if kind is f.BYTE:
        return st.integers(0, 255)
    if kind is f.U32:
        return st.sampled_from([0, 1, 16, 32768, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)
    if kind is f.U64:
        return st.integers(0, 2**64 - 1)
    if kind in (f.STRING, f.REST):
        return st.binary(max_size=40)
    if kind is f.TEXT:
        return st.text(max_size=20)
    if kind is f.NAMES:
        name = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","),
                       min_size=1, max_size=20)  # fmt: skip
        return st.lists(name, max_size=4).map(tuple)
    if kind is f.MPINT:
        return st.integers(-(2**200), 2**200)
    if isinstance(kind, f.Raw):
        return st.binary(min_size=kind.size, max_size=kind.size)
    if isinstance(kind, f.If):
        return _value(kind.inner)
    if isinstance(kind, f.Counted):
        if len(kind.record) == 1:
            return st.lists(_value(kind.record[0][1]), max_size=3).map(tuple)
        return st.lists(st.tuples(*(_value(k) for _, k in kind.record)), max_size=3).map(tuple)
    raise AssertionError(f"no strategy for {kind!r}")


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, str | None, str | None]:
    """(payload, kex context, auth context) of a well-formed message of any type in any table."""
    cls, kctx, actx = draw(st.sampled_from(m.every_message_class()))
    values = {}
    for name, kind in cls.FIELDS:
        if kind is f.DISCRIMINATOR:
            continue
        values[name] = draw(_value(kind))
    for name, kind in cls.FIELDS:
        if isinstance(kind, f.If) and not values.get(kind.flag):
            values[name] = None
    msg = cls(**values)
    if cls.DISCRIMINATED_BY and cls.SUBTYPE is None:
        setattr(msg, cls.DISCRIMINATED_BY, draw(st.sampled_from(["x@example.com", "session", "none"])))
    return msg.encode(), kctx, actx
