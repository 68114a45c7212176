"""Our SFTP client against real servers, every operation, the error cases, bulk transfers checked
by SHA-256, a 10,000-entry listing and transfers across a key re-exchange; plus a handshake and
round trip against every peer of the matrix that has an SFTP server.

The full set runs against the local OpenSSH 9.2 sshd (internal-sftp) and Dropbear 2022.83 (with
the local sftp-server) and against container peers: OpenSSH 8.4, 9.2 and 10.0 (their
internal-sftp) and Dropbear 2025.89 (with OpenSSH 10.0's sftp-server). Where an sftp-server
release differs, :data:`SFTP_SERVER_LACKS` says how and why; nothing is skipped. Last, the SFTP
benchmark (``harness bench --only sftp``) runs in miniature so that it cannot rot unnoticed.

Each test works in its own directory under the test user's per-run home (``PeerInfo.home``),
which the test process (root, same machine) can also read and write directly (for the containers
it is bind-mounted at /home/sshharness): that is how files are planted, with the home's owner so
the server's user owns them, and results checked without trusting the client under test.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness.benchmark.sftp import sha256_file
from harness.interop import connect
from harness.peers.base import PeerError, PeerInfo
from harness.peers.docker import PEERS, docker_available
from harness.peers.registry import local_versions, start_peer
from harness.sftp_client import SFTPClient
from harness.ssh.errors import SSHException
from harness.ssh.sftp import SFTPAttributes, SFTPError
from harness.transport import Transport

pytestmark = pytest.mark.peer

MiB = 1 << 20
OPENSSH_EXTENSIONS = ("posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
                      "hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com", "limits@openssh.com",
                      "expand-path@openssh.com")  # fmt: skip
# Where an sftp-server release really differs: the extensions of OPENSSH_EXTENSIONS it does not
# announce, keyed by the OpenSSH peer id of that release, each with the reason. Every extension
# not listed here must be announced, and every listed one must be absent (so a Debian update
# that adds one shows up here too).
SFTP_SERVER_LACKS: dict[str, dict[str, str]] = {
    "openssh-8.4": {
        "limits@openssh.com": "added to sftp-server after 8.4: transfers fall back to 32 KiB blocks",
        "expand-path@openssh.com": "added to sftp-server after 8.4: expand_path() raises EOPNOTSUPP",
    },
}
# Debian release -> the OpenSSH peer whose sftp-server ships in it (openssh-sftp-server package).
SUITE_SFTP_SERVER = {spec.suite: peer_id for peer_id, spec in PEERS.items() if spec.kind == "openssh"}


@dataclass
class Remote:
    """One test's SFTP session, cwd'd into its own directory, and that directory seen locally."""

    sftp: SFTPClient
    local: Path
    peer: PeerInfo
    transport: Transport

    @property
    def lacks(self) -> dict[str, str]:
        """Extensions this peer's sftp-server release does not announce (SFTP_SERVER_LACKS)."""
        return SFTP_SERVER_LACKS.get(sftp_server_of(self.peer), {})

    def plant(self, name: str, data: bytes = b"", mode: int = 0o644) -> Path:
        """Create a file as the test user would own it (owner/group of the home)."""
        path = self.local / name
        path.write_bytes(data)
        owner = os.stat(self.local)
        os.chown(path, owner.st_uid, owner.st_gid)
        path.chmod(mode)
        return path


# Local processes (the installed OpenSSH 9.2 sshd and Dropbear 2022.83) and container peers.
LOCAL_PEERS = ["openssh", "dropbear"]
CONTAINER_PEERS = ["openssh-8.4", "openssh-9.2", "openssh-10.0", "dropbear-2025.89"]


