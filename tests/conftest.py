"""Command-line options shared by the test suite (which peers, which launcher), and the zoo
images fixture shared by the zoo server and zoo client tests."""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ZOO_BUILD_TIMEOUT = 1800  # building every zoo image from nothing takes ~6 min on 2 busy cores


@pytest.fixture(scope="module")
def zoo_images() -> None:
    """Docker answers and every zoo image is built and up to date (bootstrap.sh decides; on a
    fresh machine this builds them, so no zoo test depends on another having run first)."""
    from harness.peers.docker import docker_available

    ok, reason = docker_available()
    if not ok:
        if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_DOCKER=1 but Docker cannot run: {reason}", pytrace=False)
        pytest.skip(f"no Docker engine: {reason}")
    # One build at a time across pytest-xdist workers: the second waits, then finds every image
    # up to date, instead of building the same images at once on a fresh machine.
    with open(Path(tempfile.gettempdir()) / "harness-zoo-bootstrap.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["bash", str(REPO / "containers" / "bootstrap.sh"), "zoo"], capture_output=True,
                                text=True, timeout=ZOO_BUILD_TIMEOUT, check=False)  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"bootstrap.sh zoo failed:\n{result.stderr[-4000:]}", pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness peers")
    group.addoption("--peer", action="append", default=[], metavar="ID",
                    help="server peer id to run the peer matrix against (repeatable; default: all)")  # fmt: skip
    group.addoption("--launcher", choices=("docker", "process"), default=None,
                    help="how to start peers (default: docker if an engine answers, else process)")  # fmt: skip
