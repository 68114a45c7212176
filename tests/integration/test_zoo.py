"""The peer zoo (harness.peers.zoo): every zoo server logs our client in and runs a command, every
zoo client logs in to OpenSSH 9.2 and runs one, and the deviations found are pinned.

The images are built first when missing or out of date (`bash containers/bootstrap.sh zoo`,
which reuses every image whose build context is unchanged): about 6 minutes from nothing on two
busy cores, a few seconds when they are up to date. Each server check starts its container
(1-3 s), logs in by password and with an Ed25519 key, and runs `printf oops >&2; cat; exit 3`
with 64 KiB on stdin, so stdout, stderr, EOF and the exit status all cross the channel.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.interop import connect, run
from harness.peers.base import PeerInfo, PeerStartError
from harness.peers.registry import info_supports_password, start_peer
from harness.peers.zoo import ZOO_CLIENTS, ZOO_SERVERS
from harness.peers.zoo_docker import run_zoo_client, start_zoo_server
from harness.scenario import Call, Connect, Expect, ExpectClose, ExpectNothing, Scenario, Send, WaitKex, m
from harness.scenario.execute import run_steps
from harness.scenario.runner import Context
from harness.ssh.errors import SSHException
from tests.integration.polling import poll

pytestmark = [pytest.mark.peer, pytest.mark.docker, pytest.mark.slow, pytest.mark.zoo]

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = os.urandom(64 * 1024)
COMMAND = "printf oops >&2; cat; exit 3"


def _login_and_exec(info: PeerInfo, auth: str) -> None:
    server = ZOO_SERVERS[info.peer_id]
    t = connect(info, auth=auth, key_name=server.user_keys[0])  # with the peer's login_algorithms
    try:
        out, err, status = run(t, COMMAND, stdin=PAYLOAD)
        assert (err, status) == (b"oops", 3), f"{auth}: stderr {err!r}, exit status {status}"
        assert hashlib.sha256(out).digest() == hashlib.sha256(PAYLOAD).digest(), (
            f"{auth}: {len(PAYLOAD)} bytes through cat came back as {len(out)} different bytes")
        user, _, _ = run(t, "echo $USER")  # a second session channel on the same connection
        assert user.strip() == info.username.encode()
    finally:
        t.close()


@pytest.mark.parametrize("peer_id", list(ZOO_SERVERS))
def test_zoo_server_logs_in_and_runs_commands(zoo_images: None, peer_id: str, tmp_path: Path) -> None:
    with start_peer(peer_id, "docker", tmp_path) as handle:
        info = handle.info
        assert re.match(ZOO_SERVERS[peer_id].banner, info.banner)
        assert info.algorithms["kex"] and info.algorithms["host_key"], "the KEXINIT probe read nothing"
        try:
            _login_and_exec(info, "publickey")
            if info_supports_password(info):
                _login_and_exec(info, "password")
        except BaseException as exc:
            raise AssertionError(f"{exc}\n--- log of {peer_id} ---\n{handle.logs()[-3000:]}") from exc


@pytest.fixture(scope="module")
def openssh(zoo_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PeerInfo, Path]]:
    """OpenSSH 9.2 (the packaged peer) and a share with the client keys and its known_hosts."""
    handle = start_peer("openssh-9.2", "docker", tmp_path_factory.mktemp("openssh"))
    share = tmp_path_factory.mktemp("share")
    for path in handle.info.client_keys.values():
        shutil.copy(path, share / path.name)
        shutil.copy(f"{path}.pub", share / f"{path.name}.pub")
    shutil.copy(handle.info.known_hosts, share / "known_hosts")
    try:
        yield handle.info, share
    finally:
        handle.stop()


@pytest.mark.parametrize("client_id", list(ZOO_CLIENTS))
def test_zoo_client_logs_in_to_openssh_and_runs_a_command(openssh: tuple[PeerInfo, Path], client_id: str) -> None:
    info, share = openssh
    client = ZOO_CLIENTS[client_id]
    known_hosts = "/harness/known_hosts" if client.checks_known_hosts else None
    for key in (None, client.user_keys[0]) if client.password_login else (client.user_keys[0],):
        key_path = None if key is None else f"/harness/{info.client_keys[key].name}"
        argv = client.argv(host=info.host, port=info.port, user=info.username, key=key_path,
                           command="echo $USER; cat; echo oops >&2; exit 3", known_hosts=known_hosts)
        result = run_zoo_client(client_id, share, argv, password=info.password if key is None else None,
                                stdin=b"from-stdin")
        how = key or "password"
        assert result.returncode == 3, f"{how}: exit {result.returncode}, stderr {result.stderr[-600:]!r}"
        assert result.stdout == info.username.encode() + b"\nfrom-stdin", f"{how}: stdout {result.stdout!r}"
        assert result.stderr.endswith(b"oops\n"), f"{how}: stderr {result.stderr[-600:]!r}"


@pytest.mark.parametrize("client_id", [c for c, client in ZOO_CLIENTS.items() if client.checks_known_hosts])
def test_zoo_client_refuses_a_host_key_not_in_known_hosts(openssh: tuple[PeerInfo, Path], client_id: str,
                                                          tmp_path: Path) -> None:
    """-known-hosts is really checked: with every line naming another key, the login fails
    before the command runs."""
    info, share = openssh
    wrong = tmp_path / "share"
    shutil.copytree(share, wrong)
    other = {"ssh-ed25519": "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}
    lines = []
    for line in (share / "known_hosts").read_text().splitlines():
        name, key_type, _ = line.split(" ", 2)
        if key_type in other:  # the same name and type, another key: a changed host key
            lines.append(f"{name} {key_type} {other[key_type]}")
    (wrong / "known_hosts").write_text("\n".join(lines) + "\n")
    client = ZOO_CLIENTS[client_id]
    argv = client.argv(host=info.host, port=info.port, user=info.username, command="echo ran",
                       key=f"/harness/{info.client_keys[client.user_keys[0]].name}", known_hosts="/harness/known_hosts")
    result = run_zoo_client(client_id, wrong, argv)
    assert result.returncode != 0 and b"ran" not in result.stdout, (result.returncode, result.stdout,
                                                                     result.stderr[-600:])


def test_libssh_stock_server_cipher_list_has_an_empty_name(zoo_images: None, tmp_path: Path) -> None:
    """Deviation pinned: libssh 0.10.6's default server cipher name-list ends with a comma (RFC
    4251 section 5 allows no empty name); our strict probe refuses that KEXINIT."""
    with pytest.raises(PeerStartError, match="name-list has an empty name"):
        start_zoo_server("libssh-0.10.6", tmp_path, extra_args=["--stock-ciphers"]).stop()


# Server -> what its log says when a client picks the group exchange it offered.
GEX_REFUSERS = {
    "paramiko-5.1.0": "no acceptable kex algorithm",
    "paramiko-2.12.0": "no acceptable kex algorithm",
    "node-ssh2-1.17.0": "Group exchange not implemented for server",
}


@pytest.mark.parametrize("peer_id", list(GEX_REFUSERS))
def test_server_offers_group_exchange_it_then_refuses(zoo_images: None, peer_id: str, tmp_path: Path) -> None:
    """Deviation pinned: these servers offer diffie-hellman-group-exchange-sha256 in their KEXINIT
    but fail the key exchange when a client picks it (paramiko without load_server_moduli closes
    without a DISCONNECT; ssh2 sends KEY_EXCHANGE_FAILED with an empty description)."""
    with start_peer(peer_id, "docker", tmp_path) as handle:
        assert "diffie-hellman-group-exchange-sha256" in handle.info.algorithms["kex"]
        with pytest.raises(SSHException):
            connect(handle.info, kex=("diffie-hellman-group-exchange-sha256",)).close()
        # The container's log is read through Docker and the server may write it after the close.
        poll(lambda: GEX_REFUSERS[peer_id] in handle.logs(), f"{GEX_REFUSERS[peer_id]!r} in the log of {peer_id}", 5)


UPPITY = "uppity-0.78"


def _password_during_the_key_exchange(ctx: Context) -> None:
    ctx.conn.auth.password(ctx.info.username, ctx.info.password)


# SERVICE_REQUEST and a password USERAUTH_REQUEST queued while the first key exchange runs: our
# core sends both in one write right behind its NEWKEYS.
PIPELINED_LOGIN = Scenario(timeout=5, strict_kex=True, steps=[
    Connect(), Call(_password_during_the_key_exchange, "password request queued during the key exchange"),
    WaitKex(), Expect(m.ServiceAccept), ExpectNothing(2.0), Send(m.Ignore(data=b"nudge")), Expect(m.UserauthSuccess)])


def test_uppity_holds_a_userauth_request_sent_with_the_service_request(zoo_images: None, tmp_path: Path) -> None:
    """Deviation pinned: Uppity 0.78 answers SERVICE_REQUEST but leaves a USERAUTH_REQUEST that
    came in with it in its transport layer's queue until another packet arrives (here an IGNORE
    2 s later), so a client that sends both at once and waits hangs. Our clients wait for
    SERVICE_ACCEPT first with it (ZooServer.service_accept_first)."""
    with start_peer(UPPITY, "docker", tmp_path) as handle:
        failure, ctx = run_steps(PIPELINED_LOGIN, {}, handle.info, 1)
        assert failure is None, f"{failure}\n{ctx.transcript.text()}"


@pytest.mark.parametrize(("kex", "cipher", "strict", "crashes"), [
    ("curve25519-sha256", "chacha20-poly1305@openssh.com", False, True),
    ("curve25519-sha256", "chacha20-poly1305@openssh.com", True, False),
    ("curve25519-sha256", "aes256-ctr", False, False),
    ("diffie-hellman-group1-sha1", "aes256-ctr", True, True),
])
def test_uppity_crashes_on_a_weak_algorithm(zoo_images: None, tmp_path: Path, kex: str, cipher: str, strict: bool,
                                            crashes: bool) -> None:
    """Deviation pinned: Debian's Uppity 0.78 (its backported weak-crypto and Terrapin warnings)
    dies of SIGSEGV right after the KEXINITs, so the connection closes without a DISCONNECT,
    when the choice is below PuTTY's warning line (diffie-hellman-group1-sha1, which it offers)
    or, without strict kex from the client, open to Terrapin (chacha20-poly1305). With strict
    kex, or AES-CTR and a MAC without ETM, the same key exchange completes."""
    end = [ExpectClose(timeout=5)] if crashes else [WaitKex(kex=kex, cipher_out=cipher)]
    scenario = Scenario(timeout=5, strict_kex=strict, steps=[
        Connect(kex=(kex,), ciphers=(cipher,), macs=("hmac-sha2-256",)), *end])
    with start_peer(UPPITY, "docker", tmp_path) as handle:
        failure, ctx = run_steps(scenario, {}, handle.info, 1)
        assert failure is None, f"{failure}\n{ctx.transcript.text()}"
        assert not any(isinstance(getattr(e, "message", None), m.Disconnect) for e in ctx.log)
        if crashes:  # uppity-conn notices the crash within 0.25 s and logs it
            poll(lambda: "killed by signal 11" in handle.logs(), "uppity-conn's crash report", 3)
        assert ("killed by signal 11" in handle.logs()) == crashes, handle.logs()[-2000:]


def test_uppity_reports_exit_status_0_for_a_command_not_yet_reaped(zoo_images: None, tmp_path: Path) -> None:
    """Deviation pinned: without a pty, Uppity 0.78 ends an exec session at the EOF on the
    command's stdout and, when it has not reaped the command by then, sends exit-status 0
    whatever the command returned (unix/pty.c assumes a clean exit). `sleep 0.05; exit 3` gets 0
    in about half the runs with /bin/sh (--stock-shell); uppity-serve's own $SHELL
    (uppity-shell) keeps stdout open a moment after the command's parent exits, so the
    default set-up reports 3."""
    statuses: dict[str, list[int]] = {}
    for name, extra, runs in (("stock", ["--stock-shell"], 40), ("default", [], 12)):
        with start_zoo_server(UPPITY, tmp_path / name, extra_args=extra) as handle:
            t = connect(handle.info)
            try:
                seen = statuses.setdefault(name, [])
                while len(seen) < runs and 0 not in seen:  # the stock set-up: until the first 0
                    seen.append(run(t, "sleep 0.05; exit 3")[2])
            finally:
                t.close()
    assert 0 in statuses["stock"] and set(statuses["default"]) == {3}, statuses


def test_uppity_deadlocks_a_command_that_echoes_much_input(zoo_images: None, tmp_path: Path) -> None:
    """Deviation pinned: without a pty, Uppity 0.78 writes to the command's stdin pipe in
    blocking mode and reads the command's output only between writes, so 4 MiB through `cat`
    with /bin/sh (--stock-shell) stalls for good: Uppity blocks writing cat's stdin while cat
    blocks writing its stdout (the uppity process outlives the connection). uppity-shell takes
    the input at once into a buffer, so the default set-up echoes it all."""
    payload = os.urandom(4 << 20)
    results: dict[str, object] = {}
    for name, extra in (("stock", ["--stock-shell"]), ("default", [])):
        with start_zoo_server(UPPITY, tmp_path / name, extra_args=extra) as handle:
            t = connect(handle.info)
            try:
                out, _, status = run(t, "cat; exit 3", stdin=payload, timeout=5)
                results[name] = (hashlib.sha256(out).digest() == hashlib.sha256(payload).digest(), status)
            except TimeoutError:
                results[name] = "stalled"
            finally:
                t.close()
    assert results == {"stock": "stalled", "default": (True, 3)}


def test_bootstrap_builds_exactly_the_zoo_images() -> None:
    text = (REPO / "containers" / "bootstrap.sh").read_text()
    block = re.search(r"ZOO_IMAGES=\((.*?)\)", text, re.DOTALL)
    assert block is not None
    images = {f"{s.kind}:{s.tag}" for s in ZOO_SERVERS.values()} | {f"{c.kind}:{c.tag}" for c in ZOO_CLIENTS.values()}
    assert set(block.group(1).split()) == images