@pytest.fixture(scope="session")
def container_peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], PeerInfo]]:
    """Container peers started on first use and kept for the whole session (per xdist worker).

    Why not a parametrized fixture of their own: with xdist a worker receives tests of several
    peers interleaved, and pytest tears a parametrized fixture down whenever the parameter
    changes, so each container would be started many times (about 2 s each); this cache starts
    each at most once per worker.
    """
    handles: dict[str, Any] = {}

    def get(peer_id: str) -> PeerInfo:
        if peer_id not in handles:
            ok, reason = docker_available()
            if not ok:
                if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
                    pytest.fail(f"HARNESS_REQUIRE_DOCKER=1 but Docker cannot run: {reason}", pytrace=False)
                pytest.skip(f"no Docker engine for {peer_id}: {reason}")
            try:
                handles[peer_id] = start_peer(peer_id, "docker", tmp_path_factory.mktemp(peer_id))
            except PeerError as exc:
                pytest.fail(f"{peer_id} did not start: {exc}", pytrace=False)
        return handles[peer_id].info

    try:
        yield get
    finally:
        for handle in handles.values():
            handle.stop()


@pytest.fixture(scope="module", params=LOCAL_PEERS + CONTAINER_PEERS)
def sftp_peer(request: pytest.FixtureRequest, container_peers: Callable[[str], PeerInfo]) -> PeerInfo:
    """The server under test: a local process (session fixtures of conftest) or a container."""
    if request.param in LOCAL_PEERS:
        return request.getfixturevalue(f"{request.param}_server")
    return container_peers(request.param)


def sftp_server_of(peer: PeerInfo) -> str:
    """The OpenSSH release (peer id) whose SFTP server ``peer`` runs.

    sshd serves its own internal-sftp; Dropbear has no SFTP server and execs the sftp-server of
    the openssh-sftp-server package beside it: the image's Debian release for the containers, the
    locally installed OpenSSH for the local Dropbear.
    """
    if peer.extra.get("launcher") == "docker":
        return SUITE_SFTP_SERVER[peer.extra["suite"]]
    return local_versions()["openssh"]


@pytest.fixture(scope="module")
def transport(sftp_peer: PeerInfo) -> Iterator[Transport]:
    t = connect(sftp_peer)
    yield t
    t.close()


@pytest.fixture
def remote(transport: Transport, sftp_peer: PeerInfo, request: pytest.FixtureRequest) -> Iterator[Remote]:
    assert sftp_peer.home is not None
    name = "t-" + re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:80]
    sftp = transport.open_sftp_client()
    sftp.mkdir(name)
    sftp.chdir(name)
    local = sftp_peer.home / name
    try:
        yield Remote(sftp, local, sftp_peer, transport)
    finally:
        sftp.close()
        shutil.rmtree(local, ignore_errors=True)


def pattern(nbytes: int, seed: int = 1) -> Iterator[bytes]:
    """Deterministic, incompressible, position-dependent data in 1 MiB chunks (AES-CTR keystream:
    fast to make, and any misplaced block changes the digest)."""
    enc = Cipher(algorithms.AES(seed.to_bytes(16, "big")), modes.CTR(bytes(16))).encryptor()
    zeros = bytes(MiB)
    while nbytes > 0:
        chunk = enc.update(zeros[: min(MiB, nbytes)])
        nbytes -= len(chunk)
        yield chunk


def write_pattern(path: Path, nbytes: int, seed: int = 1) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for chunk in pattern(nbytes, seed):
            fh.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


# == session ====================================================================================


def test_handshake_extensions_and_limits(remote: Remote) -> None:
    sftp = remote.sftp
    assert sftp.server_version == 3
    announced = {name: sftp.supports(name) for name in OPENSSH_EXTENSIONS}
    assert announced == {name: name not in remote.lacks for name in OPENSSH_EXTENSIONS}, remote.lacks
    if "limits@openssh.com" in remote.lacks:
        assert sftp.limits is None and (sftp.read_length, sftp.write_length) == (32768, 32768)
    else:
        assert sftp.limits is not None and sftp.limits.max_read_length >= 32768
        assert sftp.read_length == min(sftp.limits.max_read_length, 256 * 1024 - 1024)
    assert sftp.get_channel() is sftp.sock


