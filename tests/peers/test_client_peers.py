"""Client peers in server-role scenarios: every one logs in (key and password) and runs a
command through the real scenario engine; the modes (shell with a pty, sftp, forward) reach
our server; the run report tells a crash (with its signal) from a hang and from an exit status;
the terminal injection finder tells raw control characters from escaped ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.peers.client_launch import ClientProcess
from harness.peers.clients import docker_run_argv
from harness.peers.injection import INJECT_MARKER, find_injections
from harness.scenario import Connect, ExpectClose
from harness.scenario.client_target import control_strings
from harness.scenario.peers import client_peer_ids
from harness.ssh.wire import messages as m
from tests.peers.client_sessions import FIRST_REQUEST, OUTPUT, STATUS, received, run_client, session_steps

pytestmark = pytest.mark.peer
CLIENTS = client_peer_ids()
# One peer per product for the modes (each mode of every peer was run by hand: docs/PEERS.md).
MODE_CLIENTS = ["openssh-client-9.2", "dbclient-2022.83", "plink", "paramiko-client", "asyncssh-client"]


def _marked(peers: list[str]) -> list[object]:
    """Container client peers carry the docker mark."""
    return [pytest.param(p, marks=pytest.mark.docker) if p.startswith(("openssh", "dbclient")) else p for p in peers]


def test_the_default_set_has_every_client_peer() -> None:
    assert len(CLIENTS) == 11, CLIENTS
    assert {c.rsplit("-", 1)[0] for c in CLIENTS} == {
        "openssh-client", "dbclient", "plink", "paramiko-client", "asyncssh-client"}  # fmt: skip


@pytest.mark.parametrize("auth", ["publickey", "password"])
@pytest.mark.parametrize("peer", _marked(CLIENTS))
def test_client_logs_in_and_runs_a_command(peer: str, auth: str) -> None:
    failure, target, ctx = run_client(peer, session_steps("exec"), auth=auth)
    report = target.report()
    assert report is not None
    assert failure is None, f"{failure}\n{report.describe()}"
    assert received(ctx, m.ChannelRequestExec)[0].command == b"echo harness-client-ok"
    assert (report.returncode, report.signal, report.hung) == (STATUS, None, False), report.describe()
    assert OUTPUT.decode() in report.stdout, report.describe()


@pytest.mark.parametrize("peer", _marked(["dbclient-2020.81", "plink", "paramiko-client-debian"]))
def test_client_logs_in_with_an_rsa_pem_key(peer: str) -> None:
    failure, target, ctx = run_client(peer, session_steps("exec"), key_type="rsa")
    report = target.report()
    assert failure is None and report is not None and report.returncode == STATUS, report and report.describe()
    assert received(ctx, m.UserauthRequestPublickey)[-1].algorithm in ("rsa-sha2-256", "rsa-sha2-512", "ssh-rsa")


@pytest.mark.parametrize("mode", ["shell", "sftp", "forward"])
@pytest.mark.parametrize("peer", _marked(MODE_CLIENTS))
def test_client_modes_reach_our_server(peer: str, mode: str) -> None:
    failure, target, ctx = run_client(peer, session_steps(mode), mode=mode) if mode != "sftp" or \
        "dbclient" not in peer else (None, None, None)  # fmt: skip
    if target is None:
        from harness.scenario.peers import ClientTarget, client_peer_info

        assert not ClientTarget(client_peer_info(peer)).supports("sftp")  # dbclient has no sftp client
        return
    report = target.report()
    assert report is not None and not report.hung and not report.crashed, report.describe()
    assert failure is None, f"{failure}\n{report.describe()}"
    assert received(ctx, FIRST_REQUEST[mode])
    if mode == "shell":
        assert received(ctx, m.ChannelRequestPty), "shell mode asks for a pty"
        assert report.tty and OUTPUT.decode().strip() in report.stderr, report.describe()
    if mode == "sftp":
        assert received(ctx, m.ChannelRequestSubsystem)[0].subsystem == "sftp"
    if mode == "forward":
        opened = received(ctx, m.ChannelOpenDirectTcpip)[0]
        assert (opened.address, opened.port) == ("127.0.0.1", 9)


# -- how a run ends ---------------------------------------------------------------------------

_CRASHER = """
import os, signal, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SSH-2.0-crasher\\r\\n")
s.recv(256)
print("about to crash", file=sys.stderr, flush=True)
os.kill(os.getpid(), signal.SIGSEGV)
"""
_HANGER = """
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SSH-2.0-hanger\\r\\n")
time.sleep(3600)
"""


def test_a_crashing_client_is_reported_as_crashed_with_its_signal() -> None:
    failure, target, _ = run_client("paramiko-client", [Connect(), ExpectClose(timeout=10.0)],
                                    command_line=lambda port: [sys.executable, "-c", _CRASHER, str(port)])  # fmt: skip
    report = target.report()
    assert failure is None  # our server saw the connection close
    assert report is not None
    assert (report.signal, report.crashed, report.hung, report.returncode) == ("SIGSEGV", "SIGSEGV", False, None)
    assert report.outcome() == "peer crashed (SIGSEGV)"
    assert "about to crash" in report.stderr
    assert report.seconds < 10


def test_the_outcome_model_shows_the_crash() -> None:
    """Through the engine's run_one and the plugin's crash probe: the cell's outcome names the signal."""
    from harness.scenario import SERVER, Handshake, Scenario
    from harness.scenario.execute import run_one
    from harness.scenario.peers import ClientTarget, client_peer_info
    from harness.scenario.pytest_plugin import _crash_probe

    info = client_peer_info("paramiko-client")
    target = ClientTarget(info, command_line=lambda port: [sys.executable, "-c", _CRASHER, str(port)])
    result = run_one(Scenario(role=SERVER, steps=[Handshake()]), "test/crash", {}, info, 1, None, target,
                     crash=_crash_probe(None, target))  # fmt: skip
    assert result.outcome == "peer crashed (SIGSEGV)", (result.outcome, result.message)


