"""What every peer launcher shares: the launcher-neutral :class:`PeerInfo`, errors and key helpers.

Why launcher-neutral: scenarios get a :class:`PeerInfo` and never care whether the server is a
local process or a Docker container; everything they need to connect (address, credentials,
keys, known_hosts, the algorithms the peer really offers) is in it. Client keys are generated
once per process (key generation is the slow part of a start) and reused by every server.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.ssh.errors import SSHException

LOOPBACK = "127.0.0.1"
# Passphrase of the "ed25519-encrypted" client key (OpenSSH format, bcrypt KDF).
CLIENT_KEY_PASSPHRASE = "harness-key-passphrase"
# External tools here (ssh-keygen, dropbearkey, ssh -Q) finish in well under a second; a bound
# keeps a wedged tool from hanging a test run.
TOOL_TIMEOUT = 60.0
# How much of a server log a start error quotes: enough for the fatal lines, not the whole debug log.
LOG_TAIL_CHARS = 4000

SSH_KEYGEN = "/usr/bin/ssh-keygen"

# Client key name -> ssh-keygen arguments. Names match PeerInfo.client_keys / host_public_keys.
_CLIENT_KEY_SPECS: dict[str, tuple[str, ...]] = {
    "ed25519": ("-t", "ed25519"),
    "ecdsa-256": ("-t", "ecdsa", "-b", "256"),
    "ecdsa-384": ("-t", "ecdsa", "-b", "384"),
    "ecdsa-521": ("-t", "ecdsa", "-b", "521"),
    "rsa": ("-t", "rsa", "-b", "3072"),
    # The classic PEM ("BEGIN RSA PRIVATE KEY") encoding, still common in the wild.
    "rsa-pem": ("-t", "rsa", "-b", "2048", "-m", "PEM"),
    "ed25519-encrypted": ("-t", "ed25519"),
}


class PeerError(SSHException):
    """Root of launcher errors (setting up, starting or stopping a real peer)."""


class PeerStartError(PeerError):
    """A peer did not come up; the message includes the tail of its log."""


@dataclass(frozen=True)
class PeerInfo:
    """Everything a test needs to talk to one running peer, independent of how it was launched.

    ``algorithms`` holds what the server offered in its KEXINIT (keys ``kex``, ``host_key``,
    ``cipher_c2s`` ... ``compression_s2c`` and ``banner``) and, where the launcher can ask the
    build, what it supports (``supported_*``), so reports can tell "not built" from "not offered".
    """

    peer_id: str
    product: str
    version: str
    host: str
    port: int
    banner: str
    username: str
    password: str
    host_public_keys: dict[str, Path]
    client_keys: dict[str, Path]
    known_hosts: Path
    algorithms: dict[str, tuple[str, ...]]
    workdir: Path
    log_path: Path
    # The per-run home of the test user as seen from outside the server (files written over
    # SFTP or by commands land here); None when the launcher cannot expose it.
    home: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def run_tool(argv: Sequence[str], *, timeout: float = TOOL_TIMEOUT, stdin: str | None = None) -> str:
    """Run a helper tool, return its stdout; failures become :class:`PeerError` with stderr."""
    try:
        result = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerError(f"{argv[0]} could not run: {exc}") from exc
    if result.returncode != 0:
        raise PeerError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()[-LOG_TAIL_CHARS:]}")
    return result.stdout


def pick_free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (the kernel's choice for port 0).

    There is a race until the server binds it; launchers detect a lost race (bind failure, or
    another process owning the listener) and retry with a new port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def parse_software_version(banner: str) -> tuple[str, str]:
    """(product, version) from an identification line, e.g. ("openssh", "9.2p1")."""
    head = banner.split(" ", 1)[0]
    software = head.split("-", 2)[2] if head.count("-") >= 2 else head
    match = re.match(r"OpenSSH_(\S+)", software)
    if match:
        return "openssh", match.group(1)
    match = re.match(r"dropbear_(\S+)", software, re.IGNORECASE)
    if match:
        return "dropbear", match.group(1)
    product, _, version = software.partition("_")
    return product.lower(), version


def make_peer_id(product: str, version: str) -> str:
    """Short stable id: OpenSSH by major.minor ("openssh-9.2"), others by full version."""
    if product == "openssh":
        match = re.match(r"(\d+\.\d+)", version)
        if match:
            return f"openssh-{match.group(1)}"
    return f"{product}-{version}"


def public_key_line(path: Path) -> str:
    """First line of an OpenSSH ``.pub`` file, without the comment ("type base64")."""
    parts = path.read_text().split()
    if len(parts) < 2:
        raise PeerError(f"not an OpenSSH public key file: {path}")
    return f"{parts[0]} {parts[1]}"


def write_known_hosts(path: Path, host: str, port: int, pubkeys: Mapping[str, Path]) -> Path:
    """known_hosts with one ``[host]:port type base64`` line per host key (OpenSSH syntax)."""
    name = host if port == 22 else f"[{host}]:{port}"
    lines = [f"{name} {public_key_line(pub)}" for pub in pubkeys.values()]
    path.write_text("\n".join(lines) + "\n")
    return path


def authorized_keys_text(client_keys: Mapping[str, Path]) -> str:
    """authorized_keys content accepting every client key (public halves of ``client_keys``)."""
    return "".join(f"{public_key_line(Path(str(p) + '.pub'))} harness-{name}\n" for name, p in client_keys.items())


def tail(text: str, limit: int = LOG_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


def generate_openssh_key(path: Path, args: Sequence[str], passphrase: str = "") -> subprocess.Popen[str]:
    """Start ``ssh-keygen`` for one key (returns the process so callers can run several at once)."""
    return subprocess.Popen(
        [SSH_KEYGEN, "-q", *args, "-N", passphrase, "-C", f"harness-{path.name}", "-f", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_all(procs: Mapping[str, subprocess.Popen[str]], what: str) -> None:
    """Wait for concurrently started key generators; any failure raises :class:`PeerError`."""
    errors = []
    for name, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            errors.append(f"{name}: timed out")
            continue
        if proc.returncode != 0:
            errors.append(f"{name}: {err.strip()}")
    if errors:
        raise PeerError(f"generating {what} failed: " + "; ".join(errors))


class LiveServers:
    """The servers a launcher started and has not stopped; all are stopped at interpreter exit.

    Nothing a test forgot may outlive the interpreter (a crash is handled by the next start).
    One instance per launcher; servers call ``add`` when started and ``discard`` when stopped.
    """

    def __init__(self) -> None:
        self._servers: set[object] = set()
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def add(self, server: object) -> None:
        with self._lock:
            self._servers.add(server)

    def discard(self, server: object) -> None:
        with self._lock:
            self._servers.discard(server)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers)
        for server in servers:
            try:
                server.stop()  # type: ignore[attr-defined]
            except Exception:
                pass


class _ClientKeyCache:
    """Client keys made once per process in a private temp dir, removed at exit.

    Keyed by pid so pytest-xdist workers (and forks) each own their directory and never race on
    half-written files.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._dir: Path | None = None
        self._keys: dict[str, Path] = {}

    def get(self) -> dict[str, Path]:
        with self._lock:
            if self._pid != os.getpid() or not self._keys or not all(p.exists() for p in self._keys.values()):
                self._generate()
            return dict(self._keys)

    def _generate(self) -> None:
        directory = Path(tempfile.mkdtemp(prefix=f"harness-client-keys-{os.getpid()}-"))
        keys = {name: directory / f"id_{name.replace('-', '_')}" for name in _CLIENT_KEY_SPECS}
        procs = {
            name: generate_openssh_key(
                keys[name], args, CLIENT_KEY_PASSPHRASE if name == "ed25519-encrypted" else ""
            )
            for name, args in _CLIENT_KEY_SPECS.items()
        }
        wait_all(procs, "client keys")
        self._pid, self._dir, self._keys = os.getpid(), directory, keys
        atexit.register(_remove_if_owner, directory, os.getpid())


def _remove_if_owner(directory: Path, pid: int) -> None:
    """atexit hook: only the process that made the keys removes them (not a forked child)."""
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


_client_keys = _ClientKeyCache()


def client_keys() -> dict[str, Path]:
    """Name -> private key path (OpenSSH format except "rsa-pem"); ``.pub`` files sit beside them."""
    return _client_keys.get()
