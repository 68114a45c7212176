"""Testing your own SSH implementation, as a new user would (docs/TARGETS.md).

A server started by hand and unknown to the harness (our own `harness serve` on a free loopback
port) is tested with `harness run --target`; the local OpenSSH client is tested through
`--client-command`; scenario files in a folder outside the repository run through `harness run
PATH` and through plain `pytest PATH` with the plugin loaded; a peers.toml server is started by
the harness from its command. Everything goes through the real command lines in subprocesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.peers.base import pick_free_port

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "target-user", "target-Test-pw-7"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
SSH = "/usr/bin/ssh"
# A harness run starts pytest (about 2 s here) and a few scenarios of well under a second each.
RUN_TIMEOUT = 120

SCENARIO_LOGIN = '''"""Our server runs a command and reports its exit status."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("exit 3"), ExpectOutput(exit_status=3)])
'''
SCENARIO_KEX = '''"""Our server agrees on curve25519-sha256 when the client offers only that."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Handshake(kex=("curve25519-sha256",), expect={"kex": "curve25519-sha256"})])
'''
EXPECTATIONS = '''["skipped_here"]
status = "n/a"
reason = "our server has no such feature (from the project's own manifest)"
'''


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """`harness serve` started by hand on a free port, with a password and one authorized key."""
    tmp = tmp_path_factory.mktemp("own-server")
    key = keygen(tmp / "id_ed25519")
    with serving(tmp, key, "--password", PASSWORD) as port:
        yield port, key


@contextlib.contextmanager
def serving(tmp: Path, key: Path, *options: str) -> Iterator[int]:
    """`harness serve` on a free port accepting ``key`` (and whatever ``options`` add); its port."""
    argv = [sys.executable, "-m", "harness", "serve", "--port", "0", "--user", USER, *options,
            "--authorized-keys", str(key) + ".pub", "--cwd", str(tmp),
            "--host-key", str(keygen(tmp / "host"))]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    try:
        assert proc.stdout is not None
        port = None
        for _ in range(10):  # warnings, the host key line, then the address line
            match = re.search(r"serving SSH on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
            if match:
                port = int(match.group(1))
                break
        assert port is not None, "harness serve printed no address line"
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def keygen(path: Path) -> Path:
    """An Ed25519 key pair (ssh-keygen: fast, unlike the RSA host key `harness serve` would make)."""
    subprocess.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)
    return path


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)  # fmt: skip


def results(out: Path) -> dict[str, dict[str, str]]:
    """scenario id -> result record, from a run's results.json."""
    data = json.loads((out / "results.json").read_text())
    records = data["results"] if isinstance(data, dict) else data
    return {r["scenario"]: r for r in records}


def write_scenarios(folder: Path) -> Path:
    """A project's own scenario folder: one flat file, one in an area, one its manifest marks n/a."""
    (folder / "kex").mkdir(parents=True)
    (folder / "exit_status.py").write_text(SCENARIO_LOGIN)
    (folder / "kex" / "curve.py").write_text(SCENARIO_KEX)
    (folder / "skipped_here.py").write_text(SCENARIO_LOGIN)
    (folder / "helpers.py").write_text("VALUE = 1  # not a scenario: no SCENARIO assignment\n")
    return folder