def test_a_client_that_does_not_exit_is_killed_and_reported_hung() -> None:
    failure, target, _ = run_client("paramiko-client", [Connect()], exit_bound=1.0,
                                    command_line=lambda port: [sys.executable, "-c", _HANGER, str(port)])  # fmt: skip
    report = target.report()
    assert failure is None and report is not None
    assert (report.hung, report.crashed, report.outcome()) == (True, None, "client hung (killed)")
    assert report.signal == "SIGKILL"


@pytest.mark.docker
@pytest.mark.parametrize(("script", "returncode", "signal"), [("kill -SEGV $$", None, "SIGSEGV"),
                                                               ("kill -ABRT $$", None, "SIGABRT"),
                                                               ("exit 139", 139, None)])  # fmt: skip
def test_container_clients_tell_a_signal_from_an_exit_status(tmp_path: Path, script: str, returncode: int | None,
                                                             signal: str | None) -> None:  # fmt: skip
    """`docker run` says 139 for both; the wrapper in the container knows which it was."""
    out = tmp_path / "out"
    out.mkdir()
    argv = docker_run_argv("openssh-client-9.2", ["-c", script], tmp_path, binary="/bin/sh", out_dir=out)
    report = ClientProcess("openssh-client-9.2", argv, status_file=out / "status").finish(60.0)
    assert (report.returncode, report.signal, report.crashed) == (returncode, signal, signal)


def test_a_sanitizer_report_counts_as_a_crash(tmp_path: Path) -> None:
    text = "==42==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011"
    report = ClientProcess("x", [sys.executable, "-c", f"import sys; print({text!r}, file=sys.stderr); sys.exit(1)"]
                           ).finish(30.0)  # fmt: skip
    assert report.returncode == 1 and report.sanitizer == text
    assert report.outcome() == "peer crashed (AddressSanitizer: heap-buffer-overflow)"


# -- terminal injection -----------------------------------------------------------------------


def test_raw_marker_in_the_output_is_found() -> None:
    banner = f"Welcome {INJECT_MARKER} to the host\r\n"
    found = find_injections([("banner", banner)], f"some output\n{banner}more")
    assert [(i.source, i.control) for i in found] == [("banner", "ESC"), ("banner", "BEL")]


