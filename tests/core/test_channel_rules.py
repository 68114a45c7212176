"""Issue 19.5 and 19.7: channel-open and service refusals, and what survives a peer's violation.

Every test runs in both roles: the rules live in the role-independent channel table, and a
client and a server must answer the same message the same way.
"""

from __future__ import annotations

import pytest

from harness.ssh import events as ev
from harness.ssh import policy as pol
from harness.ssh.channels.table import OPEN_ADMINISTRATIVELY_PROHIBITED, OPEN_UNKNOWN_CHANNEL_TYPE
from harness.ssh.connection import Connection
from harness.ssh.errors import DisconnectReason, RemoteProtocolError
from harness.ssh.wire import messages as m

from .channel_pair import ChannelPair, channel_pair, other, received_data
from .pair import Pair

ROLES = ("client", "server")


def _events(conn: Connection) -> list[ev.Event]:
    out = []
    while (e := conn.next_event()) is not None:
        out.append(e)
    return out


# -- 19.5: reason codes -------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ROLES)
def test_unknown_channel_type_is_refused_with_unknown_channel_type(opener: str) -> None:
    cp = channel_pair()
    cp.pair.server.policy = pol.ServerPolicy()  # the deny-all default: it would answer 1
    cid = cp.conn(opener).channels.open("nonexistent@harness")
    cp.pump()
    [failed] = [e for e in cp.events(opener) if isinstance(e, ev.ChannelOpenFailed) and e.channel == cid]
    assert failed.reason == OPEN_UNKNOWN_CHANNEL_TYPE
    assert "nonexistent@harness" in failed.description
    # Nobody on the refusing side was asked about a type nobody can serve.
    assert not [e for e in cp.events(other(opener)) if isinstance(e, ev.ChannelOpenRequested | ev.ChannelOpened)]
    assert cp.conn(opener).channels.channels.keys() == {cp.channel_id(opener)}


def test_known_type_the_application_refuses_keeps_its_reason() -> None:
    """direct-tcpip is a defined type: the deny-all policy's ADMINISTRATIVELY_PROHIBITED stands."""
    cp = channel_pair()
    cp.pair.server.policy = pol.ServerPolicy()
    cid = cp.pair.client.channels.open("direct-tcpip", m.ChannelOpenDirectTcpip(
        address="127.0.0.1", port=22, originator_address="127.0.0.1", originator_port=1))  # fmt: skip
    cp.pump()
    [failed] = [e for e in cp.pair.client_events if isinstance(e, ev.ChannelOpenFailed) and e.channel == cid]
    assert failed.reason == OPEN_ADMINISTRATIVELY_PROHIBITED


def test_known_type_opened_to_a_client_is_the_applications_question() -> None:
    cp = channel_pair()
    cid = cp.pair.server.channels.open("x11", m.ChannelOpenX11(originator_address="127.0.0.1", originator_port=6010))
    cp.pump()
    assert [e.channel_type for e in cp.pair.client_events if isinstance(e, ev.ChannelOpenRequested)] == ["x11"]
    assert not [e for e in cp.pair.server_events if isinstance(e, ev.ChannelOpenFailed) and e.channel == cid]


def _service_refusal(p: Pair, service: str) -> DisconnectReason:
    p.client.send_unchecked(m.ServiceRequest(service=service))
    with pytest.raises(RemoteProtocolError) as info:
        p.server.receive_data(p.client.data_to_send())
    return info.value.reason


@pytest.mark.parametrize("service", ["ssh-userauth", "ssh-connection", "nonexistent@harness"])
def test_refused_service_request_has_one_reason_before_and_after_authentication(service: str) -> None:
    before = Pair()
    before.start()  # the client's own SERVICE_REQUEST was accepted: this is a second one
    assert before.server.auth.service_accepted and not before.server.auth.authenticated
    after = channel_pair().pair
    assert after.server.auth.authenticated
    refused = DisconnectReason.SERVICE_NOT_AVAILABLE
    assert _service_refusal(before, service) == _service_refusal(after, service) == refused


# -- 19.7: a violation ends the connection, and nothing that came before it is lost -------------


def _violate_and_collect(cp: ChannelPair, sender: str, violation: m.Message) -> tuple[RemoteProtocolError, list]:  # type: ignore[type-arg]
    cp.conn(sender).send_unchecked(violation)
    receiver = cp.conn(other(sender))
    with pytest.raises(RemoteProtocolError) as info:
        cp.pump()
    return info.value, _events(receiver)


@pytest.mark.parametrize("sender", ROLES)
def test_data_after_eof_is_a_violation_after_data_status_and_eof_were_delivered(sender: str) -> None:
    cp = channel_pair()
    conn, sid = cp.conn(sender), cp.channel_id(sender)
    conn.channels.send_data(sid, b"before")
    conn.channels.send_request(sid, m.ChannelRequestExitStatus(want_reply=False, status=7))
    conn.channels.send_eof(sid)
    remote = conn.channels.get(sid).remote_id
    error, events = _violate_and_collect(cp, sender, m.ChannelData(recipient=remote, data=b"after"))
    assert "after its CHANNEL_EOF" in str(error) and error.reason == DisconnectReason.PROTOCOL_ERROR
    rid = cp.channel_id(other(sender))
    everything = cp.events(other(sender)) + events
    assert received_data(everything, rid) == b"before"
    statuses = [e.message.status for e in everything if isinstance(e, ev.ChannelRequestReceived)
                and e.request_type == "exit-status"]  # fmt: skip
    assert statuses == [7]
    kinds = [type(e).__name__ for e in everything if not isinstance(e, ev.ChannelWindowOpened)]
    assert kinds[-3:] == ["ChannelRequestReceived", "ChannelEof", "Disconnected"]


@pytest.mark.parametrize("sender", ROLES)
def test_exit_status_after_both_sides_closed_is_a_violation(sender: str) -> None:
    """RFC 4254 5.3: once CLOSE went both ways the number may be reused; nothing is attributed."""
    cp = channel_pair()
    conn, sid = cp.conn(sender), cp.channel_id(sender)
    remote = conn.channels.get(sid).remote_id
    conn.channels.close(sid)
    cp.pump()
    assert not conn.channels.channels and not cp.conn(other(sender)).channels.channels
    error, _ = _violate_and_collect(cp, sender, m.ChannelRequestExitStatus(recipient=remote, want_reply=False,
                                                                            status=7))  # fmt: skip
    assert "does not exist" in str(error) and error.reason == DisconnectReason.PROTOCOL_ERROR


@pytest.mark.parametrize("sender", ROLES)
def test_exit_status_crossing_our_close_is_delivered(sender: str) -> None:
    """The legal race: the peer sends its status before it has seen our CLOSE."""
    cp = channel_pair()
    receiver = cp.conn(other(sender))
    receiver.channels.close(cp.channel_id(other(sender)))
    cp.conn(sender).channels.send_request(cp.channel_id(sender), m.ChannelRequestExitStatus(want_reply=False,
                                                                                             status=9))  # fmt: skip
    cp.pump()  # both packets are taken before either is delivered: they cross
    statuses = [e.message.status for e in cp.events(other(sender)) if isinstance(e, ev.ChannelRequestReceived)]
    assert statuses == [9]
    assert not receiver.channels.channels and not cp.conn(sender).channels.channels