def test_a_server_started_by_hand_is_tested_with_target(own_server: tuple[int, Path], tmp_path: Path) -> None:
    port, key = own_server
    out = tmp_path / "out"
    chosen = "handshake or exec_output_status or (banner and not prebanner) or rsa_sha2_256 or publickey_query"
    run = harness("run", "--target", f"ssh://{USER}:{PASSWORD}@127.0.0.1:{port}", "--identity", str(key),
                  "--name", "ours", "-k", chosen, "-n", "0", "--out", str(out), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "ssh://***" in run.stdout and PASSWORD not in run.stdout  # the password is not echoed
    cells = results(out)
    assert {r["peer"] for r in cells.values()} == {"ours"}
    assert cells["sanity/handshake (first)"]["status"] == "pass"
    assert cells["channels/exec_output_status"]["status"] == "pass"
    assert cells["auth/publickey_query_then_sign"]["status"] == "pass"  # with the key given by --identity
    assert cells["auth/banner"]["status"] == "n/a"  # needs a peer started with options
    assert "cannot start or reconfigure a server it does not run" in cells["auth/banner"]["reason"]
    assert cells["auth/rsa_sha2_256"]["status"] == "n/a"  # an RSA user key was never given
    assert "client key rsa" in cells["auth/rsa_sha2_256"]["reason"]


def test_an_unreachable_target_is_one_clear_message(tmp_path: Path) -> None:
    port = pick_free_port()  # nothing listens there
    run = harness("run", "--target", f"ssh://someone@127.0.0.1:{port}", "--out", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 2
    assert f"target (ssh://someone@127.0.0.1:{port}): cannot connect to 127.0.0.1:{port}" in run.stderr
    run = harness("run", "--target", "http://127.0.0.1:22", cwd=tmp_path)
    assert run.returncode == 2 and "must look like ssh://user[:password]@host:port" in run.stderr


def test_a_client_command_is_tested_in_server_role_scenarios(tmp_path: Path) -> None:
    template = (f"{SSH} -F /dev/null -p {{port}} -i {{key}} -o UserKnownHostsFile={{known_hosts}} "
                "-o StrictHostKeyChecking=yes -o BatchMode=yes {user}@{host} {command}")  # fmt: skip
    out = tmp_path / "out"
    run = harness("run", "--client-command", template, "--client-name", "myssh",
                  "-k", "server_handshake or prebanner_lines_to_client", "-n", "0", "--out", str(out),
                  cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cells = results(out)
    # Only the client was described: no built-in server peer was started for client-role scenarios.
    assert set(cells) == {"sanity/server_handshake", "misbehaviour/prebanner_lines_to_client"}
    assert {r["peer"] for r in cells.values()} == {"myssh"}
    assert all(r["status"] == "pass" for r in cells.values()), cells
    assert cells["sanity/server_handshake"]["outcome"] == "continued"
    run = harness("run", "--client-command", "/nonexistent/mycli -p {port}", cwd=tmp_path)
    assert run.returncode == 2
    assert "client-command: cannot run '/nonexistent/mycli'" in run.stderr


def test_a_scenario_folder_outside_the_repository_runs_with_harness_run_and_pytest(
        own_server: tuple[int, Path], tmp_path: Path) -> None:  # fmt: skip
    port, _ = own_server
    folder = write_scenarios(tmp_path / "my_scenarios")
    manifests = tmp_path / "expectations"
    manifests.mkdir()
    (manifests / "ours.toml").write_text(EXPECTATIONS)
    target = f"ssh://{USER}:{PASSWORD}@127.0.0.1:{port}"
    out = tmp_path / "out"
    run = harness("run", str(folder), "--target", target, "--name", "ours", "--expectations", str(manifests),
                  "-n", "0", "--out", str(out), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cells = results(out)
    assert set(cells) == {"exit_status", "kex/curve", "skipped_here"}  # ids relative to the folder
    assert cells["exit_status"]["status"] == cells["kex/curve"]["status"] == "pass"
    assert cells["skipped_here"]["status"] == "n/a"
    assert cells["skipped_here"]["reason"] == "our server has no such feature (from the project's own manifest)"
    rerun = cells["exit_status"]["rerun"]  # the user's options are in it, the password is not
    assert "--target-name ours" in rerun and "ssh://target-user:***@" in rerun and PASSWORD not in rerun

    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "harness.scenario.pytest_plugin", "-p",
                            "no:cacheprovider", str(folder), "--target", target, "--target-name", "ours",
                            "--expectations", str(manifests), "-v"],
                           cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=RUN_TIMEOUT)  # fmt: skip
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    assert "2 passed, 1 skipped" in plain.stdout
    assert "exit_status.py::exit_status[ours] PASSED" in plain.stdout


def test_a_folder_without_scenarios_is_an_error_that_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.py").write_text("x = 1\n")
    run = harness("run", str(empty), cwd=tmp_path)
    assert run.returncode == 2
    assert f"{empty}: no scenario files there" in run.stderr
    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "harness.scenario.pytest_plugin", "-p",
                            "no:cacheprovider", "empty", "--peer", "openssh-9.2"],
                           cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=RUN_TIMEOUT)  # fmt: skip
    assert plain.returncode == 4, plain.stdout[-2000:] + plain.stderr[-2000:]
    assert "empty: no scenario files there" in plain.stderr