def test_escaped_or_dropped_control_characters_are_clean() -> None:
    banner = f"Welcome {INJECT_MARKER} to the host"
    escaped = "Welcome ^[]0;HARNESS-INJECT^G to the host"
    visible = "Welcome \\033]0;HARNESS-INJECT\\007 to the host"
    dropped = "Welcome ]0;HARNESS-INJECT to the host"
    assert find_injections([("banner", banner)], "\n".join([escaped, visible, dropped])) == []


def test_lone_cr_counts_and_cr_lf_does_not() -> None:
    text = "line one\r\nfake prompt\roverwritten"
    found = find_injections([("disconnect", text)], text.replace("\r\n", "\n"))  # a pty prints CR LF as well
    assert [(i.control, i.offset) for i in found] == [("CR", text.index("\ro"))]


def test_c1_controls_count() -> None:
    text = "csi\x9b31mred"
    assert [i.control for i in find_injections([("exit-signal", text)], f"x {text} y")] == ["CSI (C1)"]
    assert find_injections([("exit-signal", text)], "x csi31mred y") == []


def test_control_strings_of_what_our_server_sends() -> None:
    disconnect = m.Disconnect(reason=2, description=f"bye{INJECT_MARKER}", language="").encode()
    banner = m.UserauthBanner(message="hello\x07", language="").encode()
    exit_signal = m.ChannelRequestExitSignal(recipient=0, want_reply=False, signal="SEGV", core_dumped=False,
                                             message="boom\x1b[2J", language="").encode()  # fmt: skip
    assert control_strings(disconnect) == [("disconnect", f"bye{INJECT_MARKER}")]
    assert control_strings(banner) == [("banner", "hello\x07")]
    assert control_strings(exit_signal) == [("exit-signal", "boom\x1b[2J")]
    assert control_strings(m.Ignore(data=b"x").encode()) == []


def test_aliases_name_the_packaged_peers() -> None:
    from harness.peers.base import PeerError
    from harness.peers.client_peers import plink_version, resolve

    assert resolve("openssh-client").peer_id == "openssh-client-9.2"
    assert resolve("dbclient").peer_id == "dbclient-2022.83"
    assert resolve("plink").peer_id == resolve(f"plink-{plink_version()}").peer_id == "plink-0.78"
    assert not resolve("plink").container and resolve("plink-0.78-asan").sanitizer
    assert resolve("paramiko-client").interpreter == sys.executable
    assert resolve("asyncssh-client-debian").interpreter == "/usr/bin/python3"
    with pytest.raises(PeerError, match=r"unknown client peer 'ssh-9\.2'"):
        resolve("ssh-9.2")


def test_report_serialises_for_results_json() -> None:
    import json

    report = ClientProcess("x", [sys.executable, "-c", "print('\\x1b]0;HARNESS-INJECT\\x07')"]).finish(30.0)
    report.injections = find_injections([("banner", INJECT_MARKER)], report.stdout)
    data = json.loads(json.dumps(report.to_json()))
    assert (data["returncode"], data["crashed"], data["outcome"]) == (0, None, "client exited 0")
    assert [i["control"] for i in data["injections"]] == ["ESC", "BEL"]


@pytest.mark.docker
def test_a_hung_container_client_is_killed_with_its_container(tmp_path: Path) -> None:
    import os
    import subprocess

    from harness.peers.clients import docker_cli

    name = f"harness-client-test-{os.getpid()}"
    argv = docker_run_argv("dbclient-2022.83", ["-c", "sleep 3600"], tmp_path, binary="/bin/sh", name=name,
                           out_dir=tmp_path)  # fmt: skip
    process = ClientProcess("dbclient-2022.83", argv, status_file=tmp_path / "status",
                            kill_argv=[docker_cli(), "kill", name])  # fmt: skip
    report = process.finish(2.0)
    assert report.hung and not report.crashed
    left = subprocess.run([docker_cli(), "ps", "-q", "--filter", f"name={name}"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert left.stdout.strip() == ""