def test_context_manager_and_close(transport: Transport) -> None:
    with transport.open_sftp_client() as sftp:
        assert sftp.normalize(".").startswith("/")
    with pytest.raises(OSError, match="closed"):
        sftp.stat(".")
    with SFTPClient.from_transport(transport) as again:  # the transport is still usable
        assert again.listdir(".") is not None


# == files ======================================================================================


def test_open_write_read_seek_tell_and_lines(remote: Remote) -> None:
    sftp = remote.sftp
    with sftp.open("notes.txt", "w") as f:
        f.write("alpha\n")
        f.writelines(["beta\n", "gamma"])
        assert f.tell() == 16
    assert (remote.local / "notes.txt").read_bytes() == b"alpha\nbeta\ngamma"
    with sftp.file("notes.txt", "r") as f:
        assert f.readline() == "alpha\n"
        assert f.read(4) == b"beta"
        assert f.tell() == 10
        f.seek(-5, io.SEEK_END)
        assert f.read() == b"gamma"
        f.seek(0)
        assert list(f) == ["alpha\n", "beta\n", "gamma"]
        assert f.stat().st_size == 16
    with sftp.open("notes.txt", "rb") as f:
        assert f.readlines() == [b"alpha\n", b"beta\n", b"gamma"]
    with sftp.open("notes.txt", "r+") as f:
        f.seek(6)
        f.write(b"BETA")
        f.flush()
        f.seek(0)
        assert f.read() == b"alpha\nBETA\ngamma"
    with sftp.open("notes.txt", "a") as f:
        f.write(b"!")
    assert (remote.local / "notes.txt").read_bytes() == b"alpha\nBETA\ngamma!"
    with pytest.raises(OSError) as info:  # O_EXCL on an existing file
        sftp.open("notes.txt", "x")
    assert isinstance(info.value, SFTPError)
    with sftp.open("new.txt", "x") as f:
        f.write(b"fresh")
    assert (remote.local / "new.txt").read_bytes() == b"fresh"


def test_file_attributes_chmod_truncate_utime_fsync_statvfs(remote: Remote) -> None:
    sftp = remote.sftp
    with sftp.open("f.bin", "wb") as f:
        f.write(b"x" * 1000)
        f.flush()
        f.chmod(0o600)
        f.truncate(100)
        f.utime((1_000_000_000, 1_200_000_000))
        f.fsync()
        vfs = f.statvfs()
        assert vfs.f_bsize > 0 and vfs.f_namemax >= 255
        attrs = f.stat()
        f.chown(attrs.st_uid, attrs.st_gid)  # to itself: allowed for an unprivileged user
    st = (remote.local / "f.bin").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_size, int(st.st_mtime), int(st.st_atime)) == (
        0o600, 100, 1_200_000_000, 1_000_000_000)  # fmt: skip


def test_prefetch_readv_and_pipelined_writes(remote: Remote) -> None:
    sftp = remote.sftp
    data = b"".join(pattern(3 * MiB + 12345, seed=7))
    with sftp.open("big.bin", "wb") as f:
        f.set_pipelined(True)
        for offset in range(0, len(data), 100_000):
            f.write(data[offset : offset + 100_000])
    assert (remote.local / "big.bin").read_bytes() == data
    with sftp.open("big.bin", "rb") as f:
        f.prefetch()
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]
    with sftp.open("big.bin", "rb") as f:
        chunks = [(0, 10), (MiB, 300_000), (len(data) - 5, 100), (len(data) + 10, 10), (5, 0)]
        assert list(f.readv(chunks)) == [data[o : o + n] for o, n in chunks]
        f.seek(2 * MiB)
        assert f.read(600_000) == data[2 * MiB : 2 * MiB + 600_000]


# == directories and names ======================================================================


