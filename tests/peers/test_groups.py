"""Peer groups (harness/peers/groups.py): the words the CLI and the pytest plugin share."""

from __future__ import annotations

import pytest

from harness.peers.client_peers import default_client_peer_ids
from harness.peers.groups import expand
from harness.peers.registry import docker_peer_ids
from harness.peers.zoo import zoo_client_ids, zoo_server_ids


def test_zoo_and_all_name_the_zoo_servers_and_clients() -> None:
    assert expand(["zoo"], "server") == list(zoo_server_ids())
    assert expand(["zoo"], "client") == list(zoo_client_ids())
    assert expand(["all"], "server") == [*docker_peer_ids(), *zoo_server_ids()]
    assert expand(["all"], "client") == [*default_client_peer_ids(docker=True), *zoo_client_ids()]
    assert "uppity-0.78" in expand(["zoo"], "server") and "openssh-9.2" not in expand(["zoo"], "server")


def test_ids_and_groups_mix_in_order_without_duplicates() -> None:
    mixed = expand(["lsh-2.1", "default", "openssh-9.2", "my-own-peer"], "server")
    assert mixed[0] == "lsh-2.1" and mixed[-1] == "my-own-peer"
    assert mixed.count("openssh-9.2") == 1 and set(docker_peer_ids()) <= set(mixed)


def test_a_role_that_is_neither_is_an_error() -> None:
    with pytest.raises(ValueError, match="role"):
        expand(["zoo"], "both")
