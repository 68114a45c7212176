"""Command-line options shared by the test suite: which peers, which launcher."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness peers")
    group.addoption("--peer", action="append", default=[], metavar="ID",
                    help="server peer id to run the peer matrix against (repeatable; default: all)")  # fmt: skip
    group.addoption("--launcher", choices=("docker", "process"), default=None,
                    help="how to start peers (default: docker if an engine answers, else process)")  # fmt: skip
