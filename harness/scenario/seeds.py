"""Seeds: every random choice of a scenario run comes from one printed base seed.

Why: a failing scenario must be re-runnable alone with exactly the same bytes on our side
(kex secrets, padding, cookies, channel payloads). The base seed is chosen once per test
session (or given with ``--scenario-seed``); each (scenario, peer) derives its own seed from it
so running one scenario alone reproduces the same bytes as in the full run.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

ENV_SEED = "HARNESS_SCENARIO_SEED"


def base_seed(given: int | None = None) -> int:
    """The session seed: the given one, else the environment's, else a fresh random one."""
    if given is not None:
        return int(given)
    env = os.environ.get(ENV_SEED)
    if env:
        return int(env)
    return random.SystemRandom().randrange(1, 2**31)


def derive(base: int, *parts: str) -> int:
    """A stable per-run seed from the base seed and names (scenario id, peer id)."""
    digest = hashlib.sha256(("\x00".join([str(base), *parts])).encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFFFFFF


REPOSITORY = Path(__file__).resolve().parents[2]  # pytest's rootdir: node ids are relative to it


def rerun_command(nodeid: str, seed: int) -> str:
    """A command that runs one cell again with the same seed, from any directory: the node id's
    file part is made absolute (pytest accepts ``/abs/path.py::name[...]``)."""
    path, sep, rest = nodeid.partition("::")
    if not Path(path).is_absolute():
        path = str(REPOSITORY / path)
    return f"pytest '{path}{sep}{rest}' --scenario-seed {seed} -p no:xdist -p no:cacheprovider"
