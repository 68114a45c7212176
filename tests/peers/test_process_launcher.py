"""The local-process launcher brings up sshd and dropbear that real clients can use.

Why real clients (OpenSSH's ssh, Dropbear's dbclient, sshpass, paramiko): they prove that the
launcher's setup (host keys, known_hosts, authorized_keys, the private home, the test user's
password) is right independently of the harness's own SSH stack, so a later failure of our
client against these peers is our client's bug, not the launcher's.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.peers import (
    CLIENT_KEY_PASSPHRASE,
    PeerInfo,
    PeerStartError,
    ProbeError,
    ProcessServer,
    read_server_kexinit,
    start_dropbear_server,
    start_openssh_server,
)
from harness.peers.process import SSH, openssh_config, processes_in_namespace
from harness.ssh.wire.codec import Writer

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(os.geteuid() != 0, reason="starting sshd/dropbear with a private home needs root"),
]

# Every client command finishes in well under a second on loopback; the bound catches hangs.
CLIENT_TIMEOUT = 20.0
KEY_NAMES = ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem", "ed25519-encrypted")


@pytest.fixture(scope="module")
def openssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    with start_openssh_server(tmp_path_factory.mktemp("openssh")) as server:
        yield server


@pytest.fixture(scope="module")
def dropbear(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    with start_dropbear_server(tmp_path_factory.mktemp("dropbear")) as server:
        yield server


@pytest.fixture(params=["openssh", "dropbear"])
def server(request: pytest.FixtureRequest) -> ProcessServer:
    return request.getfixturevalue(request.param)


def client_options(info: PeerInfo) -> list[str]:
    """OpenSSH client options that trust only ``info.known_hosts`` and ignore root's own config."""
    return [
        "-F", "/dev/null",
        "-o", f"UserKnownHostsFile={info.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10",
    ]  # fmt: skip


def ssh_argv(info: PeerInfo, *options: str, command: str = "echo hi") -> list[str]:
    return [SSH, *client_options(info), *options, "-p", str(info.port), f"{info.username}@{info.host}", command]


def run_client(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # A new session has no controlling tty, so no client can block on a prompt from /dev/tty.
    return subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL,
                          env=env, start_new_session=True, check=False)


def key_login(info: PeerInfo, key_name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    key = info.client_keys[key_name]
    options = ["-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey", "-i", str(key)]
    env = dict(os.environ)
    if key_name == "ed25519-encrypted":
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{CLIENT_KEY_PASSPHRASE}'\n")
        askpass.chmod(0o700)
        env |= {"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    else:
        options += ["-o", "BatchMode=yes"]
    return run_client(ssh_argv(info, *options), env)


# --- what the launcher reports ---------------------------------------------------------------


def test_banner_version_and_peer_id(server: ProcessServer) -> None:
    info = server.info
    assert info.banner.startswith("SSH-2.0-")
    assert info.host == "127.0.0.1" and info.port > 0 and info.username == "sshharness"
    assert info.version in info.banner
    assert info.peer_id.startswith(f"{info.product}-")
    # The version read from the banner agrees with what the binary itself says.
    if info.product == "openssh":
        out = subprocess.run([SSH, "-V"], capture_output=True, text=True, timeout=10).stderr
        assert f"OpenSSH_{info.version}" in out
        major_minor = re.match(r"\d+\.\d+", info.version)
        assert major_minor is not None and info.peer_id == f"openssh-{major_minor.group(0)}"
    else:
        assert info.product == "dropbear"
        out = subprocess.run([info.extra["binary"], "-V"], capture_output=True, text=True, timeout=10).stderr
        assert f"v{info.version}" in out
        assert info.peer_id == f"dropbear-{info.version}"


def test_algorithms_are_probed_from_the_server(server: ProcessServer) -> None:
    algs = server.info.algorithms
    for field in ("kex", "host_key", "cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c",
                  "compression_c2s", "compression_s2c"):
        assert algs[field], field
    assert "curve25519-sha256" in algs["kex"]
    assert "ssh-ed25519" in algs["host_key"]
    assert algs["banner"] == (server.info.banner,)
    if server.info.product == "openssh":
        # Everything the build supports is enabled: offered == supported (+ protocol markers).
        markers = {"kex-strict-s-v00@openssh.com", "ext-info-s"}
        assert set(algs["kex"]) - markers == set(algs["supported_kex"])
        assert set(algs["cipher_c2s"]) == set(algs["supported_cipher"])
        assert set(algs["mac_s2c"]) == set(algs["supported_mac"])
        assert {"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512"} <= set(algs["host_key"])
        assert "zlib@openssh.com" in algs["compression_c2s"]


def test_known_hosts_has_every_host_key(server: ProcessServer) -> None:
    info = server.info
    lines = info.known_hosts.read_text().splitlines()
    assert len(lines) == len(info.host_public_keys) >= 4
    assert all(line.startswith(f"[127.0.0.1]:{info.port} ") for line in lines)
    key_types = {line.split()[1] for line in lines}
    for alg in info.algorithms["host_key"]:
        assert (alg if not alg.startswith("rsa-sha2-") else "ssh-rsa") in key_types, alg


def test_client_keys_are_complete() -> None:
    from harness.peers import client_keys

    keys = client_keys()
    assert set(KEY_NAMES) <= set(keys)
    assert keys["rsa-pem"].read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keys["ed25519"].read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert client_keys() == keys  # cached, not regenerated
    ok = subprocess.run(["ssh-keygen", "-y", "-P", CLIENT_KEY_PASSPHRASE, "-f", str(keys["ed25519-encrypted"])],
                        capture_output=True, text=True, timeout=10)
    bad = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(keys["ed25519-encrypted"])],
                         capture_output=True, text=True, timeout=10)
    assert ok.returncode == 0 and bad.returncode != 0


