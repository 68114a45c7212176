"""Exception hierarchy of the SSH core.

Why one promised exception on the receive path: whatever a peer sends either works or raises a
:class:`RemoteProtocolError` (after a DISCONNECT with the right reason code has been queued).
Any other exception escaping ``receive_data`` is a bug in the core, and that is the fuzzer's
oracle. :class:`SSHException` is the paramiko-compatible root that callers catch.

Two kinds of refusal are not the peer's fault and so are not :class:`RemoteProtocolError`: a
:class:`LocalPolicyError` (our configuration refuses the peer, e.g. an unknown host key; the core
still sends DISCONNECT and raises it unchanged) and the connect-time errors of the facade
(:class:`NoValidConnectionsError`, :class:`SSHTimeout`), which name the address.

Paramiko's names are aliases in this one hierarchy (``BadHostKeyException`` is
:class:`HostKeyMismatch`), so code written for paramiko catches the same situations.
"""

from __future__ import annotations

from enum import IntEnum

from harness.ssh.printable import printable


class DisconnectReason(IntEnum):
    """SSH_DISCONNECT_* reason codes (RFC 4250 section 4.2.2)."""

    HOST_NOT_ALLOWED_TO_CONNECT = 1
    PROTOCOL_ERROR = 2
    KEY_EXCHANGE_FAILED = 3
    RESERVED = 4
    MAC_ERROR = 5
    COMPRESSION_ERROR = 6
    SERVICE_NOT_AVAILABLE = 7
    PROTOCOL_VERSION_NOT_SUPPORTED = 8
    HOST_KEY_NOT_VERIFIABLE = 9
    CONNECTION_LOST = 10
    BY_APPLICATION = 11
    TOO_MANY_CONNECTIONS = 12
    AUTH_CANCELLED_BY_USER = 13
    NO_MORE_AUTH_METHODS_AVAILABLE = 14
    ILLEGAL_USER_NAME = 15


class SSHException(Exception):
    """Root of every error the harness raises about SSH (name kept for paramiko users)."""


class RemoteProtocolError(SSHException):
    """The peer broke the protocol; ``reason`` is the DISCONNECT code we send for it."""

    reason: DisconnectReason = DisconnectReason.PROTOCOL_ERROR

    def __init__(self, message: str, reason: DisconnectReason | None = None) -> None:
        super().__init__(printable(message))  # messages quote the peer: keep its controls out of logs
        if reason is not None:
            self.reason = reason


class DecodeError(RemoteProtocolError):
    """Bytes that do not parse as the structure they claim to be (strict codec)."""


class VersionError(RemoteProtocolError):
    """The identification string exchange failed (RFC 4253 section 4.2)."""

    reason = DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED


class MacError(RemoteProtocolError):
    """A packet failed integrity verification."""

    reason = DisconnectReason.MAC_ERROR


class CompressionError(RemoteProtocolError):
    """The peer's compressed stream is corrupt or exceeds the decompression limit."""

    reason = DisconnectReason.COMPRESSION_ERROR


class KexError(RemoteProtocolError):
    """Key exchange failed: no common algorithm, bad signature, bad public value."""

    reason = DisconnectReason.KEY_EXCHANGE_FAILED


class HostKeyMismatch(KexError):
    """The server's host key is not the one the caller expects (never accepted silently)."""

    reason = DisconnectReason.HOST_KEY_NOT_VERIFIABLE


BadHostKeyException = HostKeyMismatch  # paramiko's name


class LocalPolicyError(SSHException):
    """Our own configuration refuses the peer, which broke no rule; ``reason`` is the DISCONNECT code.

    Why not a RemoteProtocolError: that blames the peer. An unknown host key is a question for
    the user's known_hosts, and an error that says "protocol error from peer" sends them looking
    in the wrong place.
    """

    reason: DisconnectReason = DisconnectReason.HOST_KEY_NOT_VERIFIABLE


class UnknownHostKey(LocalPolicyError):
    """The host has no known_hosts entry at all; the caller decides whether to trust it."""


class PeerDisconnected(SSHException):
    """The peer sent SSH_MSG_DISCONNECT; ``reason`` and ``description`` are what it said."""

    def __init__(self, reason: int, description: str) -> None:
        try:
            name = DisconnectReason(reason).name
        except ValueError:
            name = f"reason {reason}"
        super().__init__(f"peer disconnected ({name}): {printable(description)}")
        self.reason = reason
        self.description = description


class ConnectionLost(SSHException):
    """The byte stream ended (EOF or socket error) without a DISCONNECT."""


class NotAnSSHServer(VersionError, ConnectionLost):
    """The other end closed before an identification line, or sent bytes no SSH server sends
    (an HTTP or TLS server on the port); the message quotes what arrived, escaped."""


class SSHTimeout(SSHException, TimeoutError):
    """A wait ran out of time. Also a builtin ``TimeoutError``, so ``except TimeoutError`` still works."""


class NoValidConnectionsError(SSHException, OSError):
    """The TCP connection could not be made (refused, unreachable, unknown name); names the address.

    Paramiko's name; ``errors`` maps each address tried to its OSError, as paramiko's does.
    """

    def __init__(self, errors: dict[tuple[str, int], OSError]) -> None:
        text = "; ".join(f"{host}:{port}: {exc.strerror or exc}" for (host, port), exc in errors.items())
        super().__init__(f"could not connect to {text}")
        self.errors = errors


class AuthenticationException(SSHException):
    """Authentication failed (paramiko's name)."""


class BadAuthenticationType(AuthenticationException):
    """The server does not accept this auth method; ``allowed_types`` lists what it does accept."""

    def __init__(self, message: str, allowed_types: list[str]) -> None:
        super().__init__(message)
        self.allowed_types = allowed_types


class PartialAuthentication(AuthenticationException):
    """The method succeeded but the server wants more (RFC 4252 partial success)."""

    def __init__(self, allowed_types: list[str]) -> None:
        super().__init__(f"partial authentication; continue with one of {allowed_types}")
        self.allowed_types = allowed_types


class ChannelException(SSHException):
    """A channel open was refused; ``code`` is the SSH_OPEN_* reason."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"channel open failed ({code}): {printable(text)}")
        self.code = code
        self.text = text


class LocalProtocolError(SSHException):
    """Our caller asked for something the protocol does not allow in this state.

    Raised to the caller before anything reaches the wire: our own logic errors never do.
    """
