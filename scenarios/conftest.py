"""Collect every scenario x peer as a test (the hooks live in harness.scenario.pytest_plugin)."""

from harness.scenario.pytest_plugin import *