# --- real clients log in ---------------------------------------------------------------------


@pytest.mark.parametrize("key_name", KEY_NAMES)
def test_openssh_client_logs_in_with_each_key(server: ProcessServer, key_name: str, tmp_path: Path) -> None:
    result = key_login(server.info, key_name, tmp_path)
    assert result.returncode == 0 and result.stdout == "hi\n", result.stderr + server.logs()[-2000:]


def test_every_offered_host_key_verifies_against_known_hosts(server: ProcessServer) -> None:
    info = server.info
    for alg in info.algorithms["host_key"]:
        result = run_client(ssh_argv(info, "-o", f"HostKeyAlgorithms={alg}", "-o", "BatchMode=yes",
                                     "-o", "IdentitiesOnly=yes", "-i", str(info.client_keys["ed25519"])))
        assert result.returncode == 0 and result.stdout == "hi\n", (alg, result.stderr)


def test_unknown_host_key_is_refused(openssh: ProcessServer) -> None:
    """The known_hosts check in the tests above is not vacuous."""
    info = openssh.info
    argv = ssh_argv(info, "-o", "BatchMode=yes", "-i", str(info.client_keys["ed25519"]))
    argv[argv.index(f"UserKnownHostsFile={info.known_hosts}")] = "UserKnownHostsFile=/dev/null"
    result = run_client(argv)
    assert result.returncode != 0 and "Host key verification failed" in result.stderr


@pytest.mark.skipif(shutil.which("dbclient") is None or shutil.which("dropbearconvert") is None,
                    reason="dropbear-bin client tools not installed")
def test_dbclient_logs_in_to_dropbear(dropbear: ProcessServer, tmp_path: Path) -> None:
    info = dropbear.info
    # dbclient keeps ~/.ssh/known_hosts keyed by host name only; a private HOME keeps root's untouched.
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text(
        info.known_hosts.read_text().replace(f"[127.0.0.1]:{info.port}", "127.0.0.1"))
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name in ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem"):
        converted = tmp_path / f"db_{name}"
        subprocess.run(["dropbearconvert", "openssh", "dropbear", str(info.client_keys[name]), str(converted)],
                       capture_output=True, timeout=10, check=True)
        result = run_client(["dbclient", "-i", str(converted), "-p", str(info.port),
                             f"{info.username}@127.0.0.1", "echo hi"], env)
        assert result.returncode == 0 and result.stdout == "hi\n", (name, result.stderr)


