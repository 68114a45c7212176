"""The (role, phase) gate: messages out of phase are refused before any handler runs.

These are the tests for the paramiko CVE-2018-1000805 / CVE-2018-7750 class of bugs, from the
client's side: a server that claims success without a request, opens channels or sends
connection-layer traffic before authentication, or speaks out of turn during a key exchange,
gets a DISCONNECT with the right reason code and a typed exception; nothing else is sent after.
"""

from __future__ import annotations

import pytest

from harness.ssh import events as ev
from harness.ssh.errors import DisconnectReason, KexError, MacError, RemoteProtocolError, VersionError
from harness.ssh.phases import Phase
from harness.ssh.wire import messages as m

from .sim import (
    SERVER_VERSION,
    PlainServer,
    client_after_first_kex,
    client_authenticated,
    client_in_kex,
    open_as_client,
    seal_as_peer,
    server_kexinit,
    started_client,
)  # fmt: skip


def _disconnects(conn, wire: bytes, first_seq: int | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    """Reason codes of the packets the client sent (all must be DISCONNECTs)."""
    payloads = open_as_client(conn, wire, first_seq) if first_seq is not None else _plain_payloads(wire)
    assert payloads, "no DISCONNECT was sent"
    for payload in payloads:
        assert payload[0] == 1, f"sent {m.message_name(payload[0])} after a fatal error"
    return [m.decode_message(p).reason for p in payloads]


def _plain_payloads(wire: bytes) -> list[bytes]:
    from harness.ssh.crypto import protection as prot
    from harness.ssh.packet.framing import PacketReader

    reader = PacketReader(prot.null_opener())
    reader.feed(wire)
    out = []
    while (p := reader.next_payload()) is not None:
        out.append(p)
    return out


# -- before the first NEWKEYS (plaintext) -------------------------------------------------------


@pytest.mark.parametrize(
    "msg",
    [
        m.UserauthSuccess(),
        m.UserauthFailure(methods=("password",), partial_success=False),
        m.ServiceAccept(service="ssh-userauth"),
        m.ChannelOpenSession(sender=0, initial_window=1000, max_packet=1000),
        m.ChannelData(recipient=0, data=b"x"),
        m.GlobalRequest(request_name="x", want_reply=True, data=b""),
    ],
    ids=lambda msg: msg.NAME,
)
def test_non_kex_message_during_first_kex_is_fatal(msg: m.Message) -> None:
    conn, server = client_in_kex()
    with pytest.raises(RemoteProtocolError, match="not allowed"):
        conn.receive_data(server.packet(msg))
    assert conn.phase is Phase.CLOSED
    assert not conn.auth.authenticated
    assert _disconnects(conn, conn.data_to_send()) == [DisconnectReason.PROTOCOL_ERROR]
    conn.receive_data(server.packet(m.Ignore(data=b"")))  # ignored once closed
    assert conn.data_to_send() == b""


def test_strict_kex_refuses_ignore_in_first_kex() -> None:
    conn, server = client_in_kex()
    assert conn.kex.strict
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(server.packet(m.Ignore(data=b"")))


def test_without_strict_kex_ignore_and_debug_are_fine() -> None:
    conn, server = client_in_kex(server_kexinit(kex_algorithms=("curve25519-sha256",)))
    assert not conn.kex.strict
    conn.receive_data(server.packet(m.Ignore(data=b"x")) + server.packet(m.Debug(always_display=False,
                      message="hi", language="")))  # fmt: skip
    events = []
    while (e := conn.next_event()) is not None:
        events.append(e)
    assert any(isinstance(e, ev.DebugReceived) for e in events)
    assert conn.phase is Phase.FIRST_KEX


def test_strict_kex_requires_kexinit_first() -> None:
    conn = started_client()
    server = PlainServer()
    with pytest.raises(RemoteProtocolError, match="first packet"):
        conn.receive_data(SERVER_VERSION + server.packet(m.Ignore(data=b""))[:0] + server.packet(m.Debug(
            always_display=False, message="", language="")) + server.packet(server_kexinit()))  # fmt: skip


def test_unknown_message_during_kex_is_fatal() -> None:
    """RFC 4253 7.1: after its KEXINIT the peer may send only transport and kex messages."""
    conn, server = client_in_kex(server_kexinit(kex_algorithms=("curve25519-sha256",)))
    with pytest.raises(RemoteProtocolError, match="during key exchange"):
        conn.receive_data(server.packet(bytes([200, 1, 2, 3])))


def test_no_common_algorithm_is_key_exchange_failed() -> None:
    conn = started_client()
    server = PlainServer()
    with pytest.raises(KexError, match="no common cipher"):
        conn.receive_data(SERVER_VERSION + server.packet(server_kexinit(encryption_client_to_server=("3des-cbc",))))
    assert _disconnects(conn, conn.data_to_send()) == [DisconnectReason.KEY_EXCHANGE_FAILED]


def test_bad_version_is_refused() -> None:
    """Our KEXINIT went out with our version line, so the stream is binary: the refusal is a
    DISCONNECT with PROTOCOL_VERSION_NOT_SUPPORTED, not a text line the peer could not parse."""
    conn = started_client()
    with pytest.raises(VersionError):
        conn.receive_data(b"SSH-1.5-ancient\r\n")
    assert conn.phase is Phase.CLOSED
    assert _disconnects(conn, conn.data_to_send()) == [DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED]


def test_bad_version_before_any_packet_of_ours_is_a_text_line() -> None:
    from harness.ssh.connection import Connection
    from harness.ssh.phases import Role

    from .sim import seeded_randbytes

    conn = Connection(Role.SERVER, seeded_randbytes(7))  # not started: nothing binary sent yet
    with pytest.raises(VersionError):
        conn.receive_data(b"SSH-1.5-ancient\r\n")
    assert conn.data_to_send() == b"Protocol mismatch.\r\n"


def test_bad_padding_and_length() -> None:
    conn, _ = client_in_kex()
    # packet_length 12, padding_length 3 (< 4): a protocol error, not a crash
    with pytest.raises(RemoteProtocolError, match="padding"):
        conn.receive_data(bytes.fromhex("0000000c03") + bytes([2]) + bytes(10))
    conn2, _ = client_in_kex()
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        conn2.receive_data((2**20 - 4).to_bytes(4, "big") + bytes(12))


@pytest.mark.parametrize(("right_guess", "ignored"), [(False, True), (True, False)])
def test_peer_first_kex_packet_follows(right_guess: bool, ignored: bool) -> None:
    """A wrong guess by the server means its next kex packet is silently ignored (RFC 4253 7)."""
    kex = ("curve25519-sha256",) if right_guess else ("ecdh-sha2-nistp256", "curve25519-sha256")
    conn, server = client_in_kex(server_kexinit(kex_algorithms=kex, first_kex_packet_follows=True),
                                 kex=("curve25519-sha256", "ecdh-sha2-nistp256"))
    assert conn.kex.negotiated is not None and conn.kex.negotiated.guess_was_right is right_guess
    bogus = server.packet(bytes([31]) + b"\x00" * 8)
    if ignored:
        conn.receive_data(bogus)
        assert conn.phase is Phase.FIRST_KEX
    else:
        with pytest.raises(RemoteProtocolError):
            conn.receive_data(bogus)


# -- after the first NEWKEYS (encrypted, via a recorded OpenSSH session) ------------------------


@pytest.mark.parametrize(
    "msg",
    [
        m.ChannelOpenSession(sender=0, initial_window=1000, max_packet=1000),
        m.ChannelData(recipient=0, data=b"x"),
        m.ChannelRequestExitStatus(recipient=0, want_reply=False, status=0),
        m.GlobalRequest(request_name="tcpip-forward", want_reply=True, data=b""),
        m.RequestSuccess(data=b""),
    ],
    ids=lambda msg: msg.NAME,
)
def test_connection_layer_before_authentication_is_fatal(msg: m.Message) -> None:
    conn = client_after_first_kex()
    assert conn.phase is Phase.USERAUTH
    seq = conn.writer.seq
    with pytest.raises(RemoteProtocolError, match="not allowed"):
        conn.receive_data(seal_as_peer(conn, msg))
    assert _disconnects(conn, conn.data_to_send(), seq) == [DisconnectReason.PROTOCOL_ERROR]


def test_userauth_success_without_request_does_not_authenticate() -> None:
    conn = client_after_first_kex()
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(seal_as_peer(conn, m.UserauthSuccess()))
    assert not conn.auth.authenticated and conn.phase is Phase.CLOSED


def test_userauth_messages_after_authentication_are_fatal() -> None:
    conn = client_authenticated()
    assert conn.phase is Phase.CONNECTED
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(seal_as_peer(conn, m.UserauthSuccess()))


def test_unknown_message_after_auth_gets_unimplemented() -> None:
    conn = client_authenticated()
    seq = conn.writer.seq
    conn.receive_data(seal_as_peer(conn, bytes([201]) + b"local extension"))
    [reply] = open_as_client(conn, conn.data_to_send(), seq)
    assert reply[0] == 3 and conn.phase is Phase.CONNECTED


def test_corrupted_packet_is_mac_error() -> None:
    conn = client_authenticated()
    seq = conn.writer.seq
    wire = bytearray(seal_as_peer(conn, m.Ignore(data=b"hello")))
    wire[10] ^= 0x40
    with pytest.raises(MacError):
        conn.receive_data(bytes(wire))
    assert _disconnects(conn, conn.data_to_send(), seq) == [DisconnectReason.MAC_ERROR]


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (m.ChannelData(recipient=7, data=b"x"), "does not exist"),
        (m.ChannelData(recipient=0, data=b"x" * 40000), "maximum packet"),
        (m.ChannelOpenConfirmation(recipient=0, sender=5, initial_window=1, max_packet=1, data=b""), "not opening"),
        (m.ChannelSuccess(recipient=0), "no request"),
    ],
    ids=["unknown-channel", "max-packet", "unexpected-confirmation", "unrequested-reply"],
)
def test_channel_violations(msg: m.Message, match: str) -> None:
    conn = client_authenticated()
    with pytest.raises(RemoteProtocolError, match=match):
        conn.receive_data(seal_as_peer(conn, msg))


