"""SSH interoperability test harness: a sans-I/O SSH2 core with a paramiko-style facade.

The names below are the public client API; ``harness.ssh`` is the core that scenarios and
fuzzers drive directly.
"""

from harness.channel import Channel
from harness.security import SecurityOptions
from harness.ssh.errors import (
    AuthenticationException,
    BadAuthenticationType,
    ChannelException,
    ConnectionLost,
    HostKeyMismatch,
    PartialAuthentication,
    PeerDisconnected,
    RemoteProtocolError,
    SSHException,
)
from harness.transport import Transport

__all__ = [
    "AuthenticationException",
    "BadAuthenticationType",
    "Channel",
    "ChannelException",
    "ConnectionLost",
    "HostKeyMismatch",
    "PartialAuthentication",
    "PeerDisconnected",
    "RemoteProtocolError",
    "SSHException",
    "SecurityOptions",
    "Transport",
]


def __getattr__(name: str) -> object:
    # Key classes load lazily so importing the package stays cheap.
    if name in ("Ed25519Key", "ECDSAKey", "RSAKey", "DSSKey", "PKey", "HostKeys"):
        from harness.ssh import keys

        return getattr(keys, name)
    raise AttributeError(name)
