"""Peer registry and selection: stable ids, roles, and which launcher starts them.

Every server peer has a stable id (``openssh-9.2``, ``dropbear-2025.89``, ``tinyssh`` ...). The
Docker launcher can start all of them; the local-process launcher (the fallback when no Docker
engine runs) can start only the releases installed on this machine, and says so clearly when
asked for another one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.peers import zoo
from harness.peers.base import PeerError, PeerInfo, make_peer_id

LAUNCHERS = ("docker", "process")

# Client key types each product accepts for user authentication (tinysshd: Ed25519 only).
CLIENT_KEY_TYPES = {
    "openssh": ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem", "ed25519-encrypted"),
    "dropbear": ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem", "ed25519-encrypted"),
    "tinyssh": ("ed25519", "ed25519-encrypted"),
}
CLIENT_KEY_TYPES.update(zoo.client_key_types())


# Products that allow one session channel per connection (tinysshd), and products without
# subsystems configured in our images (tinysshd serves none unless started with -x).
SINGLE_SESSION = frozenset({"tinyssh"})
NO_SUBSYSTEMS = frozenset({"tinyssh"}) | zoo.products_without_subsystems()


def product_of(info: PeerInfo) -> str:
    return info.product if info.product else info.peer_id.split("-")[0]


@dataclass(frozen=True)
class PeerEntry:
    peer_id: str
    product: str
    role: str  # "server", or "client" (harness.peers.client_peers and the zoo's ZOO_CLIENTS)
    launchers: tuple[str, ...]


def docker_peer_ids() -> tuple[str, ...]:
    from harness.peers.docker import PEERS

    return tuple(PEERS)


def sanitizer_peer_ids() -> tuple[str, ...]:
    """Sanitizer builds (Docker only) for live-peer fuzzing; not in the default peer sets."""
    from harness.peers.docker import SANITIZER_PEERS

    return tuple(SANITIZER_PEERS)


@cache
def local_versions() -> dict[str, str]:
    """Peer ids of the locally installed servers, by product ({} entries where none is installed)."""
    found: dict[str, str] = {}
    if Path("/usr/sbin/sshd").exists():
        out = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True, timeout=10)
        match = re.search(r"OpenSSH_(\S+?)[,\s]", out.stderr + out.stdout)
        if match:
            found["openssh"] = make_peer_id("openssh", match.group(1))
    if Path("/usr/sbin/dropbear").exists():
        out = subprocess.run(["/usr/sbin/dropbear", "-V"], capture_output=True, text=True, timeout=10)
        match = re.search(r"v(\d{4}\.\d+)", out.stderr + out.stdout)
        if match:
            found["dropbear"] = make_peer_id("dropbear", match.group(1))
    return found


def registry() -> list[PeerEntry]:
    local = set(local_versions().values())
    entries = []
    for peer_id in docker_peer_ids():
        product = peer_id.split("-")[0]
        launchers = ("docker", "process") if peer_id in local else ("docker",)
        entries.append(PeerEntry(peer_id, product, "server", launchers))
    entries += [PeerEntry(peer_id, zoo.ZOO_SERVERS[peer_id].product, "server", ("docker",))
                for peer_id in zoo.zoo_server_ids()]  # opt-in: not in default_peer_ids
    entries += client_entries()
    entries += [PeerEntry(client_id, zoo.ZOO_CLIENTS[client_id].product, "client", ("docker",))
                for client_id in zoo.zoo_client_ids()]  # the zoo's clients (harness.peers.zoo.ZooClient)
    return entries


def client_entries(sanitizer: bool = False) -> list[PeerEntry]:
    """The client peers (packaged ones, or with ``sanitizer`` the sanitizer builds)."""
    from harness.peers.client_peers import client_specs

    return [PeerEntry(spec.peer_id, spec.product, "client", ("docker",) if spec.container else ("process",))
            for spec in client_specs().values() if spec.sanitizer == sanitizer and not spec.zoo]  # fmt: skip


def default_launcher() -> str:
    """docker when an engine answers, else process; HARNESS_REQUIRE_DOCKER=1 forbids the fallback."""
    from harness.peers.docker import docker_available

    ok, reason = docker_available()
    if ok:
        return "docker"
    if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
        raise PeerError(f"HARNESS_REQUIRE_DOCKER=1 but no Docker engine answers: {reason} "
                        "(run containers/bootstrap.sh)")  # fmt: skip
    return "process"


def default_peer_ids(launcher: str) -> list[str]:
    if launcher == "docker":
        return list(docker_peer_ids())
    return list(local_versions().values())


def start_peer(peer_id: str, launcher: str, workdir: Path | None = None, **options: Any) -> Any:
    """Start ``peer_id`` with ``launcher``; returns a handle with .info, .logs(), .stop()."""
    if peer_id in zoo.ZOO_SERVERS:
        if launcher != "docker":
            raise PeerError(f"{peer_id} is a zoo peer: it runs only with the docker launcher")
        from harness.peers.zoo_docker import start_zoo_server

        return start_zoo_server(peer_id, workdir, **options)
    if launcher == "docker":
        from harness.peers.docker import peer_image_status
        from harness.peers.docker import start_peer as docker_start

        known = peer_id in docker_peer_ids() or peer_id in sanitizer_peer_ids()
        present, reason = peer_image_status(peer_id) if known else (True, "")
        if not present:
            raise PeerError(f"{peer_id}: {reason} (build it with `harness peers build` or containers/bootstrap.sh)")
        return docker_start(peer_id, workdir, **options)
    if launcher != "process":
        raise ValueError(f"unknown launcher {launcher!r}; choose from {LAUNCHERS}")
    from harness.peers.process import start_dropbear_server, start_openssh_server

    local = local_versions()
    product = peer_id.split("-")[0]
    if local.get(product) != peer_id:
        have = ", ".join(local.values()) or "none"
        raise PeerError(f"{peer_id} is not installed locally (local servers: {have}); use --launcher docker")
    starters: dict[str, Callable[..., Any]] = {"openssh": start_openssh_server, "dropbear": start_dropbear_server}
    return starters[product](workdir, **options)


def info_supports_password(info: PeerInfo) -> bool:
    methods = info.extra.get("auth_methods", "publickey,password")
    return "password" in methods.split(",")