def test_mkdir_listdir_rename_remove_rmdir(remote: Remote) -> None:
    sftp = remote.sftp
    sftp.mkdir("sub", 0o750)
    assert stat.S_IMODE((remote.local / "sub").stat().st_mode) == 0o750
    for name in ("a", "b", "c"):
        remote.plant(f"sub/{name}", name.encode())
    assert sorted(sftp.listdir("sub")) == ["a", "b", "c"]
    attrs = {a.filename: a for a in sftp.listdir_attr("sub")}
    assert attrs["b"].st_size == 1 and "b" in attrs["b"].longname and stat.S_ISREG(attrs["b"].st_mode)
    assert sorted(a.filename for a in sftp.listdir_iter("sub", read_aheads=3)) == ["a", "b", "c"]
    sftp.rename("sub/a", "sub/a2")
    with pytest.raises(OSError):  # plain RENAME does not replace on OpenSSH
        sftp.rename("sub/a2", "sub/b")
    sftp.posix_rename("sub/a2", "sub/b")
    assert (remote.local / "sub/b").read_bytes() == b"a"
    sftp.remove("sub/b")
    sftp.unlink("sub/c")
    with pytest.raises(OSError):  # not empty
        sftp.rmdir(".")
    sftp.rmdir("sub")
    assert not (remote.local / "sub").exists()


def test_symlink_readlink_lstat_hardlink_normalize_chdir(remote: Remote) -> None:
    sftp = remote.sftp
    remote.plant("target.txt", b"1234")
    sftp.symlink("target.txt", "link")
    assert os.readlink(remote.local / "link") == "target.txt"  # the argument order the server wants
    assert sftp.readlink("link") == "target.txt"
    assert stat.S_ISLNK(sftp.lstat("link").st_mode) and sftp.stat("link").st_size == 4
    sftp.lsetstat("link", SFTPAttributes(st_atime=1_000_000_000, st_mtime=1_000_000_000))
    assert int(os.lstat(remote.local / "link").st_mtime) == 1_000_000_000
    assert int((remote.local / "target.txt").stat().st_mtime) != 1_000_000_000
    sftp.hardlink("target.txt", "hard")
    assert (remote.local / "hard").stat().st_ino == (remote.local / "target.txt").stat().st_ino
    cwd = sftp.getcwd()
    assert cwd is not None and cwd.endswith(remote.local.name)
    assert sftp.normalize("link") == f"{cwd}/target.txt"  # REALPATH resolves symlinks
    assert sftp.normalize("..") == cwd.rsplit("/", 1)[0]
    home = cwd.rsplit("/", 1)[0]
    if "expand-path@openssh.com" in remote.lacks:
        with pytest.raises(OSError) as info:  # refused locally, nothing sent
            sftp.expand_path("~")
        assert info.value.errno == errno.EOPNOTSUPP
    else:
        assert sftp.expand_path("~") == home
    sftp.chdir("..")
    assert sftp.getcwd() == home
    assert remote.local.name in sftp.listdir()
    sftp.chdir(None)
    assert sftp.getcwd() is None


def test_setstat_chmod_chown_utime_truncate_by_path(remote: Remote) -> None:
    sftp = remote.sftp
    path = remote.plant("p.bin", b"0123456789")
    sftp.chmod("p.bin", 0o640)
    sftp.truncate("p.bin", 4)
    sftp.utime("p.bin", (1_100_000_000, 1_100_000_001))
    attrs = sftp.stat("p.bin")
    sftp.chown("p.bin", attrs.st_uid, attrs.st_gid)
    st = path.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_size, int(st.st_mtime)) == (0o640, 4, 1_100_000_001)
    before = time.time()
    sftp.utime("p.bin", None)
    assert path.stat().st_mtime >= int(before) - 1
    sftp.setstat("p.bin", SFTPAttributes(st_mode=0o600))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vfs = sftp.statvfs(".")
    local = os.statvfs(remote.local)
    assert (vfs.f_bsize, vfs.f_blocks) == (local.f_bsize, local.f_blocks)


