"""Collect every scenario x peer as a test (the hooks live in harness.scenario.pytest_plugin).

The plugin may already be registered (``-p harness.scenario.pytest_plugin``, or the ``pytest11``
entry point of an installed package, which `harness run` relies on); registering its hooks a
second time would collect every scenario twice, so this file only registers it when missing.
"""

import harness.scenario.pytest_plugin as _plugin
import pytest


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.is_registered(_plugin):
        pluginmanager.register(_plugin, "harness.scenario.pytest_plugin")
