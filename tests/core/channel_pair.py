"""An authenticated client/server pair with a session channel open, for channel-layer tests.

Each side's window and maximum packet are configurable: they are what that side advertises,
so a test can play a peer that announces anything up to 2^32-1. Every payload either side
frames is recorded (the connection's packet observer), so tests can check what we sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.phases import Phase

from .pair import PASSWORD, USER, Pair


def fast_config(window: int | None = None, max_packet: int | None = None) -> ConnectionConfig:
    """One cheap, snapshot-friendly algorithm set (curve25519, Ed25519, ChaCha20-Poly1305)."""
    cfg = ConnectionConfig()
    cfg.kex = ("curve25519-sha256",)
    cfg.host_key_algorithms = ("ssh-ed25519",)
    cfg.ciphers = ("chacha20-poly1305@openssh.com",)
    cfg.compression = ("none",)
    if window is not None:
        cfg.window_size = window
    if max_packet is not None:
        cfg.max_packet = max_packet
    return cfg


@dataclass
class ChannelPair:
    """The pair, our channel ids on each side, and the payloads each side sent."""

    pair: Pair
    client_id: int
    server_id: int
    sent: dict[str, list[bytes]] = field(default_factory=lambda: {"client": [], "server": []})

    def conn(self, role: str) -> Connection:
        return self.pair.client if role == "client" else self.pair.server

    def channel_id(self, role: str) -> int:
        return self.client_id if role == "client" else self.server_id

    def events(self, role: str) -> list[ev.Event]:
        return self.pair.client_events if role == "client" else self.pair.server_events

    def pump(self) -> None:
        self.pair.pump(1000)


def other(role: str) -> str:
    return "server" if role == "client" else "client"


def channel_pair(client_window: int | None = None, client_max_packet: int | None = None,
                 server_window: int | None = None, server_max_packet: int | None = None) -> ChannelPair:  # fmt: skip
    """Authenticated pair with a session channel the client opened and the server accepted."""
    p = Pair(fast_config(client_window, client_max_packet), fast_config(server_window, server_max_packet))
    p.start()
    p.client.auth.password(USER, PASSWORD)
    p.pump()
    assert p.client.phase is Phase.CONNECTED and p.server.phase is Phase.CONNECTED
    cid = p.client.channels.open("session")
    p.pump()
    opened = [e for e in p.server_events if isinstance(e, ev.ChannelOpened)]
    assert opened, "the server did not accept the session channel"
    cp = ChannelPair(p, cid, opened[-1].channel)
    for role in ("client", "server"):
        cp.conn(role).packet_observer = _recorder(cp.sent[role])
    p.client_events.clear()
    p.server_events.clear()
    return cp


def _recorder(into: list[bytes]):  # type: ignore[no-untyped-def]
    def observe(direction: str, seq: int, payload: bytes) -> None:
        if direction == "out":
            into.append(bytes(payload))

    return observe


def received_data(events: list[ev.Event], channel: int, data_type: int = 0) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, ev.ChannelData) and e.channel == channel
                    and e.data_type == data_type)  # fmt: skip
