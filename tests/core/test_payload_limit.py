"""Issue 19.1: no payload we send exceeds MAX_OUR_PAYLOAD, whatever the peer advertises.

The peer's CHANNEL_OPEN(_CONFIRMATION) names its maximum packet size (up to 2^32-1) and its
window. Before the fix the channel table chunked data by that number alone, so a peer that
announced 2^32-1 got 2 MiB CHANNEL_DATA payloads, which our own reader (and OpenSSH's) refuses.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ssh.channels.table import DATA_HEADER, EXTENDED_DATA_HEADER, data_chunk_limit
from harness.ssh.errors import LocalProtocolError
from harness.ssh.limits import MAX_OUR_PAYLOAD
from harness.ssh.wire import messages as m

from .channel_pair import channel_pair, other, received_data

U32_MAX = 0xFFFFFFFF
ROLES = ("client", "server")


def _peer_advertises(sender: str, window: int, max_packet: int):  # type: ignore[no-untyped-def]
    """A pair where the sender's peer announced ``window`` and ``max_packet``."""
    if sender == "client":
        return channel_pair(server_window=window, server_max_packet=max_packet)
    return channel_pair(client_window=window, client_max_packet=max_packet)


@pytest.mark.parametrize("sender", ROLES)
@pytest.mark.parametrize("data_type", [0, 1], ids=["data", "stderr"])
def test_peer_advertising_max_packet_2_32_minus_1_gets_bounded_payloads(sender: str, data_type: int) -> None:
    cp = _peer_advertises(sender, window=U32_MAX, max_packet=U32_MAX)
    data = bytes(range(256)) * (8 * 1024 + 1)  # a little over 2 MiB
    conn = cp.conn(sender)
    assert conn.channels.get(cp.channel_id(sender)).remote_max_packet == U32_MAX
    assert conn.channels.send_data(cp.channel_id(sender), data, data_type) == len(data)
    cp.pump()
    sizes = [len(p) for p in cp.sent[sender]]
    assert max(sizes) == MAX_OUR_PAYLOAD, "chunks should fill the limit exactly, not stop short"
    assert received_data(cp.events(other(sender)), cp.channel_id(other(sender)), data_type) == data


def test_chunk_limit_header_arithmetic() -> None:
    assert data_chunk_limit(U32_MAX) == MAX_OUR_PAYLOAD - DATA_HEADER
    assert data_chunk_limit(U32_MAX, 1) == MAX_OUR_PAYLOAD - EXTENDED_DATA_HEADER
    assert data_chunk_limit(32768) == MAX_OUR_PAYLOAD - DATA_HEADER  # OpenSSH's default is capped too
    assert data_chunk_limit(100) == 100
    assert data_chunk_limit(1, 1) == 1
    # The headers are what the encoders produce.
    assert len(m.ChannelData(recipient=1, data=b"").encode()) == DATA_HEADER
    assert len(m.ChannelExtendedData(recipient=1, data_type=1, data=b"").encode()) == EXTENDED_DATA_HEADER


def test_oversized_payload_is_refused_before_the_wire_but_the_seam_still_sends_it() -> None:
    cp = channel_pair()
    conn = cp.pair.client
    with pytest.raises(LocalProtocolError, match="exceeds our limit"):
        conn.send_message(m.Ignore(data=bytes(MAX_OUR_PAYLOAD)))
    conn.send_message(m.Ignore(data=bytes(MAX_OUR_PAYLOAD - 5)))  # exactly the limit: fine
    conn.send_unchecked(m.Ignore(data=bytes(MAX_OUR_PAYLOAD)))  # misbehaviour goes through the seam
    assert [len(p) for p in cp.sent["client"]] == [MAX_OUR_PAYLOAD, MAX_OUR_PAYLOAD + 5]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sender=st.sampled_from(ROLES),
    window=st.one_of(st.integers(1, 70_000), st.integers(1, U32_MAX), st.just(U32_MAX)),
    max_packet=st.one_of(st.integers(1, 70_000), st.integers(1, U32_MAX), st.just(U32_MAX)),
    size=st.integers(0, 300_000),
    data_type=st.sampled_from([0, 1]),
)
def test_no_payload_exceeds_our_limit_whatever_the_peer_advertises(sender: str, window: int, max_packet: int,
                                                                     size: int, data_type: int) -> None:  # fmt: skip
    cp = _peer_advertises(sender, window, max_packet)
    size = min(size, 64 * max_packet)  # at most 64 packets per example, so tiny max_packets stay quick
    data = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    conn = cp.conn(sender)
    taken = conn.channels.send_data(cp.channel_id(sender), data, data_type)
    assert taken == min(size, window)
    cp.pump()
    assert all(len(p) <= MAX_OUR_PAYLOAD for p in cp.sent[sender])
    assert received_data(cp.events(other(sender)), cp.channel_id(other(sender)), data_type) == data[:taken]
