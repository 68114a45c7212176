"""Our server (harness serve's engine) driven by real clients.

Clients: OpenSSH `ssh`/`sftp` (9.2, local), Dropbear `dbclient` (2022.83), PuTTY `plink`,
paramiko and AsyncSSH. Each negotiates every algorithm it supports that we offer, logs in by
password and with each key type, runs a command, and uses the sftp subsystem; the bulk test moves
64 MiB each way with a checksum across a rekey. A client binary that is missing is a failure
(scripts/setup.sh installs them), never a skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.crypto_names import ALGORITHM_CATEGORIES
from harness.peers.base import client_keys
from harness.serve import Listener, ServeConfig
from harness.ssh.keys import ECDSAKey, Ed25519Key, RSAKey, load_public_key_file

pytestmark = pytest.mark.peer

USER, PASSWORD = "tester", "s3rver-pw"
TIMEOUT = 60
KEY_NAMES = ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"]


@dataclass
class OurServer:
    host: str
    port: int
    known_hosts: Path
    workdir: Path
    keys: list


@pytest.fixture(scope="module")
def our_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OurServer]:
    work = tmp_path_factory.mktemp("our-server")
    host_keys = [Ed25519Key.generate(), ECDSAKey.generate(256), ECDSAKey.generate(384), ECDSAKey.generate(521),
                 RSAKey.generate(2048)]  # fmt: skip
    authorized = [load_public_key_file(str(p) + ".pub") for p in client_keys().values()]
    config = ServeConfig(username=USER, password=PASSWORD, authorized_keys=authorized, cwd=str(work),
                         all_algorithms=True)  # fmt: skip
    with Listener(host_keys, config) as listener:
        host, port = listener.address
        known = work / "known_hosts"
        known.write_text("".join(f"[{host}]:{port} {k.get_name()} {k.get_base64()}\n" for k in host_keys))
        yield OurServer(host, port, known, work, host_keys)


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: run `make setup` (scripts/setup.sh installs it)")
    return path


def _ssh_argv(s: OurServer, *options: str, key: str | None = None) -> list[str]:
    # ssh keeps the first value of an option: the caller's options go first.
    argv = [_need("ssh"), *options, "-p", str(s.port), "-o", f"UserKnownHostsFile={s.known_hosts}", "-o",
            "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]  # fmt: skip
    if key:
        argv += ["-i", str(client_keys()[key]), "-o", "IdentitiesOnly=yes"]
    return [*argv, f"{USER}@{s.host}"]


def _ssh_q(what: str) -> list[str]:
    return subprocess.run([_need("ssh"), "-Q", what], capture_output=True, text=True, check=True).stdout.split()


_SSH_OPTION = {"kex": "KexAlgorithms", "key_types": "HostKeyAlgorithms", "ciphers": "Ciphers", "digests": "MACs"}
_SSH_QUERY = {"kex": "kex", "key_types": "key", "ciphers": "cipher", "digests": "mac"}
OPENSSH_CASES = [
    (cat, alg)
    for cat, q in _SSH_QUERY.items()
    for alg in ALGORITHM_CATEGORIES[cat]
    if alg in _ssh_q(q) and alg != "ssh-dss"
]


@pytest.mark.parametrize(("category", "algorithm"), OPENSSH_CASES, ids=[f"{c}:{a}" for c, a in OPENSSH_CASES])
def test_openssh_client_algorithm(our_server: OurServer, category: str, algorithm: str) -> None:
    options = ["-o", f"{_SSH_OPTION[category]}={algorithm}"]
    if category == "digests":
        options += ["-o", "Ciphers=aes128-ctr"]
    r = subprocess.run([*_ssh_argv(our_server, *options, "-v", key="ed25519"), "printf hi; printf oops >&2; exit 3"],
                       capture_output=True, timeout=TIMEOUT)  # fmt: skip
    assert (r.returncode, r.stdout) == (3, b"hi"), r.stderr.decode()[-2000:]
    assert b"oops" in r.stderr
    assert algorithm.encode() in r.stderr  # ssh -v names the negotiated algorithms


def test_openssh_client_compression(our_server: OurServer) -> None:
    r = subprocess.run([*_ssh_argv(our_server, "-C", "-v", key="ed25519"), "head -c 100000 /dev/zero"],
                       capture_output=True, timeout=TIMEOUT)  # fmt: skip
    assert r.returncode == 0 and r.stdout == bytes(100000)
    assert b"zlib@openssh.com" in r.stderr


@pytest.mark.parametrize("key", KEY_NAMES)
def test_openssh_client_publickey(our_server: OurServer, key: str) -> None:
    r = subprocess.run([*_ssh_argv(our_server, key=key), "echo $USER"], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{USER}\n".encode()


def test_openssh_client_password_and_interactive(our_server: OurServer) -> None:
    sshpass = _need("sshpass")
    for method in ("password", "keyboard-interactive"):
        ssh = _ssh_argv(our_server, "-o", "BatchMode=no", "-o", f"PreferredAuthentications={method}")
        argv = [sshpass, "-p", PASSWORD, *ssh]
        r = subprocess.run([*argv, "echo ok"], capture_output=True, timeout=TIMEOUT)
        assert (r.returncode, r.stdout) == (0, b"ok\n"), (method, r.stderr)


def test_openssh_client_bulk_across_rekey(our_server: OurServer) -> None:
    """64 MiB through `cat` each way, ssh rekeying every 16 MiB, checksummed."""
    data = os.urandom(1 << 20) * 64
    r = subprocess.run([*_ssh_argv(our_server, "-o", "RekeyLimit=16M", key="ed25519"), "cat"],
                       input=data, capture_output=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()


def test_openssh_sftp_subsystem(our_server: OurServer, tmp_path: Path) -> None:
    sftp = _need("sftp")
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(300000))
    batch = tmp_path / "batch"
    batch.write_text(f"put {src} uploaded.bin\nget uploaded.bin {tmp_path / 'down.bin'}\nls -l uploaded.bin\n")
    argv = [sftp, "-P", str(our_server.port), "-o", f"UserKnownHostsFile={our_server.known_hosts}", "-o",
            "StrictHostKeyChecking=yes", "-i", str(client_keys()["ed25519"]), "-b", str(batch),
            f"{USER}@{our_server.host}"]  # fmt: skip
    r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "down.bin").read_bytes() == src.read_bytes()
    assert (our_server.workdir / "uploaded.bin").read_bytes() == src.read_bytes()


def test_openssh_client_pty(our_server: OurServer) -> None:
    """ssh -tt without a local terminal asks for a 0x0 pty; we default that to 80x24."""
    r = subprocess.run([*_ssh_argv(our_server, "-tt", key="ed25519"), "stty size; tty"], capture_output=True,
                       timeout=TIMEOUT)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert b"24 80" in r.stdout and b"/dev/pts/" in r.stdout, r.stdout


def test_openssh_client_port_forwarding(our_server: OurServer, tmp_path: Path) -> None:
    """-L through direct-tcpip to a loopback echo service and -R with a port the server picks."""
    import socket
    import threading
    import time

    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen(4)
    echo_port = echo.getsockname()[1]

    def serve_echo() -> None:
        while True:
            try:
                conn, _ = echo.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data)

    threading.Thread(target=serve_echo, daemon=True).start()
    local = socket.socket()
    local.bind(("127.0.0.1", 0))
    lport = local.getsockname()[1]
    local.close()
    proc = subprocess.Popen(_ssh_argv(our_server, "-N", "-L", f"{lport}:127.0.0.1:{echo_port}", key="ed25519"),
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", lport), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            conn.sendall(b"through the tunnel")
            assert conn.recv(100) == b"through the tunnel"
    finally:
        proc.terminate()
        proc.wait(10)
        echo.close()


# -- Dropbear dbclient -----------------------------------------------------------------------------

def _dbclient_key(name: str, tmp: Path) -> Path:
    out = tmp / f"{name}.dropbear"
    if not out.exists():
        subprocess.run([_need("dropbearconvert"), "openssh", "dropbear", str(client_keys()[name]), str(out)],
                       check=True, capture_output=True)  # fmt: skip
    return out


def _dbclient(s: OurServer, tmp: Path, *options: str, command: str, key: str | None = "ed25519",
              env: dict[str, str] | None = None, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    # dbclient's known_hosts has no port syntax; give it our keys under the bare host name.
    (home / ".ssh" / "known_hosts").write_text(
        "".join(f"{s.host} {k.get_name()} {k.get_base64()}\n" for k in s.keys))
    argv = [_need("dbclient"), "-p", str(s.port), *options]
    if key:
        argv += ["-i", str(_dbclient_key(key, tmp))]
    argv += [f"{USER}@{s.host}", command]
    full_env = {"HOME": str(home), "PATH": os.environ["PATH"], **(env or {})}
    return subprocess.run(argv, capture_output=True, timeout=300, env=full_env, input=data)


DBCLIENT_CIPHERS = ["aes128-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com"]
DBCLIENT_MACS = ["hmac-sha1", "hmac-sha2-256"]


@pytest.mark.parametrize("cipher", DBCLIENT_CIPHERS)
@pytest.mark.parametrize("mac", DBCLIENT_MACS)
def test_dbclient_cipher_mac(our_server: OurServer, tmp_path: Path, cipher: str, mac: str) -> None:
    r = _dbclient(our_server, tmp_path, "-c", cipher, "-m", mac, command="printf hi; exit 5")
    assert (r.returncode, r.stdout) == (5, b"hi"), r.stderr


@pytest.mark.parametrize("key", ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"])
def test_dbclient_publickey(our_server: OurServer, tmp_path: Path, key: str) -> None:
    r = _dbclient(our_server, tmp_path, command="echo $USER", key=key)
    assert (r.returncode, r.stdout) == (0, f"{USER}\n".encode()), r.stderr


def test_dbclient_password_and_bulk(our_server: OurServer, tmp_path: Path) -> None:
    r = _dbclient(our_server, tmp_path, command="echo pw", key=None, env={"DROPBEAR_PASSWORD": PASSWORD})
    assert (r.returncode, r.stdout) == (0, b"pw\n"), r.stderr
    data = os.urandom(1 << 20) * 64
    r = _dbclient(our_server, tmp_path, command="cat", data=data)
    assert r.returncode == 0, r.stderr[-1000:]
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()


# -- PuTTY plink ----------------------------------------------------------------------------------

def _plink(s: OurServer, tmp: Path, *options: str, command: str, data: bytes | None = None
           ) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    hostkeys: list[str] = []
    for k in s.keys:
        hostkeys += ["-hostkey", k.fingerprint_sha256()]
    argv = [_need("plink"), "-ssh", "-batch", "-P", str(s.port), "-l", USER, *hostkeys, *options, s.host, command]
    env = {"HOME": str(tmp), "PATH": os.environ["PATH"]}
    return subprocess.run(argv, capture_output=True, timeout=300, env=env, input=data)


def test_plink_password_command_and_bulk(our_server: OurServer, tmp_path: Path) -> None:
    r = _plink(our_server, tmp_path, "-pw", PASSWORD, command="printf plink; exit 2")
    assert (r.returncode, r.stdout) == (2, b"plink"), r.stderr
    data = os.urandom(1 << 20) * 16
    r = _plink(our_server, tmp_path, "-pw", PASSWORD, command="cat", data=data)
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest(), r.stderr[-500:]


@pytest.mark.parametrize("key", ["ed25519", "ecdsa-256", "rsa"])
def test_plink_publickey(our_server: OurServer, tmp_path: Path, key: str) -> None:
    ppk = tmp_path / f"{key}.ppk"
    subprocess.run([_need("puttygen"), str(client_keys()[key]), "-O", "private", "-o", str(ppk)], check=True,
                   capture_output=True)  # fmt: skip
    r = _plink(our_server, tmp_path, "-i", str(ppk), command="echo key-ok")
    assert (r.returncode, r.stdout) == (0, b"key-ok\n"), r.stderr


# -- paramiko and AsyncSSH -------------------------------------------------------------------------

def _paramiko_algs() -> list[tuple[str, str]]:
    import paramiko

    t = paramiko.Transport
    ours = ALGORITHM_CATEGORIES
    cases = [("kex", a) for a in t._preferred_kex if a in ours["kex"]]
    cases += [("ciphers", a) for a in t._preferred_ciphers if a in ours["ciphers"]]
    cases += [("digests", a) for a in t._preferred_macs if a in ours["digests"]]
    cases += [("key_types", a) for a in t._preferred_keys if a in ours["key_types"] and a != "ssh-dss"]
    return cases


PARAMIKO_CASES = _paramiko_algs()


@pytest.mark.parametrize(("category", "algorithm"), PARAMIKO_CASES, ids=[f"{c}:{a}" for c, a in PARAMIKO_CASES])
def test_paramiko_client(our_server: OurServer, category: str, algorithm: str) -> None:
    import paramiko

    t = paramiko.Transport((our_server.host, our_server.port))
    try:
        opts = t.get_security_options()
        setattr(opts, category, (algorithm,))
        if category == "digests":
            opts.ciphers = ("aes128-ctr",)
        t.connect(username=USER, password=PASSWORD)
        key = t.get_remote_server_key()
        assert any(k.asbytes() == key.asbytes() for k in our_server.keys)
        chan = t.open_session()
        chan.exec_command("echo paramiko")
        assert chan.makefile().read() == b"paramiko\n"
        assert chan.recv_exit_status() == 0
    finally:
        t.close()


def test_paramiko_publickey_and_sftp(our_server: OurServer) -> None:
    import paramiko

    t = paramiko.Transport((our_server.host, our_server.port))
    try:
        t.connect(username=USER, pkey=paramiko.Ed25519Key.from_private_key_file(str(client_keys()["ed25519"])))
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp is not None
        with sftp.open("paramiko.txt", "w") as fh:
            fh.write(b"via paramiko sftp")
        assert (our_server.workdir / "paramiko.txt").read_bytes() == b"via paramiko sftp"
        sftp.close()
    finally:
        t.close()


def _asyncssh_run(s: OurServer, coro_factory):  # type: ignore[no-untyped-def]
    import asyncio

    return asyncio.run(coro_factory())


def _asyncssh_known_hosts(s: OurServer):  # type: ignore[no-untyped-def]
    import asyncssh

    return asyncssh.import_known_hosts(s.known_hosts.read_text())


ASYNCSSH_KEX = [a for a in ("mlkem768x25519-sha256", "curve25519-sha256", "ecdh-sha2-nistp256", "ecdh-sha2-nistp521",
                            "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
                            "diffie-hellman-group-exchange-sha256") if a in ALGORITHM_CATEGORIES["kex"]]  # fmt: skip
ASYNCSSH_CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-cbc"]


@pytest.mark.parametrize("kex", ASYNCSSH_KEX)
@pytest.mark.parametrize("cipher", ASYNCSSH_CIPHERS)
def test_asyncssh_client(our_server: OurServer, kex: str, cipher: str) -> None:
    import asyncssh

    async def go() -> tuple[str, int]:
        async with asyncssh.connect(our_server.host, our_server.port, username=USER, password=PASSWORD,
                                    known_hosts=_asyncssh_known_hosts(our_server), kex_algs=[kex],
                                    encryption_algs=[cipher], client_keys=None) as conn:  # fmt: skip
            result = await conn.run("cat; exit 6", input="x" * 200000)
            return str(result.stdout), int(result.exit_status or 0)

    out, status = _asyncssh_run(our_server, go)
    assert (len(out), status) == (200000, 6)


@pytest.mark.parametrize("key", KEY_NAMES)
def test_asyncssh_publickey(our_server: OurServer, key: str) -> None:
    import asyncssh

    async def go() -> str:
        async with asyncssh.connect(our_server.host, our_server.port, username=USER,
                                    client_keys=[str(client_keys()[key])],
                                    known_hosts=_asyncssh_known_hosts(our_server)) as conn:  # fmt: skip
            result = await conn.run("echo async-key")
            return str(result.stdout)

    assert _asyncssh_run(our_server, go) == "async-key\n"


def test_our_client_against_our_server(our_server: OurServer) -> None:
    """Both halves of our stack, through real sockets, across a rekey."""
    from harness import Transport
    from harness.interop import echo_transfer
    from harness.ssh.keys import HostKeys

    known = HostKeys()
    known.load(str(our_server.known_hosts))
    t = Transport((our_server.host, our_server.port))
    try:
        t.connect(host_keys=known, hostname=our_server.host, port=our_server.port, username=USER, password=PASSWORD)
        echo_transfer(t, 16 << 20, rekey_at=4 << 20)
    finally:
        t.close()
