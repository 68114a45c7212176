"""The connection target's phases: reachable, restorable, deterministic."""

from __future__ import annotations

import dataclasses
import random

import pytest

from harness.fuzz import fuzz_connection as fc
from harness.fuzz.snapshot import Snapshot
from harness.ssh.phases import Phase

from .strategies import seed_files


def test_snapshot_restores_in_place() -> None:
    class Box:
        def __init__(self) -> None:
            self.items = [1, 2]
            self.buf = bytearray(b"ab")
            self.rng = random.Random(3)
            self.child: dict[str, object] = {"k": [3]}

    box = Box()
    snap = Snapshot(box)
    first = box.rng.random()
    box.items.append(9)
    box.buf += b"zz"
    box.child["k"].append(4)  # type: ignore[attr-defined]
    box.child["new"] = 1
    box.extra = 5  # type: ignore[attr-defined]
    snap.restore()
    assert box.items == [1, 2] and box.buf == b"ab" and box.child == {"k": [3]}
    assert not hasattr(box, "extra")
    assert box.rng.random() == first


def test_frozen_dataclasses_are_not_saved_but_what_they_hold_is() -> None:
    @dataclasses.dataclass(frozen=True)
    class Spec:
        name: str
        seen: list[int]

    spec = Spec("x", [1])
    snap = Snapshot(spec)
    assert snap.size() == 1  # the list only: the frozen instance itself cannot change
    spec.seen.append(2)
    snap.restore()
    assert spec.seen == [1] and spec.name == "x"


@pytest.mark.parametrize("spec", fc.PHASES, ids=lambda s: s.name)
def test_phase_is_reached(spec: fc.PhaseSpec) -> None:
    built = fc.get_phase(spec)
    built.snapshot.restore()  # earlier tests in this process ran inputs on it
    conn = built.conn
    assert conn.phase is not Phase.CLOSED
    name = spec.name.removeprefix("server-")
    assert conn.role is spec.role
    if name == "version":
        assert conn.phase is Phase.VERSION
    elif name.startswith("kex"):
        assert conn.phase is Phase.FIRST_KEX
    elif name.startswith(("auth", "userauth")):
        assert conn.phase is Phase.USERAUTH
    else:
        assert conn.phase is Phase.CONNECTED and conn.channels.channels
    if name.startswith("auth-"):
        assert conn.auth.context is not None
    if name.startswith("kex-") or name == "rekey" or spec.name == "server-kex":
        assert conn.kex.context is not None


def test_restored_phase_behaves_like_a_fresh_replay() -> None:
    """Running an input on a restored snapshot gives what a freshly replayed phase gives."""
    candidates = [d for d in seed_files("connection") if len(d) > fc.HEADER]
    inputs = candidates[:: max(1, len(candidates) // 40)]  # spread over every phase
    for data in inputs:
        spec = fc.FAST.phase_for(data[0])
        fresh = fc.build_phase(spec)
        expected = fc.run_on(fresh, data)
        fc.run_input(inputs[-1], fc.FAST)  # disturb the cached phase with another input
        assert fc.run_input(data, fc.FAST) == expected, spec.name