def test_a_peers_file_server_is_started_from_its_command(tmp_path: Path) -> None:
    keygen(tmp_path / "id_ed25519")
    keygen(tmp_path / "host_key")
    command = [sys.executable, "-m", "harness", "serve", "--port", "{port}", "--user", USER, "--host-key", "host_key",
               "--authorized-keys", "id_ed25519.pub", "--cwd", "{workdir}"]  # fmt: skip
    (tmp_path / "peers.toml").write_text(
        f"[server.mysshd]\ncommand = {json.dumps(command)}\nuser = \"{USER}\"\nidentity = \"id_ed25519\"\n"
        "start_timeout = 30\n[server.mysshd.capabilities]\nsubsystems = [\"sftp\"]\n")  # fmt: skip
    out = tmp_path / "out"
    run = harness("run", "-k", "exec_output_status", "-n", "0", "--out", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cells = results(out)
    assert {r["peer"] for r in cells.values()} == {"mysshd"}  # ./peers.toml replaced the built-in servers
    assert cells["channels/exec_output_status"]["status"] == "pass"

    (tmp_path / "peers.toml").write_text("[server.mysshd]\ncommand = \"mysshd -p {port}\"\n")
    run = harness("run", "-n", "0", "--out", str(out), cwd=tmp_path)
    assert run.returncode == 2
    assert f"{tmp_path / 'peers.toml'}: [server.mysshd]: user is required" in run.stderr


def test_a_peers_file_server_from_an_image_is_started_probed_and_removed(tmp_path: Path) -> None:
    """A container image as the user's server: host networking, HARNESS_PORT, removed on stop."""
    import docker

    from harness.peers.peers_file import parse_peers_file
    from harness.peers.user_peers import UserPeers

    text = ('[server.imgssh]\nimage = "harness-peer/openssh:bookworm"\nuser = "sshharness"\n'
            'password = "harness-Test-pw-4711"\nstart_timeout = 60\n')  # fmt: skip
    peers = UserPeers(servers=parse_peers_file(text, tmp_path / "peers.toml").servers)
    handle = peers.server_handle("imgssh")
    name = f"harness-user-imgssh-{handle.info.port}"
    try:
        assert handle.running and handle.info.banner.startswith("SSH-2.0-OpenSSH_9.2")
        assert "curve25519-sha256" in handle.info.algorithms["kex"]
        assert handle.info.extra["auth_methods"] == "password,keyboard-interactive"  # probed, with a password only
        assert docker.from_env().containers.get(name).status == "running"
    finally:
        peers.stop_all()
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().containers.get(name)


def test_the_same_target_works_for_interop_and_live_fuzzing(own_server: tuple[int, Path], tmp_path: Path) -> None:
    port, key = own_server
    target = f"ssh://{USER}:{PASSWORD}@127.0.0.1:{port}"
    run = harness("interop", "--target", target, "--identity", str(key), "--name", "ours", "--no-bulk",
                  "--out", str(tmp_path / "interop"), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cells = {(c["category"], c["item"]): c for c in json.loads((tmp_path / "interop" / "interop.json").read_text())}
    assert {c["peer"] for c in cells.values()} == {"ours"}
    assert cells[("auth", "password")]["result"] == cells[("auth", "publickey ed25519")]["result"] == "pass"
    assert cells[("auth", "publickey rsa")]["result"] == "n/a"  # no RSA key was given
    assert cells[("kex", "curve25519-sha256")]["result"] == "pass"
    run = harness("fuzz", "--live", target, "--runs", "5", "--workdir", str(tmp_path / "fuzz"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"live fuzzing target (SSH-2.0-harness_0.1) at 127.0.0.1:{port}" in run.stdout
    assert "5 iterations" in run.stdout


def test_live_fuzzing_a_key_only_target_logs_in_with_identity(tmp_path: Path) -> None:
    key = keygen(tmp_path / "id_ed25519")
    with serving(tmp_path, key) as port:  # no --password: only that key logs in
        target = f"ssh://{USER}@127.0.0.1:{port}"
        # Seed 3's first 8 iterations include connection-layer points (log in, open a session, damage).
        fuzz = ("fuzz", "--live", target, "--runs", "8", "--seed", "3", "--workdir", str(tmp_path / "fuzz"))
        run = harness(*fuzz, "--identity", str(key), cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "8 iterations" in run.stdout and "0 findings" in run.stdout, run.stdout
        assert "harness-error" not in run.stdout and "setup-failed" not in run.stdout, run.stdout
        without = harness(*fuzz, cwd=tmp_path)  # no credential for the only method it offers
        assert without.returncode == 2, without.stdout[-3000:] + without.stderr[-3000:]
        assert "no login method it offers has a credential here; give --identity FILE" in without.stderr
    missing = harness(*fuzz, "--identity", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and f"--identity {tmp_path / 'nope'}: no such file" in missing.stderr
    builtin = harness("fuzz", "--live", "openssh-9.2", "--identity", str(key), "--runs", "1", cwd=tmp_path)
    assert builtin.returncode == 2 and "--identity is for a server given as ssh://" in builtin.stderr


def test_a_local_sshd_as_target_is_probed_as_openssh_and_checked_against_known_hosts(tmp_path: Path) -> None:
    """A real OpenSSH server (the host's sshd on a free loopback port) given only as a URL, an
    RSA identity and a known_hosts file: product requirements see "openssh" from its banner."""
    from harness.peers.process import start_openssh_server

    handle = start_openssh_server(tmp_path / "sshd")
    info = handle.info
    try:
        out = tmp_path / "out"
        run = harness("run", "--target", f"ssh://{info.username}@127.0.0.1:{info.port}",
                      "--identity", str(info.client_keys["rsa"]), "--identity", str(info.client_keys["ed25519"]),
                      "--known-hosts", str(info.known_hosts), "--name", "host-sshd",
                      "-k", "hostkeys_prove or rsa_sig_alg or wrong_password or ecdsa",
                      "-n", "0", "--out", str(out), cwd=tmp_path)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    finally:
        handle.stop()
    cells = results(out)
    assert cells["global_requests/hostkeys_prove"]["status"] == "pass"  # Product(openssh) applies
    assert cells["auth/rsa_sig_alg"]["status"] == "pass"  # logs in with the RSA identity
    assert cells["auth/wrong_password"]["status"] == "n/a"  # no password in the URL
    assert "host_key_each[ecdsa-sha2-nistp256]" in " ".join(cells)  # offered by sshd: probed, so it ran
