"""Snapshot and in-place restore of a live object graph (a connection mid-session).

Why: the connection target drives a connection to a phase by replaying a recorded transcript,
which costs milliseconds (key exchange, signature checks). Doing that per fuzz input would
cap a campaign at a few hundred executions per second; ``copy.deepcopy`` is both slow
(~300 us for a connection) and wrong here (the handler table's lambdas close over the
original connection). Instead the graph reachable from the roots is walked once, each mutable
Python object's contents are saved, and :meth:`Snapshot.restore` puts the contents back into
the *same* objects (a fresh copy of the saved ``__dict__``, slice assignment for lists,
bytearrays and deques; plain dicts are cleared and refilled, since others hold them).
Objects created by a fuzz input become garbage; closures and bound methods keep pointing at
the right, restored objects.

Frozen dataclass instances are walked through but not saved: they cannot change after
construction (restoring them was a sixth of a connection's objects for nothing).

What cannot be restored in place: C-level state. ``random.Random`` is restored through
``getstate``/``setstate``; zlib streams are replaced by a fresh ``copy()`` of the saved
stream; every other object without a ``__dict__`` (``cryptography`` contexts and keys) is
shared as is and listed in :attr:`Snapshot.shared`: the caller must make sure those are
stateless across packets (ChaCha20-Poly1305 rewinds per packet, AES-GCM keeps its counter in
Python, HMAC keys are copied per packet; AES-CTR/CBC streams are not restorable).
"""

from __future__ import annotations

import random
import types
import zlib
from collections import deque
from enum import Enum
from typing import Any

_ATOMIC = (
    str, bytes, int, float, complex, bool, type(None), range, type, types.ModuleType,
    types.BuiltinFunctionType, types.BuiltinMethodType, types.MethodDescriptorType,
    types.WrapperDescriptorType, types.CodeType, Enum,
)  # fmt: skip
_ZLIB_TYPES = (type(zlib.compressobj()), type(zlib.decompressobj()))


def _is_frozen(kind: type) -> bool:
    params = getattr(kind, "__dataclass_params__", None)
    return params is not None and params.frozen and not hasattr(kind, "__slots__")


class Snapshot:
    """The saved state of everything mutable reachable from ``roots``."""

    def __init__(self, *roots: Any) -> None:
        self.roots = roots
        # Objects get a fresh copy of their saved ``__dict__`` (one C call, half the cost of
        # clearing and refilling it); those whose class intercepts attribute setting keep their
        # dict, cleared and refilled.
        self._replaced: list[tuple[Any, dict[str, Any]]] = []
        self._objects: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._zlib_streams: list[tuple[Any, str, Any]] = []  # (object, attribute, saved stream)
        self._dicts: list[tuple[dict[Any, Any], dict[Any, Any]]] = []
        self._lists: list[tuple[list[Any], list[Any]]] = []
        self._deques: list[tuple[deque[Any], list[Any]]] = []
        self._bytearrays: list[tuple[bytearray, bytes]] = []
        self._sets: list[tuple[set[Any], set[Any]]] = []
        self._randoms: list[tuple[random.Random, object]] = []
        self.shared: list[Any] = []
        self._walk(roots)

    def _walk(self, roots: tuple[Any, ...]) -> None:
        seen: set[int] = set()
        stack: list[Any] = list(roots)
        while stack:
            obj = stack.pop()
            if id(obj) in seen or isinstance(obj, _ATOMIC):
                continue
            seen.add(id(obj))
            kind = type(obj)
            if kind is dict:
                self._dicts.append((obj, dict(obj)))
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif kind is list:
                self._lists.append((obj, list(obj)))
                stack.extend(obj)
            elif kind is deque:
                self._deques.append((obj, list(obj)))
                stack.extend(obj)
            elif kind is bytearray:
                self._bytearrays.append((obj, bytes(obj)))
            elif kind is set:
                self._sets.append((obj, set(obj)))
                stack.extend(obj)
            elif kind in (tuple, frozenset):
                stack.extend(obj)
            elif isinstance(obj, random.Random):
                self._randoms.append((obj, obj.getstate()))
            elif kind is types.MethodType:
                stack.append(obj.__self__)
            elif kind is types.FunctionType:
                for cell in obj.__closure__ or ():
                    stack.append(cell.cell_contents)
            elif isinstance(obj, _ZLIB_TYPES):
                continue  # replaced by a fresh copy through the attribute that holds it
            elif kind is memoryview:
                raise TypeError("a memoryview in a snapshot would pin a buffer; release it first")
            elif _is_frozen(kind):
                # A frozen dataclass cannot change after construction: nothing to save, but
                # what it refers to may be mutable.
                stack.extend(obj.__dict__.values())
            elif hasattr(obj, "__dict__"):
                state = obj.__dict__
                if kind.__setattr__ is object.__setattr__:
                    self._replaced.append((obj, dict(state)))
                else:
                    self._objects.append((state, dict(state)))
                self._zlib_streams.extend((obj, k, v.copy()) for k, v in state.items() if isinstance(v, _ZLIB_TYPES))
                stack.extend(state.values())
                for name in getattr(kind, "__slots__", ()):
                    if hasattr(obj, name):
                        stack.append(getattr(obj, name))
            else:
                self.shared.append(obj)

    def restore(self) -> None:
        """Put every saved object back into its saved state (same identities)."""
        for obj, saved in self._replaced:
            obj.__dict__ = saved.copy()
        for state, saved in self._objects:
            state.clear()
            state.update(saved)
        for obj, key, stream in self._zlib_streams:
            obj.__dict__[key] = stream.copy()
        for d, saved_d in self._dicts:
            d.clear()
            d.update(saved_d)
        for lst, saved_l in self._lists:
            lst[:] = saved_l
        for dq, saved_q in self._deques:
            dq.clear()
            dq.extend(saved_q)
        for ba, saved_b in self._bytearrays:
            ba[:] = saved_b
        for s, saved_s in self._sets:
            s.clear()
            s.update(saved_s)
        for rng, rng_state in self._randoms:
            rng.setstate(rng_state)

    def size(self) -> int:
        """How many objects a restore touches (for the benchmark's time breakdown)."""
        return (len(self._replaced) + len(self._objects) + len(self._dicts) + len(self._lists) + len(self._deques)
                + len(self._bytearrays) + len(self._sets) + len(self._randoms))  # fmt: skip
