"""Waiting for a condition outside our transport (a proxy's counters, a port that stops
listening, another object's state): poll with a deadline, fail naming what never happened.
Conditions on our own Transport are better waited for with ``Transport.wait_until``."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
