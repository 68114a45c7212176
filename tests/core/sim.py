"""Play the server's side at the byte level for core tests (no sockets, no sleeps).

Plaintext stage: we craft the server's identification line, KEXINIT and any packet with the
null protection. Encrypted stage: a recorded transcript brings the client to a phase, and
``seal_as_peer`` frames packets with the keys the client derived for its incoming direction
(the KexEngine.last_incoming seam), exactly as the server would have.
"""

from __future__ import annotations

from pathlib import Path

from harness.ssh.connection import Connection
from harness.ssh.crypto import protection as prot
from harness.ssh.packet.framing import PacketWriter
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message
from harness.transcript import Transcript, replay, seeded_randbytes

TRANSCRIPTS = Path(__file__).parents[2] / "corpus" / "transcripts"
SERVER_VERSION = b"SSH-2.0-SimServer_1.0\r\n"


def server_kexinit(**overrides: object) -> Message:
    fields = dict(
        cookie=bytes(16),
        kex_algorithms=("curve25519-sha256", "kex-strict-s-v00@openssh.com"),
        server_host_key_algorithms=("ssh-ed25519",),
        encryption_client_to_server=("chacha20-poly1305@openssh.com",),
        encryption_server_to_client=("chacha20-poly1305@openssh.com",),
        mac_client_to_server=("hmac-sha2-256",),
        mac_server_to_client=("hmac-sha2-256",),
        compression_client_to_server=("none",),
        compression_server_to_client=("none",),
    )
    fields.update(overrides)
    return m.KexInit(**fields)


class PlainServer:
    """Frames the server's packets before any NEWKEYS."""

    def __init__(self) -> None:
        self.writer = PacketWriter(prot.null_sealer(), seeded_randbytes(99))

    def packet(self, msg: Message | bytes) -> bytes:
        return self.writer.frame(msg.encode() if isinstance(msg, Message) else msg)


def started_client(**config: object) -> Connection:
    conn = Connection(Role.CLIENT, seeded_randbytes(7))
    for key, value in config.items():
        setattr(conn.config, key, value)
    conn.start()
    conn.data_to_send()
    return conn


def client_in_kex(kexinit: Message | None = None, **config: object) -> tuple[Connection, PlainServer]:
    """A client that has received the server's version and KEXINIT (first kex running)."""
    conn = started_client(**config)
    server = PlainServer()
    conn.receive_data(SERVER_VERSION + server.packet(kexinit or server_kexinit()))
    conn.data_to_send()
    return conn, server


def client_after_first_kex(transcript: str = "openssh/kex-curve25519-sha256.json") -> Connection:
    """Replay a chacha20-poly1305 transcript through its first step (keys in use, auth pending)."""
    t = Transcript.load(TRANSCRIPTS / transcript)
    conn = replay(t, upto=1)
    conn.data_to_send()
    while conn.next_event() is not None:
        pass
    return conn


def client_authenticated(transcript: str = "openssh/kex-curve25519-sha256.json") -> Connection:
    """Replay through password authentication and the session open (a channel 0 is open)."""
    t = Transcript.load(TRANSCRIPTS / transcript)
    conn = replay(t, upto=3)
    conn.data_to_send()
    while conn.next_event() is not None:
        pass
    return conn


def seal_as_peer(conn: Connection, msg: Message | bytes) -> bytes:
    """One packet from the server at the client's next incoming sequence number.

    Valid for stateless-per-packet protection (chacha20-poly1305), which the default
    transcripts negotiate.
    """
    assert conn.kex.last_incoming is not None
    cipher, mac, keys = conn.kex.last_incoming
    assert cipher.name == "chacha20-poly1305@openssh.com", "seal_as_peer needs a per-packet stateless cipher"
    writer = PacketWriter(prot.make_sealer(cipher, mac, keys.key, keys.iv, keys.mac_key), seeded_randbytes(5))
    writer.seq = conn.reader.seq
    return writer.frame(msg.encode() if isinstance(msg, Message) else msg)


def open_as_client(conn: Connection, wire: bytes, first_seq: int) -> list[bytes]:
    """Decrypt what the client sent from sequence number ``first_seq`` on (its outgoing keys)."""
    from harness.ssh.packet.framing import PacketReader

    assert conn.kex.last_outgoing is not None
    cipher, mac, keys = conn.kex.last_outgoing
    reader = PacketReader(prot.make_opener(cipher, mac, keys.key, keys.iv, keys.mac_key))
    reader.seq = first_seq
    reader.feed(wire)
    out = []
    while (payload := reader.next_payload()) is not None:
        out.append(payload)
    return out
