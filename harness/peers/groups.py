"""Peer groups a user can name instead of ids: ``--peer zoo`` runs the zoo's servers, ``--peer
all`` the default peers and the zoo, ``--peer default`` the default set (also with other ids);
the same words for ``--client-peer``. Why here: the CLI and the pytest plugin take the same
options and must agree on what a group holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

GROUPS = ("default", "zoo", "all")


def _members(role: str) -> dict[str, Callable[[], list[str]]]:
    from harness.peers import zoo

    if role == "server":
        from harness.peers.registry import docker_peer_ids

        default: Callable[[], list[str]] = lambda: list(docker_peer_ids())  # noqa: E731
        zoo_ids: Callable[[], list[str]] = lambda: list(zoo.zoo_server_ids())  # noqa: E731
    else:
        from harness.peers.client_peers import default_client_peer_ids

        default = lambda: default_client_peer_ids(docker=True)  # noqa: E731
        zoo_ids = lambda: list(zoo.zoo_client_ids())  # noqa: E731
    return {"default": default, "zoo": zoo_ids, "all": lambda: [*default(), *zoo_ids()]}


def expand(ids: Sequence[str], role: str) -> list[str]:
    """``ids`` with each group word replaced by its members (order kept, no duplicates)."""
    if role not in ("server", "client"):
        raise ValueError(f"role must be 'server' or 'client', not {role!r}")
    members = _members(role)
    out: list[str] = []
    for item in ids:
        for peer_id in members[item]() if item in members else [item]:
            if peer_id not in out:
                out.append(peer_id)
    return out
