"""What our scenario server must offer for a zoo client (:data:`harness.peers.zoo.ZOO_CLIENTS`)
to log in at all: the rest of a zoo client run is the ordinary container client launch.

Why a separate table: the default client peers all speak Ed25519 and our server's default
offer; some zoo clients do not (JSch 0.1.54 has no Ed25519, GNU lsh 2.1 knows only ssh-rsa
host keys, SHA-1 DH, CBC ciphers and hmac-sha1). Their host key type and the algorithms our
server adds to its offer are data in ``ZooClient`` (``server_host_key``, ``server_algorithms``);
this module turns them into a per-run plan for :class:`harness.scenario.client_target.ClientTarget`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ClientFiles key type (harness.peers.client_invocation.KEY_TYPES) -> the zoo's name of that key
# form (harness.peers.base.client_keys): "rsa" run keys are PEM.
_ZOO_KEY_NAMES = {"ed25519": "ed25519", "rsa": "rsa-pem"}


@dataclass(frozen=True)
class ZooNeeds:
    """One zoo client's run: the user key type to make, the host key to sign with, and the
    algorithms to add to our server's offer."""

    client_id: str
    key_type: str
    host_key: str
    password_login: bool
    algorithms: tuple[tuple[str, tuple[str, ...]], ...]

    def widen(self, config: Any) -> None:
        """Append the client's required algorithms to ``config``'s server offer (after the
        defaults, so every default client's negotiation stays what it was)."""
        for name, extra in self.algorithms:
            current = tuple(getattr(config, name))
            setattr(config, name, current + tuple(a for a in extra if a not in current))


def zoo_needs(peer_id: str, key_type: str = "ed25519") -> ZooNeeds | None:
    """The plan for zoo client ``peer_id`` (None for any other client peer). ``key_type`` is the
    scenario's wish; a client that cannot load it gets the other run key type it can."""
    from harness.peers.zoo import ZOO_CLIENTS

    client = ZOO_CLIENTS.get(peer_id)
    if client is None:
        return None
    usable = [k for k, zoo_name in _ZOO_KEY_NAMES.items() if zoo_name in client.user_keys]
    if not usable:
        raise ValueError(f"zoo client {peer_id} loads none of the run key types ({', '.join(_ZOO_KEY_NAMES)})")
    chosen = key_type if key_type in usable else usable[0]
    return ZooNeeds(peer_id, chosen, client.server_host_key, client.password_login, client.server_algorithms)