@pytest.mark.skipif(shutil.which("sshpass") is None, reason="sshpass not installed (apt-get install sshpass)")
def test_password_logins_with_sshpass(server: ProcessServer) -> None:
    info = server.info
    methods = ["password"] + (["keyboard-interactive"] if info.product == "openssh" else [])
    for method in methods:
        argv = ["sshpass", "-p", info.password,
                *ssh_argv(info, "-o", f"PreferredAuthentications={method}", "-o", "PubkeyAuthentication=no")]
        result = run_client(argv)
        assert result.returncode == 0 and result.stdout == "hi\n", (method, result.stderr)


def test_password_and_keyboard_interactive_with_paramiko(server: ProcessServer) -> None:
    paramiko = pytest.importorskip("paramiko")
    info = server.info

    def attempt(method: str) -> bool:
        transport = paramiko.Transport(socket.create_connection(info.address, timeout=10))
        try:
            transport.start_client(timeout=10)
            if method == "password":
                transport.auth_password(info.username, info.password)
            else:
                transport.auth_interactive(info.username, lambda _t, _i, prompts: [info.password for _ in prompts])
            return bool(transport.is_authenticated())
        except paramiko.BadAuthenticationType:
            return False
        finally:
            transport.close()

    assert attempt("password")
    # Dropbear's server implements no keyboard-interactive at all.
    assert attempt("keyboard-interactive") is (info.product == "openssh")


def test_home_is_private_per_run(server: ProcessServer, tmp_path: Path) -> None:
    info = server.info
    assert info.home is not None
    marker = f"marker-{info.product}-{info.port}"
    result = run_client(ssh_argv(info, "-o", "BatchMode=yes", "-i", str(info.client_keys["ed25519"]),
                                 command=f"touch {marker} && pwd"))
    assert result.returncode == 0 and result.stdout == "/home/sshharness\n", result.stderr
    assert (info.home / marker).exists()
    assert not Path("/home/sshharness", marker).exists()