def test_get_put_getfo_putfo_with_progress(remote: Remote, tmp_path: Path) -> None:
    sftp = remote.sftp
    data = b"".join(pattern(MiB + 777, seed=3))
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    progress: list[tuple[int, int]] = []
    attrs = sftp.put(src, "up.bin", callback=lambda done, total: progress.append((done, total)))
    assert attrs.st_size == len(data) and progress[-1] == (len(data), len(data))
    assert (remote.local / "up.bin").read_bytes() == data
    progress.clear()
    sftp.get("up.bin", tmp_path / "down.bin", callback=lambda done, total: progress.append((done, total)))
    assert (tmp_path / "down.bin").read_bytes() == data and progress[-1] == (len(data), len(data))
    sftp.putfo(io.BytesIO(b"small"), "fo.bin")
    out = io.BytesIO()
    assert sftp.getfo("fo.bin", out) == 5 and out.getvalue() == b"small"
    sftp.putfo(io.BytesIO(b""), "empty.bin")
    assert sftp.getfo("empty.bin", out) == 0 and (remote.local / "empty.bin").stat().st_size == 0


# == errors =====================================================================================


def test_no_such_file_everywhere(remote: Remote) -> None:
    sftp = remote.sftp
    calls = {
        "stat": lambda: sftp.stat("missing"),
        "lstat": lambda: sftp.lstat("missing"),
        "open": lambda: sftp.open("missing"),
        "remove": lambda: sftp.remove("missing"),
        "rmdir": lambda: sftp.rmdir("missing"),
        "listdir": lambda: sftp.listdir("missing"),
        "readlink": lambda: sftp.readlink("missing"),
        "chmod": lambda: sftp.chmod("missing", 0o600),
        "get": lambda: sftp.getfo("missing", io.BytesIO()),
        "normalize": lambda: sftp.normalize("missing/deeper"),
    }
    for what, call in calls.items():
        with pytest.raises(FileNotFoundError) as info:
            call()
        assert info.value.errno == errno.ENOENT, what
        assert "missing" in str(info.value), what
    with pytest.raises(FileNotFoundError) as info:
        sftp.rename("missing", "other")
    assert info.value.filename2 is not None and info.value.filename2.endswith("other")


def test_permission_denied(remote: Remote) -> None:
    sftp = remote.sftp
    with sftp.open("secret", "w") as f:
        f.write(b"no peeking")
    sftp.chmod("secret", 0)
    for mode in ("r", "w", "a"):
        with pytest.raises(PermissionError) as info:
            sftp.open("secret", mode)
        assert info.value.errno == errno.EACCES and "secret" in str(info.value)
    with pytest.raises(PermissionError):
        sftp.getfo("secret", io.BytesIO())
    sftp.mkdir("locked", 0)
    with pytest.raises(PermissionError):
        sftp.listdir("locked")
    with pytest.raises(PermissionError):
        sftp.putfo(io.BytesIO(b"x"), "locked/file")
    sftp.chmod("locked", 0o700)


def test_not_a_directory(remote: Remote) -> None:
    sftp = remote.sftp
    remote.plant("plain", b"x")
    for call in (lambda: sftp.listdir("plain"), lambda: list(sftp.listdir_iter("plain")),
                 lambda: sftp.chdir("plain")):  # fmt: skip
        with pytest.raises(NotADirectoryError) as info:
            call()
        assert info.value.errno == errno.ENOTDIR and "plain" in str(info.value)
    # Inside a path, OpenSSH's server maps ENOTDIR to NO_SUCH_FILE (v3 has no better code).
    with pytest.raises(FileNotFoundError):
        sftp.stat("plain/child")
    with pytest.raises(FileNotFoundError):
        sftp.mkdir("plain/child")


