"""Peer groups a user can name instead of ids: ``--peer zoo`` runs the zoo's servers, ``--peer
all`` the default peers and the zoo, ``--peer default`` the default set (also with other ids);
the same words for ``--client-peer``. Why here: the CLI and the pytest plugin take the same
options and must agree on what a group holds."""

from __future__ import annotations

from collections.abc import Sequence

GROUPS = ("default", "zoo", "all")


def members(group: str, role: str) -> list[str]:
    """The peer ids of ``group`` (one of GROUPS) for ``role``."""
    from harness.peers import zoo

    if role == "server":
        from harness.peers.registry import docker_peer_ids

        default, zoo_ids = list(docker_peer_ids()), list(zoo.zoo_server_ids())
    else:
        from harness.peers.client_peers import default_client_peer_ids

        default, zoo_ids = default_client_peer_ids(docker=True), list(zoo.zoo_client_ids())
    return {"default": default, "zoo": zoo_ids, "all": default + zoo_ids}[group]


def expand(ids: Sequence[str], role: str) -> list[str]:
    """``ids`` with each group word replaced by its members (order kept, no duplicates)."""
    if role not in ("server", "client"):
        raise ValueError(f"role must be 'server' or 'client', not {role!r}")
    out: list[str] = []
    for item in ids:
        for peer_id in members(item, role) if item in GROUPS else [item]:
            if peer_id not in out:
                out.append(peer_id)
    return out
