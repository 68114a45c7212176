"""Where scenario files come from: the repository's ``scenarios/`` or any folder a user names.

Why a module of its own: ``harness run PATH`` and ``pytest PATH`` must agree on which files are
scenarios and what their ids are, and a path without any scenario must be an error that says so
(pytest alone would end with "no tests ran" and exit code 5, which reads like success in CI).

Rules (docs/SCENARIOS.md):
- A *scenario root* is the repository's ``scenarios/`` folder, or a folder given on the command
  line. Ids are relative to the root: ``<area>/<name>`` for ``root/<area>/<name>.py``, ``<name>``
  for a flat ``root/<name>.py``.
- Inside the repository's root every ``<area>/<name>.py`` is a scenario (as before). Elsewhere a
  file is one when it assigns ``SCENARIO =`` at the start of a line, so that pointing the plugin at
  a project's ordinary test folder does not import every module in it.
- Files starting with ``_``, ``conftest.py``, pytest's own ``test_*.py`` / ``*_test.py`` and the
  ``expectations`` folder are never scenarios.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# Default expectations (manifests and pins) of the built-in scenarios.
REPO_EXPECTATIONS = REPO_SCENARIOS / "expectations"
# `SCENARIO = Scenario(...)` (or an annotated assignment) at the start of a line.
_DEFINES_SCENARIO = re.compile(rb"^SCENARIO\s*(:[^=\n]*)?=", re.MULTILINE)
# Deepest layout: <area>/<name>.py below the root.
MAX_DEPTH = 2


class NoScenariosError(ValueError):
    """A path given to run scenarios from holds none; the message says where and what is wanted."""


def _excluded(path: Path) -> bool:
    name = path.name
    return (path.suffix != ".py" or name.startswith("_") or name == "conftest.py" or name.startswith("test_")
            or name.endswith("_test.py"))  # fmt: skip


def defines_scenario(path: Path) -> bool:
    """True when the file assigns SCENARIO at module level (read as bytes; no import)."""
    try:
        return bool(_DEFINES_SCENARIO.search(path.read_bytes()))
    except OSError:
        return False


def relative_id_parts(path: Path, root: Path) -> tuple[str, ...] | None:
    """The file's path parts below ``root`` when it sits in a scenario position, else None."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if not 1 <= len(rel.parts) <= MAX_DEPTH or rel.parts[0] == "expectations" or _excluded(path):
        return None
    return rel.parts


def is_scenario_file(path: Path, root: Path) -> bool:
    parts = relative_id_parts(path, root)
    if parts is None:
        return False
    if root.resolve() == REPO_SCENARIOS:
        return len(parts) == MAX_DEPTH  # the repository keeps helpers (conftest, ruff.toml) at the top
    return defines_scenario(path)


def root_of(path: Path) -> Path:
    """The scenario root a directory (or file) argument stands for.

    Anything inside the repository's ``scenarios/`` stands for that root (``scenarios/kex`` keeps
    ids like ``kex/guess_right``); elsewhere a folder is its own root and a file stands for its
    folder (ids are relative to what the user named).
    """
    resolved = path.resolve()
    if resolved == REPO_SCENARIOS or REPO_SCENARIOS in resolved.parents:
        return REPO_SCENARIOS
    return resolved if resolved.is_dir() else resolved.parent


def roots_for(args: Iterable[str]) -> list[Path]:
    """Scenario roots named by command-line path arguments (node ids like ``f.py::x`` included)."""
    roots: list[Path] = []
    for arg in args:
        if arg.startswith("-"):
            continue
        path = Path(arg.split("::", 1)[0])
        if not path.exists():
            continue
        root = root_of(path)
        if root not in roots:
            roots.append(root)
    return roots


def find_root(path: Path, roots: Sequence[Path]) -> Path | None:
    """The root (of ``roots``, or the repository's) under which ``path`` is a scenario file."""
    for root in (*sorted(roots, key=lambda r: len(r.parts), reverse=True), REPO_SCENARIOS):
        if is_scenario_file(path, root):
            return root
    return None


def scenario_files(path: Path) -> list[Path]:
    """Every scenario file a command-line path stands for (a file, a root, or an area folder)."""
    path = path.resolve()
    root = root_of(path)
    if path.is_file():
        return [path] if is_scenario_file(path, root) else []
    # A root holds <area>/<name>.py and flat <name>.py; an area folder inside a root only <name>.py.
    candidates = [*path.glob("*.py"), *path.glob("*/*.py")] if path == root else list(path.glob("*.py"))
    return sorted(p for p in candidates if is_scenario_file(p, root))


def check_paths(paths: Sequence[str]) -> list[Path]:
    """Resolved paths, each holding at least one scenario; otherwise NoScenariosError saying which."""
    out = []
    for text in paths:
        path = Path(text.split("::", 1)[0])
        if not path.exists():
            raise NoScenariosError(f"{text}: no such file or directory")
        if not scenario_files(path):
            raise NoScenariosError(
                f"{text}: no scenario files there (a scenario file defines SCENARIO = Scenario(...) at module "
                "level; layout <area>/<name>.py or a flat folder of <name>.py; see docs/SCENARIOS.md)")
        out.append(path.resolve())
    return out


def every_scenario_id_source(roots: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, root) for every scenario file of the given roots (for checking expectation keys)."""
    found = []
    for root in dict.fromkeys(r.resolve() for r in roots):
        for path in scenario_files(root):
            found.append((path, root))
    return found
