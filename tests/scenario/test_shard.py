"""Sharding a scenario run (`harness run --shard I/N`) and merging the shards' reports."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.scenario.shard import assign, parse_shard

ROOT = Path(__file__).resolve().parents[2]


def test_parse_shard_rejects_nonsense() -> None:
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "1/0", "x/2", "1", "1/2/3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_whole_peers_go_to_one_shard_and_the_split_is_balanced() -> None:
    items = [(f"s{n}[{peer}]", peer) for peer, count in (("a", 5), ("b", 4), ("c", 3), ("d", 2)) for n in range(count)]
    shard_of = assign(items, 2)
    assert assign(list(reversed(items)), 2) == shard_of  # depends on the items, not their order
    for peer in "abcd":
        assert len({shard_of[nodeid] for nodeid, p in items if p == peer}) == 1
    loads = [sum(1 for nodeid in shard_of if shard_of[nodeid] == s) for s in (0, 1)]
    assert sorted(loads) == [7, 7]
    few = assign(items[:5], 3)  # one peer, three shards: split by node id
    assert set(few.values()) <= {0, 1, 2} and len(set(few.values())) > 1


def _harness_run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "harness", "run", "--out", str(out), "-n", "0", "--seed", "11",
            "--client-peer", "openssh-client", "--client-peer", "dbclient",
            "-k", "server_handshake or prebanner_lines_to_client", *extra]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_two_shards_merged_equal_one_run(tmp_path: Path) -> None:
    """Server-role scenarios against two local client peers (OpenSSH's ssh and dbclient), chosen
    because their outcome does not depend on timing (a reset and a plain close can swap)."""
    whole = _harness_run(tmp_path / "whole")
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    for index in (1, 2):
        done = _harness_run(tmp_path / f"shard{index}", "--shard", f"{index}/2")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shard_rows = [json.loads((tmp_path / f"shard{i}" / "results.json").read_text())["results"] for i in (1, 2)]
    assert all(shard_rows) and {r["peer"] for r in shard_rows[0]}.isdisjoint({r["peer"] for r in shard_rows[1]})
    merged = subprocess.run([sys.executable, "-m", "harness", "report", "merge", str(tmp_path / "shard1"),
                             str(tmp_path / "shard2"), "--out", str(tmp_path / "merged")],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "merged" / "matrix.md").read_text() == (tmp_path / "whole" / "matrix.md").read_text()

    def essentials(path: Path) -> list[tuple[str, ...]]:
        data = json.loads(path.read_text())
        assert data["seed"] == 11
        return sorted((r["scenario"], r["peer"], r["status"], r.get("outcome", ""), str(r["seed"]), r["rerun"])
                      for r in data["results"])  # fmt: skip

    assert essentials(tmp_path / "merged" / "results.json") == essentials(tmp_path / "whole" / "results.json")
    for name in ("matrix.html", "junit.xml"):
        assert (tmp_path / "merged" / name).stat().st_size > 500
    # the re-run command of a cell works from another directory
    row = json.loads((tmp_path / "whole" / "results.json").read_text())["results"][0]
    argv = shlex.split(row["rerun"])
    assert argv[0] == "pytest"
    again = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert again.returncode == 0 and "1 passed" in again.stdout, again.stdout[-2000:]
