"""Client peers: real SSH clients that connect to our server in server-role scenarios.

Eleven peers (plus sanitizer builds), each identified like the server peers:

* ``openssh-client-8.4`` / ``-9.2`` / ``-10.0`` and ``dbclient-2020.81`` / ``-2022.83`` / ``-2025.89``:
  `ssh` and `dbclient` of each Debian release, run from the server peer images
  (:mod:`harness.peers.clients`) on the host network so they reach our 127.0.0.1 listener;
* ``plink-0.78``: the local PuTTY plink (Debian putty-tools), key as a ``.ppk`` from puttygen;
* ``paramiko-client-X.Y`` / ``asyncssh-client-X.Y``: the newest PyPI releases (the harness's own
  interpreter), and ``paramiko-client-debian`` / ``asyncssh-client-debian``: Debian's older
  python3-paramiko / python3-asyncssh under /usr/bin/python3; both driven by a small script of
  ours (``harness/peers/client_scripts/``).

The zoo's clients (:data:`harness.peers.zoo.ZOO_CLIENTS`: libssh, libssh2, JSch, Net::SSH, Go,
Erlang, node's ssh2, Conch, lsh, and AsyncSSH/paramiko of other releases) are client peers too,
opt-in by id (``--client-peer libssh-0.10.6-client``), exec mode only.

Aliases keep the old short names: ``openssh-client``, ``dbclient``, ``plink``, ``paramiko-client``,
``asyncssh-client``. What a peer can do is data here (:attr:`ClientPeerSpec.modes`); how to
invoke it for one run is :mod:`harness.peers.client_invocation`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.peers.base import PeerError
from harness.peers.clients import CLIENT_PEERS, SANITIZER_CLIENT_PEERS

# What a client run does once logged in (the scenario picks; exec is the default).
MODES = ("exec", "shell", "sftp", "forward")
AUTHS = ("publickey", "password")
DEBIAN_PYTHON = "/usr/bin/python3"
PLINK = "/usr/bin/plink"
SCRIPTS = Path(__file__).resolve().parent / "client_scripts"
# Version queries (`plink -V`, an interpreter importing a module) finish in well under a second.
QUERY_TIMEOUT = 30.0

ALIASES = {"openssh-client": "openssh-client-9.2", "dbclient": "dbclient-2022.83"}


@dataclass(frozen=True)
class ClientPeerSpec:
    """One client peer: what it is, where it runs, what it can do."""

    peer_id: str
    product: str  # "openssh", "dropbear", "putty", "paramiko", "asyncssh"
    kind: str  # how it is invoked: "ssh", "dbclient", "plink", "python"
    version: str
    modes: tuple[str, ...]
    container: bool = False  # runs from an image of harness.peers.clients
    interpreter: str = ""  # kind "python": the interpreter that has the library
    sanitizer: bool = False  # a sanitizer build: not in the default set
    zoo: bool = False  # a zoo client (harness.peers.zoo.ZOO_CLIENTS): opt-in, not in the default set

    @property
    def script(self) -> Path:
        return SCRIPTS / f"{self.product}_client.py"


def _container_spec(peer_id: str, sanitizer: bool = False) -> ClientPeerSpec:
    binary = {**CLIENT_PEERS, **SANITIZER_CLIENT_PEERS}[peer_id][0]
    if binary == "ssh":
        return ClientPeerSpec(peer_id, "openssh", "ssh", peer_id.removeprefix("openssh-client-"), MODES, True)
    if binary == "plink":
        return ClientPeerSpec(peer_id, "putty", "plink", peer_id.split("-")[1], MODES, True, sanitizer=sanitizer)
    version = peer_id.removeprefix("dbclient-").removesuffix("-asan")
    # dbclient has no sftp client of its own.
    return ClientPeerSpec(peer_id, "dropbear", "dbclient", version, ("exec", "shell", "forward"), True,
                          sanitizer=sanitizer)  # fmt: skip


@functools.cache
def plink_version() -> str:
    """The local plink's release ("0.78"), "" when it is not installed."""
    try:
        out = subprocess.run([PLINK, "-V"], capture_output=True, text=True, timeout=QUERY_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = re.search(r"Release (\S+)", out.stdout + out.stderr)
    return found.group(1) if found else ""


@functools.cache
def debian_library_version(module: str) -> str:
    """Version of Debian's python3-<module> under /usr/bin/python3, "" when it is not installed."""
    try:
        out = subprocess.run([DEBIAN_PYTHON, "-W", "ignore", "-c", f"import {module}; print({module}.__version__)"],
                             capture_output=True, text=True, timeout=QUERY_TIMEOUT)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _major_minor(version: str) -> str:
    match = re.match(r"(\d+\.\d+)", version)
    return match.group(1) if match else version


@functools.cache
def client_specs() -> dict[str, ClientPeerSpec]:
    """Every client peer by id (sanitizer builds included; see :func:`default_client_peer_ids`)."""
    specs = {pid: _container_spec(pid) for pid in CLIENT_PEERS}
    specs.update({pid: _container_spec(pid, sanitizer=True) for pid in SANITIZER_CLIENT_PEERS})
    plink = plink_version() or "missing"
    specs[f"plink-{plink}"] = ClientPeerSpec(f"plink-{plink}", "putty", "plink", plink, MODES)
    for library in ("paramiko", "asyncssh"):
        try:
            latest = importlib.metadata.version(library)  # a dependency of the harness (pyproject.toml)
        except importlib.metadata.PackageNotFoundError:
            latest = "missing"
        pid = f"{library}-client-{_major_minor(latest)}"
        specs[pid] = ClientPeerSpec(pid, library, "python", latest, MODES, interpreter=sys.executable)
        debian = debian_library_version(library) or "missing"
        pid = f"{library}-client-debian"
        specs[pid] = ClientPeerSpec(pid, library, "python", debian, MODES, interpreter=DEBIAN_PYTHON)
    from harness.peers.zoo import ZOO_CLIENTS

    # The zoo's clients share one command line (ZooClient.argv): log in, run one command.
    specs.update({cid: ClientPeerSpec(cid, c.product, "zoo", c.version, ("exec",), True, zoo=True)
                  for cid, c in ZOO_CLIENTS.items()})  # fmt: skip
    return specs


def _aliases() -> dict[str, str]:
    """Short names: the fixed ones, plus the id without its version for the local packaged
    peers (``plink``, ``paramiko-client``, ``asyncssh-client``: the newest libraries)."""
    aliases = dict(ALIASES)
    for spec in client_specs().values():
        if not spec.container and spec.interpreter != DEBIAN_PYTHON:
            aliases.setdefault(spec.peer_id.rsplit("-", 1)[0], spec.peer_id)
    return aliases


def resolve(peer_id: str) -> ClientPeerSpec:
    """The spec of a client peer id or alias; PeerError names the known ids otherwise."""
    specs = client_specs()
    canonical = _aliases().get(peer_id, peer_id)
    if canonical not in specs:
        raise PeerError(f"unknown client peer {peer_id!r}; known: {', '.join(known_client_peer_ids())}")
    return specs[canonical]


def known_client_peer_ids() -> list[str]:
    """Every client peer id and alias (sanitizer builds included)."""
    return [*client_specs(), *_aliases()]


def default_client_peer_ids(docker: bool) -> list[str]:
    """The client peers a server-role run uses by default (container ones only with Docker)."""
    return [pid for pid, spec in client_specs().items()
            if not spec.sanitizer and not spec.zoo and (docker or not spec.container)]


def check_available(spec: ClientPeerSpec) -> None:
    """Raise PeerError saying what to install when the peer cannot run here."""
    if spec.version == "missing":
        what = {"putty": "putty-tools (plink, puttygen)", "paramiko": "python3-paramiko",
                "asyncssh": "python3-asyncssh"}[spec.product]  # fmt: skip
        if spec.kind == "python" and spec.interpreter != DEBIAN_PYTHON:
            what = f"{spec.product} (in {spec.interpreter}'s environment; pip install -e .)"
        raise PeerError(f"client peer {spec.peer_id}: {what} is not installed (scripts/setup.sh installs it)")
    if spec.container:
        ok, reason = _image_status(spec.peer_id)
        if not ok:
            raise PeerError(f"client peer {spec.peer_id} runs in a container: {reason}")


@functools.cache
def _image_status(peer_id: str) -> tuple[bool, str]:
    """(usable, reason): a Docker engine answers and has the peer's image (asked once per process)."""
    from harness.peers.clients import client_image, docker_cli
    from harness.peers.docker import docker_available

    ok, reason = docker_available()
    if not ok:
        return False, reason
    image = client_image(peer_id)
    found = subprocess.run([docker_cli(), "image", "inspect", "-f", "{{.Id}}", image], capture_output=True,
                           timeout=QUERY_TIMEOUT, check=False)  # fmt: skip
    if found.returncode != 0:
        return False, f"image {image} is not built (containers/bootstrap.sh)"
    return True, image


def client_image_or_binary(peer_id: str) -> str:
    """Where a client peer comes from, for `harness peers list`: its image or its program."""
    spec = resolve(peer_id)
    if spec.container:
        from harness.peers.clients import client_image

        ok, reason = _image_status(peer_id)
        return client_image(peer_id) if ok else f"- ({reason})"
    if spec.kind == "python":
        return f"{spec.interpreter} ({spec.product} {spec.version})"
    return PLINK if spec.version != "missing" else "- (putty-tools not installed)"