def test_directory_removed_while_listed(remote: Remote) -> None:
    sftp = remote.sftp
    doomed = remote.local / "doomed"
    doomed.mkdir()
    for i in range(2000):
        (doomed / f"entry-{i:05d}").touch()
    entries = sftp.listdir_iter("doomed", read_aheads=1)
    first = next(entries)
    assert first.filename.startswith("entry-")
    shutil.rmtree(doomed)
    with pytest.raises(FileNotFoundError, match="removed while it was listed"):
        list(entries)
    with pytest.raises(FileNotFoundError):
        sftp.listdir("doomed")


def test_errors_leave_the_session_usable(remote: Remote) -> None:
    sftp = remote.sftp
    for _ in range(3):
        with pytest.raises(OSError):
            sftp.open("nope/nope")
    remote.plant("ok", b"fine")
    assert sftp.open("ok").read() == b"fine"


# == scale ======================================================================================


def test_ten_thousand_entry_listing(remote: Remote) -> None:
    sftp = remote.sftp
    many = remote.local / "many"
    many.mkdir()
    names = {f"file-{i:05d}.dat" for i in range(10_000)}
    for name in names:
        (many / name).touch()
    assert set(sftp.listdir("many")) == names
    listed = sftp.listdir_attr("many")
    assert len(listed) == 10_000 and all(a.st_size == 0 and a.longname for a in listed)
    assert sum(1 for _ in sftp.listdir_iter("many")) == 10_000


