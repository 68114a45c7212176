"""Every seed and every regression input, replayed through its target: a fixed crash stays fixed.

A regression whose note says ``status: open`` is a known, unfixed bug: its test is an
``xfail(strict=True)``, so it fails loudly the day the bug is fixed, and whoever fixed it
flips the note to ``status: fixed``. Seeds must always pass: they are real traffic.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.fuzz import TARGETS
from harness.fuzz.campaign import ROOT, Regression, regressions, seeds
from harness.fuzz.minimize import reproduce, target_function

SEEDS = [(t, p) for t in sorted(TARGETS) for p in seeds(t)]
REGRESSIONS = regressions()


def _regression_param(reg: Regression) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=reg.reason)] if reg.status == "open" else []
    return pytest.param(reg, id=f"{reg.target}/{reg.path.name}", marks=marks)


def test_every_target_has_seeds() -> None:
    for target in TARGETS:
        assert any(t == target for t, _ in SEEDS), f"corpus/{target} is empty: run `harness fuzz --seeds`"


@pytest.mark.parametrize(("target", "path"), SEEDS, ids=[f"{t}/{p.name}" for t, p in SEEDS])
def test_seed(target: str, path: Path) -> None:
    finding = reproduce(target_function(target), path.read_bytes())
    assert finding is None, finding.traceback


@pytest.mark.parametrize("reg", [_regression_param(r) for r in REGRESSIONS])
def test_regression(reg: Regression) -> None:
    data = reg.path.read_bytes()
    if reg.meta.get("kind") in ("timeout", "oom", "slow-unit"):
        # Must finish, quickly, in a fresh process (a hang must not hang the suite).
        cmd = [sys.executable, "-m", "harness.fuzz.campaign", "--one", reg.target, str(reg.path)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        return
    finding = reproduce(target_function(reg.target), data)
    assert finding is None, finding.traceback
