"""Our server (harness serve's engine) driven by real clients.

Clients: OpenSSH `ssh`/`sftp` (9.2, local), Dropbear `dbclient` (2022.83), PuTTY `plink`,
paramiko and AsyncSSH. Each negotiates every algorithm it supports that we offer, logs in by
password and with each key type, runs a command, and uses the sftp subsystem; the bulk tests move
64 MiB each way with a checksum while our server re-exchanges keys every 16 MiB, and count those
re-exchanges on the server side. A client binary that is missing is a failure (scripts/setup.sh
installs them), never a skip.

Clients that cannot be told to use one algorithm (plink has saved-session preferences but no MAC
setting at all) are tested against a server that offers exactly one algorithm in the category
under test: the connection works only if the client negotiates that one, and the server's record
of the connection says which one it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.crypto_names import ALGORITHM_CATEGORIES
from harness.echo import EchoService
from harness.peers.base import client_keys
from harness.serve import Listener, ServeConfig, key_exchanges
from tests.integration.served import client_test_config, host_keys_of_every_type

pytestmark = pytest.mark.peer

USER, PASSWORD = "tester", "s3rver-pw"
TIMEOUT = 60
KEY_NAMES = ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"]
# Bulk transfers: 64 MiB each way; our server re-exchanges keys after 16 MiB in either direction,
# so a transfer sees about four re-exchanges. Three is the least that shows rekeys keep working
# (not only the first one) while leaving room for where the last one falls.
BULK_BYTES = 64 << 20
REKEY_BYTES = 16 << 20
MIN_REKEYS = 3


@dataclass
class OurServer:
    host: str
    port: int
    known_hosts: Path
    workdir: Path
    keys: list
    listener: Listener
    config: ServeConfig


@pytest.fixture(scope="module")
def our_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OurServer]:
    work = tmp_path_factory.mktemp("our-server")
    host_keys = host_keys_of_every_type()
    config = client_test_config(USER, PASSWORD, work, REKEY_BYTES)
    with Listener(host_keys, config) as listener:
        host, port = listener.address
        known = work / "known_hosts"
        known.write_text("".join(f"[{host}]:{port} {k.get_name()} {k.get_base64()}\n" for k in host_keys))
        yield OurServer(host, port, known, work, host_keys, listener, config)


@contextlib.contextmanager
def offering(s: OurServer, algorithms: dict[str, tuple[str, ...]]) -> Iterator[OurServer]:
    """A second server with the same keys and users that offers only ``algorithms`` in their
    categories (the rest as ``our_server``): the client must negotiate exactly those."""
    config = dataclasses.replace(s.config, algorithms=algorithms)
    with Listener(s.keys, config, host=s.host) as listener:
        yield dataclasses.replace(s, port=listener.address[1], listener=listener, config=config)


def negotiated_on(s: OurServer, mark: int) -> Any:
    """The KexComplete of the one connection a client made since ``mark`` (None if its kex failed)."""
    connections = s.listener.served_since(mark)
    assert len(connections) == 1, f"expected one connection, the server saw {len(connections)}"
    return connections[0].negotiated


def check_rekeys(s: OurServer, mark: int, record_property: Callable[[str, object], None]) -> int:
    """Re-exchanges our server completed on the connection(s) since ``mark``; records the count
    for the per-client table and fails below MIN_REKEYS."""
    rekeys = max((key_exchanges(t) - 1 for t in s.listener.served_since(mark)), default=-1)
    record_property("rekeys", rekeys)
    assert rekeys >= MIN_REKEYS, f"only {rekeys} key re-exchanges during {BULK_BYTES >> 20} MiB each way"
    return rekeys


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
_SSH_QUERY = {"kex": "kex", "key_types": "key-sig", "ciphers": "cipher", "digests": "mac"}  # key-sig lists rsa-sha2-*
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


def bulk_data() -> bytes:
    return os.urandom(1 << 20) * (BULK_BYTES >> 20)


def test_openssh_client_bulk_across_rekey(our_server: OurServer, record_property: Callable[[str, object], None]
                                          ) -> None:  # fmt: skip
    """64 MiB through `cat` each way, ssh and our server both rekeying every 16 MiB, checksummed."""
    data = bulk_data()
    mark = our_server.listener.mark()
    r = subprocess.run([*_ssh_argv(our_server, "-o", "RekeyLimit=16M", key="ed25519"), "cat"],
                       input=data, capture_output=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()
    check_rekeys(our_server, mark, record_property)


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
    import time

    echo = EchoService()
    echo_port = echo.port
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


def _dbclient(
    s: OurServer,
    tmp: Path,
    *options: str,
    command: str,
    key: str | None = "ed25519",
    env: dict[str, str] | None = None,
    data: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    # dbclient's known_hosts has no port syntax; give it our keys under the bare host name.
    (home / ".ssh" / "known_hosts").write_text("".join(f"{s.host} {k.get_name()} {k.get_base64()}\n" for k in s.keys))
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


def test_dbclient_password_and_bulk(our_server: OurServer, tmp_path: Path,
                                    record_property: Callable[[str, object], None]) -> None:  # fmt: skip
    r = _dbclient(our_server, tmp_path, command="echo pw", key=None, env={"DROPBEAR_PASSWORD": PASSWORD})
    assert (r.returncode, r.stdout) == (0, b"pw\n"), r.stderr
    data = bulk_data()
    mark = our_server.listener.mark()
    r = _dbclient(our_server, tmp_path, command="cat", data=data)
    assert r.returncode == 0, r.stderr[-1000:]
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()
    check_rekeys(our_server, mark, record_property)


# -- PuTTY plink ----------------------------------------------------------------------------------


def _plink(s: OurServer, tmp: Path, *options: str, command: str, data: bytes | None = None
           ) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    hostkeys: list[str] = []
    for k in s.keys:
        hostkeys += ["-hostkey", k.fingerprint_sha256()]
    argv = [_need("plink"), "-ssh", "-batch", "-P", str(s.port), "-l", USER, *hostkeys, *options, s.host, command]
    env = {"HOME": str(tmp), "PATH": os.environ["PATH"]}
    return subprocess.run(argv, capture_output=True, timeout=300, env=env, input=data)


def test_plink_password_command_and_bulk(our_server: OurServer, tmp_path: Path,
                                         record_property: Callable[[str, object], None]) -> None:  # fmt: skip
    r = _plink(our_server, tmp_path, "-pw", PASSWORD, command="printf plink; exit 2")
    assert (r.returncode, r.stdout) == (2, b"plink"), r.stderr
    data = bulk_data()
    mark = our_server.listener.mark()
    r = _plink(our_server, tmp_path, "-pw", PASSWORD, command="cat", data=data)
    assert r.returncode == 0, r.stderr[-500:]
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest(), r.stderr[-500:]
    check_rekeys(our_server, mark, record_property)


# What plink 0.78 says when it has no algorithm in common with our one-algorithm offer (it has no
# per-algorithm support query): "Couldn't agree a <category> (available: ...)" or, for a list it
# cannot parse at all, "Selected <category> "<list>" does not correspond to any supported algorithm".
_PLINK_UNSUPPORTED = (b"does not correspond to any supported algorithm", b"Couldn't agree a")
# Algorithms below plink's default warning threshold, which -batch refuses ("Cannot confirm a
# weak crypto primitive"); a saved session that lists them before WARN lets plink use them.
# Maps our name to (PuTTY setting, PuTTY's id for the algorithm in that setting).
_PLINK_BELOW_WARN = {"diffie-hellman-group1-sha1": ("KEX", "dh-group1-sha1")}
_PLINK_CATEGORY = {"kex": "kex", "key_types": "host_key_algorithm", "ciphers": "cipher_in", "digests": "mac_in"}
PLINK_CASES = [(c, a) for c in _PLINK_CATEGORY for a in ALGORITHM_CATEGORIES[c] if a != "ssh-dss"]


@pytest.mark.parametrize(("category", "algorithm"), PLINK_CASES, ids=[f"{c}:{a}" for c, a in PLINK_CASES])
def test_plink_algorithm(our_server: OurServer, tmp_path: Path, category: str, algorithm: str,
                         record_property: Callable[[str, object], None]) -> None:  # fmt: skip
    """plink against a server that offers only ``algorithm`` in its category (MACs with aes128-ctr)."""
    offer = {category: (algorithm,), **({"ciphers": ("aes128-ctr",)} if category == "digests" else {})}
    with offering(our_server, offer) as server:
        mark = server.listener.mark()
        r = _plink(server, tmp_path, "-pw", PASSWORD, command="printf hi; exit 3")
        if r.returncode != 3 and algorithm in _PLINK_BELOW_WARN and b"warning threshold" in r.stderr:
            setting, putty_id = _PLINK_BELOW_WARN[algorithm]
            sessions = tmp_path / ".putty" / "sessions"
            sessions.mkdir(parents=True)
            (sessions / "harness").write_text(f"{setting}={putty_id},WARN\n")
            record_property("note", f"below plink's warning threshold: saved session {setting}={putty_id},WARN")
            mark = server.listener.mark()
            r = _plink(server, tmp_path, "-load", "harness", "-pw", PASSWORD, command="printf hi; exit 3")
        if r.returncode != 3 and any(m in r.stderr for m in _PLINK_UNSUPPORTED):
            pytest.skip(f"plink does not support {category} {algorithm}: {r.stderr.decode(errors='replace').strip()}")
        assert (r.returncode, r.stdout) == (3, b"hi"), r.stderr.decode(errors="replace")
        kex = negotiated_on(server, mark)
    assert kex is not None and getattr(kex, _PLINK_CATEGORY[category]) == algorithm, kex


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


def test_paramiko_bulk_across_rekey(our_server: OurServer, record_property: Callable[[str, object], None]) -> None:
    """64 MiB each way through `cat`; paramiko only answers the re-exchanges our server starts."""
    import paramiko

    data = bulk_data()
    mark = our_server.listener.mark()
    t = paramiko.Transport((our_server.host, our_server.port))
    errors: list[BaseException] = []
    try:
        t.connect(username=USER, password=PASSWORD)
        chan = t.open_session()
        chan.exec_command("cat")

        def send() -> None:
            try:
                for i in range(0, len(data), 1 << 20):  # paramiko's sendall re-slices: send in MiB pieces
                    chan.sendall(data[i : i + (1 << 20)])
                chan.shutdown_write()
            except BaseException as exc:
                errors.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        digest, received = hashlib.sha256(), 0
        while chunk := chan.recv(1 << 20):
            digest.update(chunk)
            received += len(chunk)
        sender.join(TIMEOUT)
        assert not errors, errors
        assert chan.recv_exit_status() == 0
    finally:
        t.close()
    assert (received, digest.digest()) == (len(data), hashlib.sha256(data).digest())
    check_rekeys(our_server, mark, record_property)


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


def _asyncssh_cases() -> list[tuple[str, str]]:
    """Every algorithm AsyncSSH supports that we offer, by category; kex and ciphers only where
    the kex x cipher matrix above does not already have them."""
    from asyncssh.encryption import get_encryption_algs
    from asyncssh.kex import get_kex_algs
    from asyncssh.mac import get_mac_algs
    from asyncssh.public_key import get_public_key_algs

    theirs = {"kex": get_kex_algs(), "ciphers": get_encryption_algs(), "digests": get_mac_algs(),
              "key_types": get_public_key_algs()}  # fmt: skip
    covered = set(ASYNCSSH_KEX) | set(ASYNCSSH_CIPHERS) | {"ssh-dss"}
    return [(c, a) for c, names in theirs.items() for a in ALGORITHM_CATEGORIES[c]
            if a.encode() in names and a not in covered]  # fmt: skip


ASYNCSSH_CASES = _asyncssh_cases()
_ASYNCSSH_OPTION = {"kex": "kex_algs", "ciphers": "encryption_algs", "digests": "mac_algs",
                    "key_types": "server_host_key_algs"}  # fmt: skip
_NEGOTIATED = {"kex": "kex", "key_types": "host_key_algorithm", "ciphers": "cipher_in", "digests": "mac_in"}


@pytest.mark.parametrize(("category", "algorithm"), ASYNCSSH_CASES, ids=[f"{c}:{a}" for c, a in ASYNCSSH_CASES])
def test_asyncssh_algorithm(our_server: OurServer, category: str, algorithm: str) -> None:
    """One AsyncSSH connection per algorithm (MACs with aes128-ctr, so a MAC is used at all)."""
    import asyncssh

    options: dict[str, list[str]] = {_ASYNCSSH_OPTION[category]: [algorithm]}
    if category == "digests":
        options["encryption_algs"] = ["aes128-ctr"]

    async def go() -> tuple[str, int]:
        async with asyncssh.connect(our_server.host, our_server.port, username=USER, password=PASSWORD,
                                    known_hosts=_asyncssh_known_hosts(our_server), client_keys=None,
                                    **options) as conn:  # type: ignore[arg-type]  # fmt: skip
            result = await conn.run("echo async; exit 4")
            return str(result.stdout), int(result.exit_status or 0)

    mark = our_server.listener.mark()
    assert _asyncssh_run(our_server, go) == ("async\n", 4)
    kex = negotiated_on(our_server, mark)
    assert kex is not None and getattr(kex, _NEGOTIATED[category]) == algorithm, kex


def test_asyncssh_bulk_across_rekey(our_server: OurServer, record_property: Callable[[str, object], None]) -> None:
    """64 MiB each way through `cat`; AsyncSSH answers the re-exchanges our server starts."""
    import asyncssh

    data = bulk_data()

    async def go() -> tuple[bytes, int]:
        known = _asyncssh_known_hosts(our_server)
        async with asyncssh.connect(our_server.host, our_server.port, username=USER, password=PASSWORD,
                                    known_hosts=known, client_keys=None) as conn:  # fmt: skip
            result = await conn.run("cat", input=data, encoding=None)
            return bytes(result.stdout or b""), int(result.exit_status or 0)

    mark = our_server.listener.mark()
    out, status = _asyncssh_run(our_server, go)
    assert (status, len(out)) == (0, len(data))
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()
    check_rekeys(our_server, mark, record_property)


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
