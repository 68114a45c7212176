"""Every ordinary mistake on the command line is one line on stderr, ``harness: error: ...``, exit 2.

Each case runs ``python -m harness`` in a subprocess, as a user would, and checks the whole of
stderr: a traceback or pytest's INTERNALERROR would be more than one line.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness import __version__
from harness.cli_common import did_you_mean, split_ids
from harness.ssh.keys import Ed25519Key

ROOT = Path(__file__).resolve().parents[1]


def harness(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=ROOT)  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Assert exit 2 and exactly one stderr line starting ``harness: error:``; return that line."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_unknown_peer_gets_did_you_mean() -> None:
    one_line_error(harness("peers", "start", "openssh-9.3"), "unknown peer 'openssh-9.3'", "did you mean openssh-9.2?")
    one_line_error(harness("peers", "start", "nosuch"), "unknown peer 'nosuch'", "harness peers list")


def test_comma_separated_peers_are_separate_ids() -> None:
    # The first id is known, so the error names only the second: the list was split.
    one_line_error(harness("interop", "--peer", "openssh-9.2,openssh-9.9"), "unknown peer 'openssh-9.9'")
    assert split_ids(["a,b", " c ", "d,,"]) == ["a", "b", "c", "d"] and split_ids(None) == []
    assert did_you_mean("dropbear-2025.8", ["dropbear-2025.89", "tinyssh"]) == " (did you mean dropbear-2025.89?)"
    assert did_you_mean("zzz", ["tinyssh"]) == ""


def test_bad_port_and_bad_option() -> None:
    one_line_error(harness("serve", "--port", "99999"), "serve: argument --port", "0-65535")
    one_line_error(harness("serve", "--port", "ssh"), "not a port number")
    one_line_error(harness("nosuchcommand"), "invalid choice")


def test_port_in_use_suggests_port_0(tmp_path: Path) -> None:
    key = tmp_path / "host_key"
    Ed25519Key.generate().write_private_key_file(key)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = harness("serve", "--host-key", str(key), "--password", "x", "--port", str(port))
    one_line_error(proc, f"127.0.0.1:{port}", "--port 0")


def test_host_key_missing_encrypted_wrong_passphrase_corrupt(tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted"
    Ed25519Key.generate().write_private_key_file(encrypted, password="secret")
    corrupt = tmp_path / "corrupt"
    corrupt.write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all\n-----END OPENSSH PRIVATE KEY-----\n")
    serve = ("serve", "--password", "x", "--port", "0", "--host-key")
    one_line_error(harness(*serve, str(tmp_path / "missing")), "missing: No such file")
    one_line_error(harness(*serve, str(encrypted)), "encrypted", "--host-key-passphrase")
    one_line_error(harness(*serve, str(encrypted), "--host-key-passphrase", "wrong"), "passphrase")
    one_line_error(harness(*serve, str(corrupt)), str(corrupt))


def test_bad_duration_and_unknown_fuzz_target() -> None:
    one_line_error(harness("fuzz", "codec", "--time", "banana"), "--time", "banana")
    one_line_error(harness("fuzz", "codek", "--replay"), "unknown fuzz target 'codek'", "did you mean codec?")


def test_docker_unreachable_is_not_reported_as_not_installed() -> None:
    from harness.peers.registry import docker_peer_ids, local_versions

    not_local = next(p for p in docker_peer_ids() if p not in local_versions().values())
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "HARNESS_REQUIRE_DOCKER": "0"}
    line = one_line_error(harness("peers", "start", not_local, env=env), not_local, "Docker is not usable")
    assert "/nonexistent/docker.sock" in line


def _scenario_tree(tmp_path: Path) -> Path:
    """A scenario tree of its own (conftest.py, one real scenario, no manifests): the run's
    outcome depends on what the test puts there, not on the project's current manifests."""
    tree = tmp_path / "scenarios"
    (tree / "expectations").mkdir(parents=True)
    (tree / "sanity").mkdir()
    shutil.copy(ROOT / "scenarios" / "conftest.py", tree / "conftest.py")
    shutil.copy(ROOT / "scenarios" / "sanity" / "handshake.py", tree / "sanity" / "handshake.py")
    return tree


def test_no_scenario_selected(tmp_path: Path) -> None:
    proc = harness("run", "--peer", "openssh-9.2", "-n", "0", "-k", "nomatch_anywhere", "--out", str(tmp_path / "out"),
                   env={"HARNESS_SCENARIOS": str(_scenario_tree(tmp_path))})  # fmt: skip
    one_line_error(proc, "no scenarios matched -k 'nomatch_anywhere'")
    (reports,) = [line for line in proc.stdout.splitlines() if line.startswith("reports:")]
    assert "matrix.md" not in reports and "results.json" not in reports, reports  # only what was written


def test_broken_scenario_file_names_the_file(tmp_path: Path) -> None:
    tree = _scenario_tree(tmp_path)
    (tree / "sanity" / "broken.py").write_text('"""A scenario with a syntax error."""\nSCENARIO = (\n')
    proc = harness("run", "--peer", "openssh-9.2", "-n", "0", "--out", str(tmp_path / "out"),
                   env={"HARNESS_SCENARIOS": str(tree)})  # fmt: skip
    one_line_error(proc, "bad scenario file", "broken.py", "SyntaxError")


def test_broken_expectations_manifest_names_the_file(tmp_path: Path) -> None:
    tree = _scenario_tree(tmp_path)
    (tree / "expectations" / "openssh-9.2.toml").write_text('["kex/x"]\nstatus = = "xfail"\n')
    proc = harness("run", "--peer", "openssh-9.2", "-n", "0", "--out", str(tmp_path / "out"),
                   env={"HARNESS_SCENARIOS": str(tree)})  # fmt: skip
    one_line_error(proc, "bad expectations manifest", "openssh-9.2.toml")


def test_version_and_global_options_on_every_command() -> None:
    proc = harness("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"harness (ssh-harness) {__version__}"
    for argv in (["fuzz", "--list", "-v"], ["-v", "fuzz", "--list"], ["fuzz", "--list", "--log-level", "debug"]):
        proc = harness(*argv)
        assert proc.returncode == 0 and "codec" in proc.stdout, (argv, proc.stderr)
    one_line_error(harness("fuzz", "--list", "--log-level", "loud"), "--log-level")


@pytest.mark.docker
def test_peers_list_json() -> None:
    proc = harness("peers", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert listing["docker"]["available"] is True, listing["docker"]
    ids = {peer["id"]: peer for peer in listing["peers"]}
    assert ids["openssh-9.2"]["image_built"] is True and ids["openssh-9.2"]["launchers"][0] == "docker"