def test_window_overflow() -> None:
    conn = client_authenticated()
    room = 0xFFFFFFFF - conn.channels.get(0).remote_window
    conn.receive_data(seal_as_peer(conn, m.ChannelWindowAdjust(recipient=0, bytes_to_add=room)))
    with pytest.raises(RemoteProtocolError, match="beyond"):
        conn.receive_data(seal_as_peer(conn, m.ChannelWindowAdjust(recipient=0, bytes_to_add=1)))


def test_data_beyond_window_and_after_eof() -> None:
    conn = client_authenticated()
    chan = conn.channels.get(0)
    chan.local_window = 10
    with pytest.raises(RemoteProtocolError, match="window"):
        conn.receive_data(seal_as_peer(conn, m.ChannelData(recipient=0, data=b"x" * 11)))
    conn = client_authenticated()
    conn.receive_data(seal_as_peer(conn, m.ChannelEof(recipient=0)))
    with pytest.raises(RemoteProtocolError, match="after its CHANNEL_EOF"):
        conn.receive_data(seal_as_peer(conn, m.ChannelData(recipient=0, data=b"x")))


def test_peer_disconnect_is_an_event_not_an_error() -> None:
    conn = client_authenticated()
    conn.receive_data(seal_as_peer(conn, m.Disconnect(reason=11, description="bye", language="")))
    events = []
    while (e := conn.next_event()) is not None:
        events.append(e)
    assert events[-1] == ev.Disconnected(11, "bye", True)
    assert conn.phase is Phase.CLOSED


def test_keepalive_global_request_gets_failure_reply() -> None:
    conn = client_authenticated()
    seq = conn.writer.seq
    conn.receive_data(seal_as_peer(conn, m.GlobalRequestKeepalive(want_reply=True)))
    [reply] = open_as_client(conn, conn.data_to_send(), seq)
    assert reply == m.RequestFailure().encode()
