"""Events the core hands to its driver (``Connection.next_event``).

Why events: the core does no I/O and never calls back into the application; everything the
application may want to react to becomes a small immutable record in order of arrival.

Text fields hold what the peer sent, control characters included (it is data: scenarios
compare it). Their repr and str escape it, since dataclass reprs quote strings with ``repr``;
code that prints a field itself passes it through ``harness.ssh.printable.printable``
(tests/core/test_peer_text.py checks every event type).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.ssh.wire.message import Message


class Event:
    """Base class of all events."""


@dataclass(frozen=True)
class VersionReceived(Event):
    line: str
    pre_banner: tuple[str, ...]


@dataclass(frozen=True)
class KexStarted(Event):
    initiated_by_us: bool


@dataclass(frozen=True)
class KexComplete(Event):
    """Both NEWKEYS done; ``first`` is the initial exchange."""

    first: bool
    kex: str
    host_key_algorithm: str
    cipher_out: str
    cipher_in: str
    mac_out: str | None
    mac_in: str | None
    compression_out: str
    compression_in: str
    strict: bool


@dataclass(frozen=True)
class ExtInfoReceived(Event):
    extensions: dict[str, bytes]


@dataclass(frozen=True)
class ServiceAccepted(Event):
    service: str


@dataclass(frozen=True)
class AuthBanner(Event):
    message: str


@dataclass(frozen=True)
class AuthSuccess(Event):
    pass


@dataclass(frozen=True)
class AuthFailure(Event):
    methods: tuple[str, ...]
    partial_success: bool


@dataclass(frozen=True)
class AuthInfoRequest(Event):
    name: str
    instruction: str
    prompts: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class AuthPasswordChangeRequired(Event):
    prompt: str


@dataclass(frozen=True)
class AuthPublicKeyOk(Event):
    algorithm: str
    key_blob: bytes


@dataclass(frozen=True)
class GlobalRequestReceived(Event):
    name: str
    want_reply: bool
    message: Message


@dataclass(frozen=True)
class GlobalReply(Event):
    """The reply to a global request we sent (matched in order, RFC 4254 4)."""

    token: int
    success: bool
    data: bytes


@dataclass(frozen=True)
class ChannelOpened(Event):
    channel: int


@dataclass(frozen=True)
class ChannelOpenFailed(Event):
    channel: int
    reason: int
    description: str


@dataclass(frozen=True)
class ChannelOpenRequested(Event):
    """The peer wants to open a channel to us; answer with accept/reject_channel_open."""

    channel: int
    channel_type: str
    message: Message


@dataclass(frozen=True)
class ChannelData(Event):
    channel: int
    data: bytes
    data_type: int = 0  # 0 = stdout, 1 = stderr (SSH_EXTENDED_DATA_STDERR)


@dataclass(frozen=True)
class ChannelWindowOpened(Event):
    channel: int
    window: int


@dataclass(frozen=True)
class ChannelEof(Event):
    channel: int


@dataclass(frozen=True)
class ChannelClosed(Event):
    channel: int


@dataclass(frozen=True)
class ChannelRequestReceived(Event):
    channel: int
    request_type: str
    want_reply: bool
    message: Message


@dataclass(frozen=True)
class ChannelRequestReply(Event):
    channel: int
    success: bool


@dataclass(frozen=True)
class MessageReceived(Event):
    """Every decoded message, when the connection's ``emit_messages`` is on (scenarios)."""

    message: Message
    seq: int


@dataclass(frozen=True)
class DebugReceived(Event):
    always_display: bool
    message: str


@dataclass(frozen=True)
class IgnoreReceived(Event):
    data: bytes


@dataclass(frozen=True)
class UnimplementedReceived(Event):
    seq: int


@dataclass(frozen=True)
class PeerViolation(Event):
    """Observer mode: the peer sent something our normal core refuses; it was dropped, not fatal.

    ``reason`` is the DISCONNECT code a normal connection would have sent for it."""

    message_id: int
    seq: int
    reason: int
    description: str


@dataclass(frozen=True)
class Disconnected(Event):
    """The connection is over: by the peer's DISCONNECT, ours, or the stream ending."""

    reason: int
    description: str
    by_peer: bool
    error: Exception | None = field(default=None, compare=False)
