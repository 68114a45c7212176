"""`harness bench --quick --json`: every section once in under a minute, JSON alone on stdout,
and transfers too small for a throughput figure flagged instead of printed as MB/s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_json(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harness", "bench", "--quick", "--json", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=90, cwd=ROOT)  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    assert elapsed < 60, f"--quick took {elapsed:.0f} s"
    assert document["errors"] == [] and Path(document["out"], "bench.json").exists()
    bulk = [row for row in document["bulk"] if "direction" in row]
    assert bulk and all(row.get("too_small") and "mb_s" not in row for row in bulk)
    assert "too small for a MB/s figure" in done.stderr and " MB/s  client" not in done.stderr
    assert all("ms" in row for row in document["handshake"] if "skipped" not in row)
