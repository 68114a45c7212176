"""The wheel works outside the checkout: build it, install it into a fresh venv, run the CLI.

Why a real build: a wheel that lacks the scenarios or the corpus, or a command that finds its data
only beside the checkout, is invisible to every other test (they all import the checkout). The
test copies the sources to a temporary folder (the build writes build/ and *.egg-info next to
them, and parallel runs must not share those), runs ``pip wheel --no-deps`` there, installs the
wheel with its dependencies into a new venv from the configured package index, and runs the
installed ``harness`` from a directory outside the checkout with no PYTHONPATH.

A second venv gets the same wheel with its ``scenarios`` extra (the first one must lack it: the
missing-extra message is tested there) and runs a scenario folder of a user's own through both
``harness run PATH --peer`` and plain ``pytest PATH --peer``: the pytest11 entry point has to load
the plugin without ``-p``. Its packages come from the same configured index (local wheels on the
development machines, PyPI in CI), mostly out of pip's cache after the first install.

Cost: about 15 s of wall time on an idle machine (8 s of CPU: the wheel, the install, the
commands), 40 s measured on a machine shared by many test runs; marked ``slow`` and ``packaging``
so it can be seen and selected, and it runs in CI like everything else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import __version__

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("harness", "scenarios", "corpus", "containers", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md",
           "LICENSE")  # fmt: skip
PIP_TIMEOUT = 300  # the install resolves cryptography, bcrypt and docker from the index
RUN_TIMEOUT = 120  # pytest's start-up, one peer and one scenario: about 5 s here
PEER = "openssh-9.2"  # a default peer with both launchers: a container, or the local sshd without Docker
SCENARIO = '''"""The installed package runs a user's own scenario: a command's exit status comes back."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("exit 3"), ExpectOutput(exit_status=3)])
'''

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH and no active venv: the checkout must not be importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(venv bin folder, the wheel, environment) after building and installing once for the module."""
    tmp = tmp_path_factory.mktemp("packaging")
    env = _clean_env()
    source = tmp / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "build", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], tmp, env,
                 timeout=PIP_TIMEOUT)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("ssh_harness-*.whl")
    bin_dir = _venv_with(wheel, str(wheel), tmp / "venv", env)
    outside = tmp / "elsewhere"
    outside.mkdir()
    return bin_dir, wheel, env


def _venv_with(wheel: Path, requirement: str, folder: Path, env: dict[str, str]) -> Path:
    """A new venv (no pip of its own: the running pip installs into it) holding `requirement`; its bin folder."""
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(folder)], folder.parent, env)
    assert made.returncode == 0, made.stderr
    bin_dir = folder / "bin"
    install = _run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", requirement],
                   folder.parent, env, timeout=PIP_TIMEOUT)  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return bin_dir


@pytest.fixture(scope="module")
def installed_with_scenarios(installed: tuple[Path, Path, dict[str, str]],
                             tmp_path_factory: pytest.TempPathFactory) -> Path:  # fmt: skip
    """The same wheel (not built again) with the `scenarios` extra, in a venv of its own: its bin folder."""
    _, wheel, env = installed
    return _venv_with(wheel, f"{wheel}[scenarios]", tmp_path_factory.mktemp("packaging-scenarios") / "venv", env)


def test_wheel_contents_and_metadata(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, wheel, _ = installed
    assert wheel.name == f"ssh_harness-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"ssh_harness-{__version__}.dist-info/METADATA").decode()
    assert "harness/py.typed" in names
    # The client-peer scripts run under other interpreters and import their option parser from beside them.
    assert {"harness/peers/client_scripts/paramiko_client.py", "harness/peers/client_scripts/client_args.py"} <= names
    assert f"ssh_harness-{__version__}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata and "Name: ssh-harness" in metadata
    assert "Provides-Extra: fuzz" in metadata and "Provides-Extra: scenarios" in metadata
    for needed in ("harness/_data/scenarios/conftest.py", "harness/_data/containers/bootstrap.sh",
                   "harness/_data/corpus/dictionaries/ssh.dict"):  # fmt: skip
        assert needed in names, needed
    assert any(n.startswith("harness/_data/scenarios/expectations/") for n in names)
    assert any(n.startswith("harness/_data/corpus/regressions/") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_installed_cli_works_outside_the_checkout(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, _, env = installed
    cwd = bin_dir.parent.parent / "elsewhere"
    version = _run([str(bin_dir / "harness"), "--version"], cwd, env)
    assert version.returncode == 0 and version.stdout.strip() == f"harness (ssh-harness) {__version__}", version
    listing = _run([str(bin_dir / "harness"), "peers", "list", "--json"], cwd, env)
    assert listing.returncode == 0, listing.stderr
    assert "openssh-9.2" in {peer["id"] for peer in json.loads(listing.stdout)["peers"]}
    # The bundled data is found, and the import is warning-free.
    probe = ("import harness, harness.cli, harness.resources as r; "
             "assert not r.in_checkout() and (r.data_path('scenarios', 'conftest.py')).is_file(), r.data_root(); "
             "assert r.data_path('containers', 'bootstrap.sh').is_file(); print(harness.__file__)")  # fmt: skip
    imported = _run([str(bin_dir / "python"), "-W", "error", "-c", probe], cwd, env)
    assert imported.returncode == 0, imported.stderr
    assert str(bin_dir.parent) in imported.stdout and str(ROOT) not in imported.stdout
    replay = _run([str(bin_dir / "harness"), "fuzz", "packet", "--replay"], cwd, env)
    assert replay.returncode == 0 and "seeds" in replay.stdout, replay.stdout + replay.stderr


def test_missing_extras_are_one_line_naming_the_extra(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, _, env = installed
    cwd = bin_dir.parent.parent / "elsewhere"
    for argv, extra in ((["run"], "scenarios"), (["fuzz", "codec", "--runs", "1"], "fuzz"), (["bench"], "bench")):
        proc = _run([str(bin_dir / "harness"), *argv], cwd, env)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (argv, proc.stderr)
        assert lines[0].startswith("harness: error: ") and f"pip install 'ssh-harness[{extra}]'" in lines[0], lines


def test_installed_package_runs_a_scenario_folder_with_harness_run_and_plain_pytest(
        installed_with_scenarios: Path, tmp_path: Path) -> None:  # fmt: skip
    bin_dir = installed_with_scenarios
    env = _clean_env()
    folder = tmp_path / "my_scenarios"
    folder.mkdir()
    (folder / "exit_three.py").write_text(SCENARIO)
    out = tmp_path / "out"
    run = _run([str(bin_dir / "harness"), "run", str(folder), "--peer", PEER, "-n", "0", "--out", str(out)],
               tmp_path, env, timeout=RUN_TIMEOUT)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    records = data["results"] if isinstance(data, dict) else data
    assert [(r["scenario"], r["peer"], r["status"]) for r in records] == [("exit_three", PEER, "pass")], records
    # No `-p harness.scenario.pytest_plugin`: the installed pytest11 entry point loads the plugin.
    plain = _run([str(bin_dir / "pytest"), "-p", "no:cacheprovider", str(folder), "--peer", PEER, "-v"],
                 tmp_path, env, timeout=RUN_TIMEOUT)  # fmt: skip
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    assert f"exit_three.py::exit_three[{PEER}] PASSED" in plain.stdout and "1 passed" in plain.stdout, plain.stdout
