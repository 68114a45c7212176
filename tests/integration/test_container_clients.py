"""Our server driven by the client peers in containers: OpenSSH ssh 8.4/9.2/10.0, dbclient x3.

Each client negotiates every algorithm it supports that we offer (OpenSSH: `ssh -Q` of that
release), logs in by password and with each key type it supports, runs a command, moves 64 MiB
each way with a checksum, and uses the sftp subsystem (OpenSSH). During the 64 MiB our server
re-exchanges keys every 16 MiB (the OpenSSH clients also with RekeyLimit=16M), and the test counts
those re-exchanges on the server side. The parametrized test ids are the table per client.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from harness.crypto_names import ALGORITHM_CATEGORIES
from harness.peers.base import client_keys
from harness.peers.clients import CLIENT_PEERS, MOUNT, query, run_client
from harness.serve import Listener, key_exchanges
from tests.integration.served import client_test_config, host_keys_of_every_type

pytestmark = [pytest.mark.peer, pytest.mark.docker]

USER, PASSWORD = "tester", "container-pw"
SSH_CLIENTS = [c for c in CLIENT_PEERS if c.startswith("openssh-client-")]
DB_CLIENTS = [c for c in CLIENT_PEERS if c.startswith("dbclient-")]
KEYS = ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"]
# 64 MiB each way with our server re-exchanging keys after 16 MiB in either direction: about four
# re-exchanges; at least three shows that rekeys keep working, not only the first.
BULK_MIB = 64
REKEY_BYTES = 16 << 20
MIN_REKEYS = 3


@pytest.fixture(scope="module")
def docker_ok() -> None:
    from harness.peers.docker import docker_available

    ok, reason = docker_available()
    if not ok:
        if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_DOCKER=1 but Docker cannot run: {reason}", pytrace=False)
        pytest.skip(f"no Docker engine: {reason}")


@dataclass
class Served:
    port: int
    share: Path
    workdir: Path
    keys: list
    listener: Listener


@pytest.fixture(scope="module")
def served(docker_ok: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    share = tmp_path_factory.mktemp("client-share")
    work = tmp_path_factory.mktemp("client-work")
    host_keys = host_keys_of_every_type()
    config = client_test_config(USER, PASSWORD, work, REKEY_BYTES)
    with Listener(host_keys, config) as listener:
        port = listener.address[1]
        home = share / "home"
        (home / ".ssh").mkdir(parents=True)
        # OpenSSH known_hosts with the port; dbclient reads ~/.ssh/known_hosts by bare host name.
        (share / "known_hosts").write_text("".join(f"[127.0.0.1]:{port} {k.get_name()} {k.get_base64()}\n"
                                                   for k in host_keys))  # fmt: skip
        (home / ".ssh" / "known_hosts").write_text("".join(f"127.0.0.1 {k.get_name()} {k.get_base64()}\n"
                                                            for k in host_keys))  # fmt: skip
        for name, path in client_keys().items():
            shutil.copy(path, share / f"id_{name}")
            os.chmod(share / f"id_{name}", 0o600)  # the container runs as root, the owner
            if name in KEYS:
                subprocess.run(["dropbearconvert", "openssh", "dropbear", str(path), str(share / f"db_{name}")],
                               check=True, capture_output=True)  # fmt: skip
                os.chmod(share / f"db_{name}", 0o600)
        for client in SSH_CLIENTS:
            (share / f"sftp_batch_{client}").write_text(
                f"put {MOUNT}/known_hosts up-{client}.txt\nls -l up-{client}.txt\nget up-{client}.txt /tmp/back\n"
            )
        # Bulk data comes from a file inside the container, not through `docker run -i`: large
        # stdin through the Docker attach stream does not always deliver its EOF, which hangs a
        # `cat` forever (seen under load) and says nothing about the SSH peers.
        (share / "bulk.bin").write_bytes(os.urandom(1 << 20) * BULK_MIB)
        os.chmod(share / "bulk.bin", 0o644)
        askpass = share / "askpass"
        askpass.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
        askpass.chmod(0o755)
        os.chmod(share, 0o755)
        yield Served(port, share, work, host_keys, listener)


def _ssh_args(s: Served, *options: str, key: str | None = "ed25519") -> list[str]:
    args = [*options, "-p", str(s.port), "-o", f"UserKnownHostsFile={MOUNT}/known_hosts", "-o",
            "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"]  # fmt: skip
    if key:
        args += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", f"{MOUNT}/id_{key}"]
    return [*args, f"{USER}@127.0.0.1"]


@cache
def _supported(client: str, what: str) -> tuple[str, ...]:
    import tempfile

    return tuple(query(client, what, Path(tempfile.gettempdir())))


_OPTION = {"kex": "KexAlgorithms", "key_types": "HostKeyAlgorithms", "ciphers": "Ciphers", "digests": "MACs"}
_QUERY = {"kex": "kex", "key_types": "key-sig", "ciphers": "cipher", "digests": "mac"}  # key-sig lists rsa-sha2-*
CASES = [(client, cat, alg) for client in SSH_CLIENTS for cat in _OPTION for alg in ALGORITHM_CATEGORIES[cat]
         if alg != "ssh-dss"]  # fmt: skip


@pytest.mark.parametrize(("client", "category", "algorithm"), CASES, ids=[f"{c}-{k}:{a}" for c, k, a in CASES])
def test_ssh_algorithm(served: Served, client: str, category: str, algorithm: str) -> None:
    if algorithm not in _supported(client, _QUERY[category]):
        pytest.skip(f"{client} does not support {category} {algorithm}")
    options = ["-o", f"{_OPTION[category]}={algorithm}"]
    if category == "digests":
        options += ["-o", "Ciphers=aes128-ctr"]
    r = run_client(client, [*_ssh_args(served, *options), "printf hi; printf oops >&2; exit 3"], served.share)
    assert (r.returncode, r.stdout, r.stderr) == (3, b"hi", b"oops"), r.stderr.decode(errors="replace")


@pytest.mark.parametrize("client", SSH_CLIENTS)
@pytest.mark.parametrize("key", KEYS)
def test_ssh_publickey(served: Served, client: str, key: str) -> None:
    r = run_client(client, [*_ssh_args(served, key=key), "echo $USER"], served.share)
    assert (r.returncode, r.stdout) == (0, f"{USER}\n".encode()), r.stderr


@pytest.mark.parametrize("client", SSH_CLIENTS)
def test_ssh_password_bulk_and_sftp(served: Served, client: str, record_property: Callable[[str, object], None]
                                    ) -> None:  # fmt: skip
    askpass = {"SSH_ASKPASS": f"{MOUNT}/askpass", "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": "none"}
    r = run_client(client, [*_ssh_args(served, "-o", "PreferredAuthentications=password", key=None), "echo pw"],
                   served.share, env=askpass)  # fmt: skip
    assert (r.returncode, r.stdout) == (0, b"pw\n"), r.stderr
    ssh = " ".join(_ssh_args(served, "-o", "RekeyLimit=16M"))
    _bulk(served, client, f"ssh {ssh} cat", record_property)
    # The release's own sftp client through the subsystem: put, list, get back.
    sftp_args = ["-b", f"{MOUNT}/sftp_batch_{client}", "-P", str(served.port), "-o",
                 f"UserKnownHostsFile={MOUNT}/known_hosts", "-o", "StrictHostKeyChecking=yes", "-i",
                 f"{MOUNT}/id_ed25519", f"{USER}@127.0.0.1"]  # fmt: skip
    r = run_client(client, sftp_args, served.share, binary="sftp")
    assert r.returncode == 0, r.stderr
    assert (served.workdir / f"up-{client}.txt").read_bytes() == (served.share / "known_hosts").read_bytes()


def _bulk(served: Served, client: str, command: str, record_property: Callable[[str, object], None]) -> None:
    """64 MiB from /harness/bulk.bin through the client and the remote `cat`, hashed in the container;
    then the re-exchanges our server completed on that connection (recorded for the table)."""
    mark = served.listener.mark()
    r = run_client(client, ["-c", f"{command} < {MOUNT}/bulk.bin | sha256sum"], served.share, binary="/bin/sh")
    assert r.returncode == 0, r.stderr[-1000:]
    expected = hashlib.sha256((served.share / "bulk.bin").read_bytes()).hexdigest()
    assert r.stdout.split()[0].decode() == expected, (r.stdout, r.stderr[-500:])
    connections = served.listener.served_since(mark)
    assert len(connections) == 1, f"expected one connection, the server saw {len(connections)}"
    rekeys = key_exchanges(connections[0]) - 1
    record_property("rekeys", rekeys)
    assert rekeys >= MIN_REKEYS, f"only {rekeys} key re-exchanges during {BULK_MIB} MiB each way"


DB_CIPHERS = ["aes128-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com"]
DB_MACS = ["hmac-sha2-256", "hmac-sha1"]


@pytest.mark.parametrize("client", DB_CLIENTS)
@pytest.mark.parametrize("cipher", DB_CIPHERS)
@pytest.mark.parametrize("mac", DB_MACS)
def test_dbclient_cipher_mac(served: Served, client: str, cipher: str, mac: str) -> None:
    r = run_client(client, ["-c", cipher, "-m", mac, "-p", str(served.port), "-i", f"{MOUNT}/db_ed25519",
                            f"{USER}@127.0.0.1", "printf hi; exit 5"], served.share)  # fmt: skip
    if r.returncode != 5 and (b"No matching" in r.stderr or b"does not support" in r.stderr):
        pytest.skip(f"{client} does not support {cipher}/{mac}: {r.stderr.decode(errors='replace').strip()}")
    assert (r.returncode, r.stdout) == (5, b"hi"), r.stderr


@pytest.mark.parametrize("client", DB_CLIENTS)
@pytest.mark.parametrize("key", KEYS)
def test_dbclient_publickey(served: Served, client: str, key: str) -> None:
    r = run_client(client, ["-p", str(served.port), "-i", f"{MOUNT}/db_{key}", f"{USER}@127.0.0.1", "echo $USER"],
                   served.share)  # fmt: skip
    assert (r.returncode, r.stdout) == (0, f"{USER}\n".encode()), r.stderr


@pytest.mark.parametrize("client", DB_CLIENTS)
def test_dbclient_password_and_bulk(served: Served, client: str, record_property: Callable[[str, object], None]
                                    ) -> None:  # fmt: skip
    r = run_client(client, ["-p", str(served.port), f"{USER}@127.0.0.1", "echo pw"], served.share,
                   env={"DROPBEAR_PASSWORD": PASSWORD})  # fmt: skip
    assert (r.returncode, r.stdout) == (0, b"pw\n"), r.stderr
    _bulk(served, client, f"dbclient -p {served.port} -i {MOUNT}/db_ed25519 {USER}@127.0.0.1 cat", record_property)


@pytest.mark.parametrize("client", DB_CLIENTS)
def test_dbclient_exits_when_close_arrives_before_its_output_is_written(served: Served, client: str) -> None:
    """dbclient must exit although our CHANNEL_CLOSE reaches it while it still holds output.

    The reader takes 200000 bytes, then pauses 1 s; the last 80 KiB (a 64 KiB pipe plus 16 KiB
    held by dbclient, inside its window) are sent, with EOF, exit-status and CLOSE, during that
    pause. dbclient writes them out afterwards and then waits in select() with nothing to wake
    it: without our server's IGNORE after its CLOSE (serve.CommandRunner._wake_dropbear_client)
    it hangs for hours, against sshd and Dropbear's own server too (docs/PEERS.md).
    """
    reader = "(dd of=/dev/null bs=1000 count=200 iflag=fullblock 2>/dev/null; sleep 1; wc -c)"
    command = f"dbclient -p {served.port} -i {MOUNT}/db_ed25519 {USER}@127.0.0.1 'head -c 281920 /dev/zero; exit 7'"
    # dbclient's exit status (the command's 7) goes to stderr: the pipeline's status is the reader's.
    r = run_client(client, ["-c", f"{{ {command}; echo dbclient-status=$? >&2; }} | {reader}"], served.share,
                   binary="/bin/sh", timeout=30)  # fmt: skip
    assert r.stdout == b"81920\n", r.stderr[-500:]
    assert b"dbclient-status=7" in r.stderr, r.stderr[-500:]
