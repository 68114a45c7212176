"""Where the project's data lives: scenarios, fuzz corpus and container recipes.

Two layouts, one answer. In a checkout they are the top-level folders beside ``harness/``. An
installed wheel carries them as package data under ``harness/_data/`` (setup.py copies them
there at build time), so ``harness run``, ``harness fuzz --replay`` and ``harness peers build``
work outside the checkout too. Code that reads them asks :func:`data_path`; code that writes
results asks :func:`work_root`, which is never inside site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_ROOT = PACKAGE_DIR.parent
BUNDLED_ROOT = PACKAGE_DIR / "_data"
# The folders setup.py bundles (about 2.5 MB together).
DATA_DIRS = ("scenarios", "corpus", "containers")


def in_checkout() -> bool:
    """True when running from a source checkout (or an editable install of one)."""
    return (CHECKOUT_ROOT / "scenarios" / "conftest.py").is_file() and (CHECKOUT_ROOT / "containers").is_dir()


def data_root() -> Path:
    """The folder that holds scenarios/, corpus/ and containers/ (checkout first, then the wheel's copy).

    Without either (a wheel built without its data), the checkout path is returned, so errors name
    the place a user would look.
    """
    if in_checkout() or not BUNDLED_ROOT.is_dir():
        return CHECKOUT_ROOT
    return BUNDLED_ROOT


def data_path(*parts: str) -> Path:
    """A path under :func:`data_root`, e.g. ``data_path("scenarios", "expectations")``."""
    return data_root().joinpath(*parts)


def scenarios_dir() -> Path:
    """The scenario tree: ``$HARNESS_SCENARIOS`` when set (your own scenarios, with a conftest.py
    that imports harness.scenario.pytest_plugin), else ``scenarios/`` under :func:`data_root`."""
    override = os.environ.get("HARNESS_SCENARIOS")
    return Path(override).resolve() if override else data_path("scenarios")


def work_root() -> Path:
    """Where results/ goes: the checkout in a checkout, else the current directory."""
    return CHECKOUT_ROOT if in_checkout() else Path.cwd()