def test_sftp_subsystem_works_in_the_private_home(server: ProcessServer) -> None:
    info = server.info
    assert info.home is not None
    argv = ["sftp", *client_options(info), "-o", "BatchMode=yes", "-i", str(info.client_keys["ed25519"]),
            "-P", str(info.port), "-b", "-", f"{info.username}@{info.host}"]
    result = subprocess.run(argv, input="mkdir up\nput /etc/hostname up/h\nls up\n", capture_output=True,
                            text=True, timeout=CLIENT_TIMEOUT, start_new_session=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (info.home / "up" / "h").read_bytes() == Path("/etc/hostname").read_bytes()


def test_logs_capture_the_server_output(server: ProcessServer, tmp_path: Path) -> None:
    assert key_login(server.info, "ed25519", tmp_path).returncode == 0
    expected = "Accepted publickey for sshharness" if server.info.product == "openssh" else (
        "Pubkey auth succeeded for 'sshharness'")
    assert expected in server.logs()
    assert expected in server.info.log_path.read_text()


def test_sshd_config_overrides() -> None:
    supported = {k: ("a", "b-cert-v01@openssh.com", "sk-c") for k in (
        "supported_kex", "supported_cipher", "supported_mac", "supported_host_key", "supported_pubkey")}
    text = openssh_config(2222, [Path("/k1"), Path("/k2")], Path("/pid"), supported,
                          {"usepam": "no", "Ciphers": None, "AcceptEnv": ["LANG", "LC_*"]})
    lines = text.splitlines()
    assert "HostKey /k1" in lines and "HostKey /k2" in lines and "ListenAddress 127.0.0.1:2222" in lines
    assert "usepam no" in lines and not any(line.startswith("UsePAM") for line in lines)
    assert not any(line.startswith("Ciphers") for line in lines)
    assert "AcceptEnv LANG" in lines and "AcceptEnv LC_*" in lines
    assert "KexAlgorithms a" in lines  # certificate and security-key algorithms filtered out
    with pytest.raises(ValueError):
        openssh_config(2222, [], Path("/pid"), supported, {"Match": "User x"})


def test_extra_config_reaches_sshd_and_kbdint_needs_pam(tmp_path: Path) -> None:
    """With UsePAM no, sshd 9.2 still advertises keyboard-interactive but has no back end for it."""
    paramiko = pytest.importorskip("paramiko")
    with start_openssh_server(tmp_path, extra_config={"Ciphers": "aes128-ctr", "UsePAM": "no"}) as server:
        info = server.info
        assert info.algorithms["cipher_c2s"] == ("aes128-ctr",)
        transport = paramiko.Transport(socket.create_connection(info.address, timeout=10))
        try:
            transport.start_client(timeout=10)
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_interactive(info.username, lambda _t, _i, prompts: [info.password for _ in prompts])
            transport.auth_password(info.username, info.password)
            assert transport.is_authenticated()
        finally:
            transport.close()


# --- lifecycle -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [start_openssh_server, start_dropbear_server], ids=["openssh", "dropbear"])
def test_stop_leaves_no_process(start: Callable[[Path | None], ProcessServer]) -> None:
    server = start(None)
    info = server.info
    namespace = server.pid_namespace
    assert namespace and namespace != os.readlink("/proc/self/ns/pid")
    # An open session: the server forks per-connection children that outlive their parent.
    client = subprocess.Popen(ssh_argv(info, "-o", "BatchMode=yes", "-i", str(info.client_keys["ed25519"]),
                                       command="echo up; sleep 60"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, start_new_session=True)
    try:
        assert client.stdout is not None and client.stdout.readline() == "up\n"
        assert len(processes_in_namespace(namespace)) >= 2  # listener + connection handler(s) + shell
        server.stop()
        assert not server.running
        assert processes_in_namespace(namespace) == []
        assert client.wait(timeout=CLIENT_TIMEOUT) != 0  # the session died with the server
        with pytest.raises(ProbeError):
            read_server_kexinit(info.host, info.port, 1.0)
        server.stop()  # idempotent
        assert not info.workdir.exists()  # temp workdir removed ...
        assert server.logs()  # ... but the log stays readable
    finally:
        client.kill()
        client.wait(timeout=CLIENT_TIMEOUT)
        server.stop()


def test_start_failure_reports_the_log_tail(tmp_path: Path) -> None:
    with pytest.raises(PeerStartError, match="Bad SSH2 cipher spec"):
        start_openssh_server(tmp_path, extra_config={"Ciphers": "no-such-cipher"}, timeout=5.0)


# --- the probe against scripted servers ------------------------------------------------------


def _kexinit_payload() -> bytes:
    w = Writer().byte(20).raw(bytes(16))
    for names in (["curve25519-sha256"], ["ssh-ed25519"], ["aes128-ctr"], ["aes128-ctr"], ["hmac-sha2-256"],
                  ["hmac-sha2-256"], ["none"], ["none"], [], []):
        w.name_list(names)
    return w.boolean(False).uint32(0).getvalue()


def _serve_once(data: bytes) -> tuple[int, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def run() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(data)
                conn.settimeout(2)
                try:
                    conn.recv(100)
                except OSError:
                    pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def _packet(payload: bytes, padding: int = 4) -> bytes:
    return (len(payload) + padding + 1).to_bytes(4, "big") + bytes([padding]) + payload + bytes(padding)


def test_probe_reads_prebanner_lines_and_kexinit() -> None:
    port, thread = _serve_once(b"hello\r\nworld\r\nSSH-2.0-Fake_1.0 x\r\n" + _packet(_kexinit_payload()))
    result = read_server_kexinit("127.0.0.1", port, 5.0)
    thread.join(5)
    assert result["banner"] == ("SSH-2.0-Fake_1.0 x",)
    assert result["kex"] == ("curve25519-sha256",) and result["languages_c2s"] == ()


@pytest.mark.parametrize("tail", [
    (40000).to_bytes(4, "big"),                                  # packet_length over the bound
    _packet(b"\x15" + bytes(20)),                                # not a KEXINIT
    _packet(_kexinit_payload() + b"\x00"),                       # trailing byte after reserved
], ids=["too-long", "not-kexinit", "trailing"])  # fmt: skip
def test_probe_rejects_bad_first_packets(tail: bytes) -> None:
    port, thread = _serve_once(b"SSH-2.0-Fake_1.0\r\n" + tail)
    with pytest.raises(ProbeError):
        read_server_kexinit("127.0.0.1", port, 3.0)
    thread.join(5)