@pytest.fixture(scope="session")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The 256 MiB pattern file and its SHA-256, made once per worker (not per peer): making and
    hashing it costs about a second, and the peers only ever read it."""
    src = tmp_path_factory.mktemp("big") / "src.bin"
    return src, write_pattern(src, 256 * MiB, seed=256)


@pytest.mark.slow
def test_256_mib_put_and_get_sha256(remote: Remote, big_source: tuple[Path, str], tmp_path: Path) -> None:
    size = 256 * MiB
    src, digest = big_source
    sftp = remote.sftp
    attrs = sftp.put(src, "big.bin")
    assert attrs.st_size == size
    assert sha256_file(remote.local / "big.bin") == digest, "uploaded file differs"
    dst = tmp_path / "dst.bin"
    sftp.get("big.bin", dst)
    assert dst.stat().st_size == size
    assert sha256_file(dst) == digest, "downloaded file differs"


def _transfer_with_rekey(remote: Remote, size: int, action: Callable[[Callable[[int, int], None]], None]) -> None:
    """Run ``action(progress)``; at a quarter of the bytes, another thread re-keys the transport."""
    t = remote.transport
    before = t.negotiated
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []

    def rekey() -> None:
        try:
            t.renegotiate_keys(timeout=60)
        except BaseException as exc:
            errors.append(exc)

    def progress(done: int, total: int) -> None:
        if done >= size // 4 and not threads:
            threads.append(threading.Thread(target=rekey, daemon=True))
            threads[0].start()

    action(progress)
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert threads and t.negotiated is not before, "no key re-exchange happened during the transfer"


def test_transfer_across_a_rekey(remote: Remote, tmp_path: Path) -> None:
    """A key re-exchange started from another thread while WRITEs, then READs, are in flight."""
    size = 48 * MiB
    src = tmp_path / "src.bin"
    digest = write_pattern(src, size, seed=48)
    _transfer_with_rekey(remote, size, lambda progress: remote.sftp.put(src, "rekey.bin", callback=progress))
    assert sha256_file(remote.local / "rekey.bin") == digest
    back = tmp_path / "back.bin"
    _transfer_with_rekey(remote, size, lambda progress: remote.sftp.get("rekey.bin", back, callback=progress))
    assert sha256_file(back) == digest


def test_concurrent_use_from_two_threads(remote: Remote) -> None:
    """One thread downloads while another issues small requests on the same session."""
    sftp = remote.sftp
    data = b"".join(pattern(8 * MiB, seed=9))
    remote.plant("shared.bin", data)
    results: dict[str, object] = {}

    def download() -> None:
        out = io.BytesIO()
        sftp.getfo("shared.bin", out)
        results["download"] = out.getvalue()

    thread = threading.Thread(target=download)
    thread.start()
    sizes = [sftp.stat("shared.bin").st_size for _ in range(50)]
    thread.join(60)
    assert sizes == [len(data)] * 50
    assert results["download"] == data


# == the peer matrix ============================================================================


def test_matrix_peer_round_trip(server: PeerInfo) -> None:
    """Handshake, a pipelined round trip and the extensions each server version offers."""
    t = connect(server)
    try:
        try:
            sftp = t.open_sftp_client()
        except SSHException as exc:
            pytest.skip(f"{server.peer_id} has no SFTP server ({exc})")
        with sftp:
            data = b"".join(pattern(2 * MiB + 3, seed=11))
            name = f"matrix-{os.getpid()}.bin"
            sftp.putfo(io.BytesIO(data), name)
            out = io.BytesIO()
            sftp.getfo(name, out)
            assert out.getvalue() == data
            assert name in sftp.listdir(".")
            offered = [n for n in OPENSSH_EXTENSIONS if sftp.supports(n)]
            if sftp.supports("statvfs@openssh.com"):
                assert sftp.statvfs(".").f_bsize > 0
            else:
                with pytest.raises(OSError) as info:
                    sftp.statvfs(".")
                assert info.value.errno == errno.EOPNOTSUPP
            if not sftp.supports("limits@openssh.com"):
                assert sftp.read_length == 32768, offered
            sftp.remove(name)
    finally:
        t.close()


# == the SFTP benchmark =========================================================================


def test_sftp_benchmark_runs_every_client(openssh_server: PeerInfo, tmp_path: Path) -> None:
    """`harness bench --only sftp` in miniature against the local sshd: all four clients (ours,
    paramiko, AsyncSSH, OpenSSH's sftp -b) move the file both ways and every result checks out,
    so the benchmark cannot rot unnoticed (figures are not judged here)."""
    from harness.benchmark import report
    from harness.benchmark import sftp as bench_sftp
    from harness.benchmark.clients import Target

    info = openssh_server
    assert info.home is not None
    target = Target(info.peer_id, info.host, info.port, info.username, Path(info.client_keys["ed25519"]),
                    Path(info.known_hosts))  # fmt: skip
    server = bench_sftp.SFTPTarget(info.peer_id, info.banner, target, info.home)
    res = bench_sftp.measure(server, tmp_path, size_mib=1, reps=1, log=lambda _: None)
    assert res["errors"] == []
    measured = {(r["client"], r["direction"]) for r in res["rows"]}
    assert measured == {(c, d) for c in bench_sftp.SFTP_CLIENTS for d in bench_sftp.DIRECTIONS}
    assert all(r["mb_s"]["median"] > 0 and r["client_cpu_ms_per_mb"]["median"] >= 0 for r in res["rows"])
    assert res["sftp_login_baseline_s"] is not None and res["sftp_login_baseline_s"] > 0
    assert not (info.home / bench_sftp.REMOTE_NAME).exists(), "the benchmark left its file behind"
    summary = report.markdown({"date": "now", "machine": {"host": "h", "cpu": "c", "cpus": 2, "memory": "m",
                                                           "kernel": "k", "python": "3", "versions": {}},
                               "load_start": [0.0], "sections": ["sftp"], "errors": [], "sftp": res,
                               "targets": report.targets({"sftp": res})})  # fmt: skip
    assert "| ours / AsyncSSH |" in summary and "| OpenSSH sftp |" in summary
    assert [t["target"] for t in report.targets({"sftp": res})] == [
        "SFTP get: MB/s >= AsyncSSH's", "SFTP get: client CPU ms/MB <= AsyncSSH's",
        "SFTP put: MB/s >= AsyncSSH's", "SFTP put: client CPU ms/MB <= AsyncSSH's"]  # fmt: skip
