"""Channel bookkeeping and flow control (RFC 4254 section 5), both roles.

Why strict: a peer that sends more than the window, more than the maximum packet, data after
EOF or messages for a channel that does not exist is exactly what this harness must report;
each is a protocol error with a message that names the channel and the numbers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.ssh import events as ev
from harness.ssh.errors import LocalProtocolError, RemoteProtocolError
from harness.ssh.limits import MAX_CHANNELS, MAX_OUR_PAYLOAD
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.ssh.connection import Connection

# SSH_OPEN_* reason codes (RFC 4254 5.1).
OPEN_ADMINISTRATIVELY_PROHIBITED = 1
OPEN_CONNECT_FAILED = 2
OPEN_UNKNOWN_CHANNEL_TYPE = 3
OPEN_RESOURCE_SHORTAGE = 4

# Channel types with a meaning in RFC 4254 (session, x11, forwarded-tcpip, direct-tcpip: the
# typed CHANNEL_OPEN layouts of the codec). Any other type is refused with UNKNOWN_CHANNEL_TYPE.
KNOWN_CHANNEL_TYPES = frozenset(m.ChannelOpen.SUBTYPES)

# Bytes in front of the data in CHANNEL_DATA (byte, uint32 recipient, uint32 length) and in
# CHANNEL_EXTENDED_DATA (one more uint32, the data type). Our payload cap includes them.
DATA_HEADER = 9
EXTENDED_DATA_HEADER = 13


def data_chunk_limit(peer_max_packet: int, data_type: int = 0) -> int:
    """Most data bytes we put in one CHANNEL_DATA (or EXTENDED_DATA) message.

    The peer's maximum packet size only lowers it: a peer may advertise up to 2^32-1, but a
    payload over MAX_OUR_PAYLOAD would break RFC 4253 6.1's guarantee, and readers with a
    256 KiB packet limit (OpenSSH's and ours) would refuse it.
    """
    header = EXTENDED_DATA_HEADER if data_type else DATA_HEADER
    return min(peer_max_packet, MAX_OUR_PAYLOAD - header)


# Window adjust once the peer has used this fraction of the window we granted (amortises
# WINDOW_ADJUST messages without letting the window run dry on bulk transfers).
_ADJUST_FRACTION = 2


@dataclass
class ChannelState:
    local_id: int
    channel_type: str
    local_window: int  # bytes the peer may still send us
    local_window_max: int
    local_max_packet: int
    remote_id: int | None = None
    remote_window: int = 0  # bytes we may still send
    remote_max_packet: int = 0
    open: bool = False
    eof_sent: bool = False
    eof_received: bool = False
    close_sent: bool = False
    close_received: bool = False
    unacked: int = 0  # bytes delivered to the application and not yet re-granted
    pending_replies: deque[str] = field(default_factory=deque)


class ChannelTable:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.channels: dict[int, ChannelState] = {}
        self._next_id = 0

    # -- helpers ---------------------------------------------------------------------------

    def _allocate_id(self) -> int:
        if len(self.channels) >= MAX_CHANNELS:
            raise LocalProtocolError(f"too many channels (limit {MAX_CHANNELS})")
        while self._next_id in self.channels:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        cid = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        return cid

    def get(self, local_id: int) -> ChannelState:
        chan = self.channels.get(local_id)
        if chan is None:
            raise LocalProtocolError(f"no channel {local_id}")
        return chan

    def _peer_channel(self, recipient: int, what: str) -> ChannelState:
        chan = self.channels.get(recipient)
        if chan is None:
            raise RemoteProtocolError(f"{what} for channel {recipient}, which does not exist")
        if chan.close_received:
            raise RemoteProtocolError(f"{what} for channel {recipient} after its CHANNEL_CLOSE")
        return chan

    def _usable(self, chan: ChannelState, what: str) -> None:
        if not chan.open:
            raise LocalProtocolError(f"channel {chan.local_id} is not open ({what})")
        if chan.close_sent:
            raise LocalProtocolError(f"channel {chan.local_id} is closing ({what})")

    # -- our actions -----------------------------------------------------------------------

    def open(self, channel_type: str, extra: Message | None = None) -> int:
        """Send CHANNEL_OPEN; ``extra`` may be a typed open message with type-specific fields."""
        cfg = self.conn.config
        cid = self._allocate_id()
        self.channels[cid] = ChannelState(cid, channel_type, cfg.window_size, cfg.window_size, cfg.max_packet)
        if extra is None:
            msg: Message = m.ChannelOpen(channel_type=channel_type, sender=cid, initial_window=cfg.window_size,
                                         max_packet=cfg.max_packet, data=b"")  # fmt: skip
        else:
            msg = extra
            msg.sender, msg.initial_window, msg.max_packet = cid, cfg.window_size, cfg.max_packet
        self.conn.send_message(msg)
        return cid

    def send_data(self, local_id: int, data: bytes | memoryview, data_type: int = 0) -> int:
        """Send as much of ``data`` as the peer's window allows; return the bytes taken."""
        chan = self.get(local_id)
        self._usable(chan, "send")
        if chan.eof_sent:
            raise LocalProtocolError(f"channel {local_id}: data after our EOF")
        total = min(len(data), chan.remote_window)
        step = data_chunk_limit(chan.remote_max_packet, data_type)
        view = memoryview(data)
        sent = 0
        assert chan.remote_id is not None
        while sent < total:
            chunk = bytes(view[sent : sent + min(step, total - sent)])
            if data_type:
                self.conn.send_message(m.ChannelExtendedData(recipient=chan.remote_id, data_type=data_type, data=chunk))
            else:
                self.conn.send_channel_data(chan.remote_id, chunk)
            sent += len(chunk)
        chan.remote_window -= sent
        return sent

    def send_eof(self, local_id: int) -> None:
        chan = self.get(local_id)
        self._usable(chan, "eof")
        if not chan.eof_sent:
            chan.eof_sent = True
            assert chan.remote_id is not None
            self.conn.send_message(m.ChannelEof(recipient=chan.remote_id))

    def close(self, local_id: int) -> None:
        chan = self.channels.get(local_id)
        if chan is None or chan.close_sent or not chan.open:
            return
        chan.close_sent = True
        assert chan.remote_id is not None
        self.conn.send_message(m.ChannelClose(recipient=chan.remote_id))
        self._maybe_forget(chan)

    def send_request(self, local_id: int, msg: Message) -> None:
        chan = self.get(local_id)
        self._usable(chan, "request")
        assert chan.remote_id is not None
        msg.recipient = chan.remote_id
        if msg.want_reply:
            chan.pending_replies.append(msg.request_type)
        self.conn.send_message(msg)

    def consumed(self, local_id: int, nbytes: int) -> None:
        """The application took ``nbytes`` of received data: re-grant window when worthwhile."""
        chan = self.channels.get(local_id)
        if chan is None or chan.close_sent or chan.close_received or chan.eof_received:
            return
        chan.unacked += nbytes
        if chan.unacked >= chan.local_window_max // _ADJUST_FRACTION:
            grant, chan.unacked = chan.unacked, 0
            chan.local_window += grant
            assert chan.remote_id is not None
            self.conn.send_message(m.ChannelWindowAdjust(recipient=chan.remote_id, bytes_to_add=grant))

    def accept_open(self, local_id: int) -> None:
        chan = self.get(local_id)
        assert chan.remote_id is not None
        chan.open = True
        confirmation = m.ChannelOpenConfirmation(
            recipient=chan.remote_id,
            sender=local_id,
            initial_window=chan.local_window,
            max_packet=chan.local_max_packet,
            data=b"",
        )
        self.conn.send_message(confirmation)

    def reject_open(self, local_id: int, reason: int = OPEN_ADMINISTRATIVELY_PROHIBITED, text: str = "") -> None:
        chan = self.channels.pop(local_id)
        assert chan.remote_id is not None
        self.conn.send_message(m.ChannelOpenFailure(recipient=chan.remote_id, reason=reason,
                               description=text or "open refused", language=""))  # fmt: skip

    # -- peer messages ---------------------------------------------------------------------

    def on_open(self, msg: Message) -> int | None:
        """Register the peer's channel; the caller accepts or rejects it. Returns our id.

        Two refusals happen here, in both roles, and return None: a channel type RFC 4254 and
        its extensions do not define (UNKNOWN_CHANNEL_TYPE, 5.1; no application is asked about a
        type nobody can serve), and a full table (RESOURCE_SHORTAGE, as OpenSSH does: a peer's
        flood is its problem, not an error of ours). Known types the application does not serve
        are its decision (ADMINISTRATIVELY_PROHIBITED by default).
        """
        if msg.max_packet == 0:
            raise RemoteProtocolError("CHANNEL_OPEN with maximum packet size 0")
        cfg = self.conn.config
        if msg.channel_type not in KNOWN_CHANNEL_TYPES:
            if cfg.unknown_messages == "violation":  # the self-check's "closer" reference
                raise RemoteProtocolError(f"unknown channel type {msg.channel_type!r}")
            if cfg.unknown_messages == "ignore":  # the self-check's "lenient" reference: no answer
                return None
            self.conn.send_message(m.ChannelOpenFailure(recipient=msg.sender, reason=OPEN_UNKNOWN_CHANNEL_TYPE,
                                   description=f"unknown channel type {msg.channel_type!r}", language=""))  # fmt: skip
            return None
        if len(self.channels) >= MAX_CHANNELS:
            self.conn.send_message(m.ChannelOpenFailure(recipient=msg.sender, reason=OPEN_RESOURCE_SHORTAGE,
                                   description=f"too many channels (limit {MAX_CHANNELS})", language=""))  # fmt: skip
            return None
        cid = self._allocate_id()
        chan = ChannelState(cid, msg.channel_type, cfg.window_size, cfg.window_size, cfg.max_packet,
                            remote_id=msg.sender, remote_window=msg.initial_window,
                            remote_max_packet=msg.max_packet)  # fmt: skip
        self.channels[cid] = chan
        return cid

    def on_open_confirmation(self, msg: Message) -> None:
        chan = self.channels.get(msg.recipient)
        if chan is None or chan.open or chan.remote_id is not None:
            raise RemoteProtocolError(
                f"CHANNEL_OPEN_CONFIRMATION for channel {msg.recipient}, which we are not opening"
            )
        if msg.max_packet == 0:
            raise RemoteProtocolError("CHANNEL_OPEN_CONFIRMATION with maximum packet size 0")
        chan.remote_id = msg.sender
        chan.remote_window = msg.initial_window
        chan.remote_max_packet = msg.max_packet
        chan.open = True
        self.conn.emit(ev.ChannelOpened(chan.local_id))

    def on_open_failure(self, msg: Message) -> None:
        chan = self.channels.get(msg.recipient)
        if chan is None or chan.open or chan.remote_id is not None:
            raise RemoteProtocolError(f"CHANNEL_OPEN_FAILURE for channel {msg.recipient}, which we are not opening")
        del self.channels[msg.recipient]
        self.conn.emit(ev.ChannelOpenFailed(msg.recipient, msg.reason, msg.description))

    def on_window_adjust(self, msg: Message) -> None:
        chan = self._peer_channel(msg.recipient, "CHANNEL_WINDOW_ADJUST")
        window = chan.remote_window + msg.bytes_to_add
        if window > 0xFFFFFFFF:
            raise RemoteProtocolError(f"channel {chan.local_id}: window adjusted beyond 2^32-1 ({window})")
        chan.remote_window = window
        self.conn.emit(ev.ChannelWindowOpened(chan.local_id, window))

    def on_data(self, recipient: int, data: bytes, data_type: int = 0) -> None:
        what = "CHANNEL_EXTENDED_DATA" if data_type else "CHANNEL_DATA"
        chan = self._peer_channel(recipient, what)
        if not chan.open:
            raise RemoteProtocolError(f"{what} for channel {recipient} before it was confirmed")
        if chan.eof_received:
            raise RemoteProtocolError(f"{what} for channel {recipient} after its CHANNEL_EOF")
        n = len(data)
        if n > chan.local_max_packet:
            raise RemoteProtocolError(
                f"{what} of {n} bytes on channel {recipient} exceeds the maximum packet {chan.local_max_packet}"
            )
        if n > chan.local_window:
            raise RemoteProtocolError(
                f"{what} of {n} bytes on channel {recipient} exceeds the window ({chan.local_window} left)"
            )
        chan.local_window -= n
        self.conn.emit(ev.ChannelData(chan.local_id, data, data_type))

    def on_extended_data(self, msg: Message) -> None:
        self.on_data(msg.recipient, msg.data, msg.data_type)

    def on_eof(self, msg: Message) -> None:
        chan = self._peer_channel(msg.recipient, "CHANNEL_EOF")
        if chan.eof_received:
            raise RemoteProtocolError(f"second CHANNEL_EOF for channel {msg.recipient}")
        chan.eof_received = True
        self.conn.emit(ev.ChannelEof(chan.local_id))

    def on_close(self, msg: Message) -> None:
        chan = self._peer_channel(msg.recipient, "CHANNEL_CLOSE")
        chan.close_received = True
        if not chan.close_sent and chan.open:
            chan.close_sent = True
            assert chan.remote_id is not None
            self.conn.send_message(m.ChannelClose(recipient=chan.remote_id))
        self.conn.emit(ev.ChannelClosed(chan.local_id))
        self._maybe_forget(chan)

    def on_request(self, msg: Message) -> int:
        chan = self._peer_channel(msg.recipient, f"CHANNEL_REQUEST {msg.request_type!r}")
        if not chan.open:
            raise RemoteProtocolError(f"CHANNEL_REQUEST for channel {msg.recipient} before it was opened")
        self.conn.emit(ev.ChannelRequestReceived(chan.local_id, msg.request_type, msg.want_reply, msg))
        return chan.local_id

    def reply_request(self, local_id: int, success: bool) -> None:
        chan = self.channels.get(local_id)
        if chan is None or chan.close_sent:
            return
        assert chan.remote_id is not None
        cls = m.ChannelSuccess if success else m.ChannelFailure
        self.conn.send_message(cls(recipient=chan.remote_id))

    def on_reply(self, msg: Message) -> None:
        chan = self._peer_channel(msg.recipient, msg.NAME)
        if not chan.pending_replies:
            raise RemoteProtocolError(
                f"{msg.NAME} for channel {msg.recipient} with no request awaiting a reply"
            )
        chan.pending_replies.popleft()
        self.conn.emit(ev.ChannelRequestReply(chan.local_id, isinstance(msg, m.ChannelSuccess)))

    def _maybe_forget(self, chan: ChannelState) -> None:
        if chan.close_sent and chan.close_received:
            self.channels.pop(chan.local_id, None)
