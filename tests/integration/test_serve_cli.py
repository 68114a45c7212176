"""`harness serve` as people run it: the real command line, real clients, what it logs and keeps.

The library-level server is tested by every client in test_server_interop.py and
test_container_clients.py; this checks the command's own wiring (arguments reach the server,
the address and known_hosts lines are printed, SIGTERM stops it), its host keys across
restarts, its log lines (with whatever the client chose escaped), and whom commands run as.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import Transport
from harness.ssh.errors import AuthenticationException
from tests.integration.serve_process import ROOT, ServeProcess, serve_cli

USER, PASSWORD = "cli-user", "cli-Test-pw-1"


def run(server: ServeProcess, user: str, password: str, command: str, env: dict[str, str] | None = None) -> str:
    """Log in with our client, run ``command``, return its stdout (exit status must be 0)."""
    t = Transport((server.host, server.port))
    try:
        t.connect(username=user, password=password)  # host key: checked in the restart test
        chan = t.open_session()
        if env:
            chan.update_environment(env)
        chan.exec_command(command)
        out = b""
        while chunk := chan.recv(65536):
            out += chunk
        assert chan.recv_exit_status() == 0, out
        return out.decode()
    finally:
        t.close()


def test_serve_rekeys_on_its_own_after_rekey_bytes(tmp_path: Path) -> None:
    with serve_cli(tmp_path, "--user", USER, "--password", PASSWORD, "--cwd", str(tmp_path),
                   "--rekey-bytes", str(1 << 20)) as server:  # fmt: skip
        t = Transport((server.host, server.port))
        try:
            t.connect(username=USER, password=PASSWORD)
            chan = t.open_session()
            chan.exec_command("head -c 4000000 /dev/zero")
            received = 0
            while chunk := chan.recv(65536):
                assert chunk.count(0) == len(chunk)
                received += len(chunk)
            assert received == 4_000_000
            assert chan.recv_exit_status() == 0
            # 4 MB through a server that re-keys every MiB: it started at least three re-exchanges.
            assert t.key_exchanges >= 4, t.key_exchanges
        finally:
            t.close()
    assert server.proc.returncode == 0  # SIGTERM stops it cleanly


def test_serve_refuses_a_bad_rekey_bytes_value() -> None:
    r = subprocess.run([sys.executable, "-m", "harness", "serve", "--password", "x", "--rekey-bytes", "-5"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "--rekey-bytes: must be above zero" in r.stderr


def test_host_keys_survive_a_restart_and_ssh_trusts_the_printed_lines(tmp_path: Path) -> None:
    from harness.peers.base import client_keys

    key = client_keys()["ed25519"]
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    args = ("--user", "root", "--authorized-keys", str(authorized))
    state = tmp_path / "state"
    with serve_cli(tmp_path, *args, state_dir=state) as first:
        first_lines = first.known_hosts_lines()
    assert sorted(p.name for p in state.iterdir() if not p.name.endswith(".pub")) == [
        "ssh_host_ecdsa384_key", "ssh_host_ecdsa521_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key",
        "ssh_host_rsa_key"]  # fmt: skip
    assert {p.stat().st_mode & 0o777 for p in state.iterdir() if not p.name.endswith(".pub")} == {0o600}
    assert state.stat().st_mode & 0o777 == 0o700
    with serve_cli(tmp_path, *args, state_dir=state) as second:
        second_lines = second.known_hosts_lines()
        assert "generated" not in second.log()  # loaded, not made again
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text("\n".join(second_lines) + "\n")
        for algorithm in ("ssh-ed25519", "ecdsa-sha2-nistp384", "rsa-sha2-512"):
            r = subprocess.run(["ssh", "-F", "/dev/null", "-p", str(second.port), "-i", str(key), "-o",
                                "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                                "-o", f"UserKnownHostsFile={known_hosts}", "-o", f"HostKeyAlgorithms={algorithm}",
                                f"root@{second.host}", "echo trusted"],
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
            assert r.stdout == "trusted\n", (algorithm, r.stderr)
    strip_port = [re.sub(r"^\[127\.0\.0\.1\]:\d+ ", "", line) for line in (*first_lines, *second_lines)]
    assert len(first_lines) == 5 and strip_port[:5] == strip_port[5:], (first_lines, second_lines)


def test_log_lines_name_connections_logins_channels_and_escape_what_the_client_chose(tmp_path: Path) -> None:
    with serve_cli(tmp_path, "--user", USER, "--password", PASSWORD, "--cwd", str(tmp_path)) as server:
        forged = "mallory\n2026-01-01 00:00:00,000 INFO auth accepted: password for 'root'\x1b[2J"
        t = Transport((server.host, server.port))
        try:
            with pytest.raises(AuthenticationException):
                t.connect(username=forged, password="wrong")
        finally:
            t.close()
        out = run(server, USER, PASSWORD, "printf '%s' \"$GREETING\"; : '\x1b]0;title\x07'",
                  env={"GREETING": "hi\nthere\x1b[31m"})  # fmt: skip
        assert out == "hi\nthere\x1b[31m"  # the program got the bytes; only the log escapes them
        server.wait_for_log(r"disconnected: (.*\n)+.* disconnected: ")  # both connections' last lines
    log = server.log()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", log), "a control character reached the log"
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith("2026-01-01")], "a forged log line"
    assert re.search(r"INFO auth failed: password for 'mallory\\n2026-01-01 .*\\x1b\[2J' from 127\.0\.0\.1:\d+$",
                     log, re.M), log  # fmt: skip
    assert re.search(r"INFO connection from 127\.0\.0\.1:\d+, client SSH-2\.0-harness\S*: kex \S+, host key \S+, "
                     r"cipher \S+, mac \S+$", log, re.M), log  # fmt: skip
    assert re.search(rf"INFO auth accepted: password for '{USER}' from 127\.0\.0\.1:\d+$", log, re.M), log
    assert re.search(r"INFO 127\.0\.0\.1:\d+: channel 0 \(session\) opened$", log, re.M), log
    assert re.search(r"INFO 127\.0\.0\.1:\d+: channel 0: exec .*\\x1b\]0;title\\x07", log, re.M), log
    assert len(re.findall(r"INFO 127\.0\.0\.1:\d+ disconnected: ", log)) == 2, log
    assert "Traceback" not in log


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("run as root (as `make test` does): the server switches users only when started as root")


def test_as_root_commands_run_as_the_user_who_logged_in(tmp_path: Path) -> None:
    _require_root()
    nobody = pwd.getpwnam("nobody")
    with serve_cli(tmp_path, "--user", "nobody", "--password", PASSWORD) as server:
        out = run(server, "nobody", PASSWORD, 'id -u; id -g; echo "$HOME $USER $LOGNAME $SHELL"; pwd')
    expected_cwd = nobody.pw_dir if os.path.isdir(nobody.pw_dir) else "/"
    assert out.splitlines() == [str(nobody.pw_uid), str(nobody.pw_gid),
                             f"{nobody.pw_dir} nobody nobody {nobody.pw_shell}", expected_cwd]  # fmt: skip
    assert "WARNING" not in server.log()


def test_an_unknown_account_runs_as_root_with_one_warning(tmp_path: Path) -> None:
    _require_root()
    user = "no-such-account-7f3a"
    with serve_cli(tmp_path, "--user", user, "--password", PASSWORD, "--cwd", str(tmp_path)) as server:
        assert run(server, user, PASSWORD, "id -u") == "0\n"
        assert run(server, user, PASSWORD, "id -u") == "0\n"
    warnings = [line for line in server.log().splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and f"no local account '{user}': its commands run as root" in warnings[0], warnings


def test_a_pty_session_gets_its_terminal_as_controlling_terminal(tmp_path: Path) -> None:
    with serve_cli(tmp_path, "--user", USER, "--password", PASSWORD, "--cwd", str(tmp_path)) as server:
        t = Transport((server.host, server.port))
        try:
            t.connect(username=USER, password=PASSWORD)
            chan = t.open_session()
            chan.get_pty()
            # Field 7 of /proc/PID/stat is the controlling terminal's device number (0: none).
            chan.exec_command("cut -d' ' -f7 /proc/$$/stat; tty")
            out = b""
            while chunk := chan.recv(65536):
                out += chunk
            assert chan.recv_exit_status() == 0, out
        finally:
            t.close()
    tty_field, device = out.decode().split()
    assert device.startswith("/dev/pts/"), out
    # proc(5): major in bits 8-15, minor in bits 0-7 and 20-31. Unix98 ptys have majors 136-143.
    tty_nr = int(tty_field)
    major, minor = (tty_nr >> 8) & 0xFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    assert 136 <= major <= 143 and (major - 136) * 256 + minor == int(device.removeprefix("/dev/pts/")), out
