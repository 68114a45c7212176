"""Per-cell captures for ``harness run --pcap DIR`` (registered by pytest_plugin when
``HARNESS_PCAP_DIR`` is set): each scenario cell writes its connections' pcapng and key log
into its own subdirectory, named after the test node id, so the report can link them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.capture import ENV_DIR

_ROOT_ENV = "HARNESS_PCAP_ROOT"  # the run's capture root, kept while ENV_DIR points at one cell


def cell_directory(root: Path, nodeid: str) -> Path:
    readable = re.sub(r"[^A-Za-z0-9_.@-]+", "_", nodeid.split("::")[-1])[:80]
    return root / f"{readable}-{hashlib.sha1(nodeid.encode()).hexdigest()[:8]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    root = os.environ.get(_ROOT_ENV) or os.environ.get(ENV_DIR)
    if not root:
        yield
        return
    os.environ[_ROOT_ENV] = root
    os.environ[ENV_DIR] = str(cell_directory(Path(root), item.nodeid))
    try:
        yield
    finally:
        os.environ[ENV_DIR] = root


def captures_for_row(report_dir: Path) -> dict[str, Any]:
    """``capture``/``keylog`` keys for the running cell's row (paths relative to the report),
    or {} when captures are off or the cell made no connection."""
    root = os.environ.get(_ROOT_ENV)
    directory = os.environ.get(ENV_DIR)
    if not root or not directory or directory == root:
        return {}
    pcaps = sorted(Path(directory).glob("*.pcapng"))
    if not pcaps:
        return {}
    keylog = pcaps[0].with_suffix(".keys")
    row: dict[str, Any] = {"capture": os.path.relpath(pcaps[0], report_dir),
                           "captures": [os.path.relpath(p, report_dir) for p in pcaps]}  # fmt: skip
    if keylog.exists():
        row["keylog"] = os.path.relpath(keylog, report_dir)
    return row
