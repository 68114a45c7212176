"""``--scenario-shard I/N`` (``harness run --shard I/N``): run one of N deterministic slices.

Why: across machines, a CI matrix runs N jobs of the same selection, each with its own shard,
and ``harness report merge`` joins their results.json into one report. Every job collects the
same items, so the split must depend on nothing but the items themselves:

- when there are at least N peers, whole peers go to one shard (the peer pool starts each peer
  once per worker, so splitting a peer over shards would start it again): peers are placed,
  biggest first, on the least loaded shard; ties are broken by a stable hash of the peer id;
- with fewer peers than shards, each item goes to shard ``sha256(node id) mod N``.

Shards are numbered from 1, as CI matrices usually count.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import pytest


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as (I, N) with 1 <= I <= N, or ValueError with a message that says what is wrong."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise ValueError(f"shard {text!r}: expected I/N, e.g. 1/4") from None
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"shard {text!r}: I must be between 1 and N (N >= 1)")
    return index, count


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def assign(items: list[tuple[str, str]], count: int) -> dict[str, int]:
    """Shard (0-based) for each (node id, peer id) pair; see the module docstring."""
    by_peer: dict[str, list[str]] = defaultdict(list)
    for nodeid, peer in items:
        by_peer[peer].append(nodeid)
    if len(by_peer) < count:
        return {nodeid: _stable(nodeid) % count for nodeid, _ in items}
    load = [0] * count
    shard_of: dict[str, int] = {}
    for peer in sorted(by_peer, key=lambda p: (-len(by_peer[p]), _stable(p))):
        target = min(range(count), key=lambda s: (load[s], s))
        load[target] += len(by_peer[peer])
        for nodeid in by_peer[peer]:
            shard_of[nodeid] = target
    return shard_of


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so every job shards the same final list
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    text = config.getoption("scenario_shard", None)
    if not text:
        return
    try:
        index, count = parse_shard(text)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    shard_of = assign([(it.nodeid, getattr(it, "peer", "")) for it in items], count)
    keep = [it for it in items if shard_of[it.nodeid] == index - 1]
    dropped = [it for it in items if shard_of[it.nodeid] != index - 1]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
