"""SSH interoperability test harness: a sans-I/O SSH2 core with a paramiko-style facade.

The names in ``__all__`` are the public client API (loaded lazily so that importing a core
module such as ``harness.ssh.wire`` does not pull in the facade); ``harness.ssh`` is the core
that scenarios and fuzzers drive directly. The exceptions form one tree under ``SSHException``
and carry paramiko's names where paramiko has one (``BadHostKeyException``, ...).

The distribution is ``ssh-harness``; ``__version__`` is its one version number (pyproject.toml
reads it from here).
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

_EXPORTS = {
    "Transport": "harness.transport",
    "Channel": "harness.channel",
    "SecurityOptions": "harness.security",
    "AuthenticationException": "harness.ssh.errors",
    "BadAuthenticationType": "harness.ssh.errors",
    "BadHostKeyException": "harness.ssh.errors",
    "ChannelException": "harness.ssh.errors",
    "ConnectionLost": "harness.ssh.errors",
    "HostKeyMismatch": "harness.ssh.errors",
    "LocalPolicyError": "harness.ssh.errors",
    "NoValidConnectionsError": "harness.ssh.errors",
    "NotAnSSHServer": "harness.ssh.errors",
    "PartialAuthentication": "harness.ssh.errors",
    "PeerDisconnected": "harness.ssh.errors",
    "RemoteProtocolError": "harness.ssh.errors",
    "RevokedHostKey": "harness.ssh.keys",
    "SSHException": "harness.ssh.errors",
    "SSHTimeout": "harness.ssh.errors",
    "UnknownHostKey": "harness.ssh.errors",
    "PKey": "harness.ssh.keys",
    "Ed25519Key": "harness.ssh.keys",
    "ECDSAKey": "harness.ssh.keys",
    "RSAKey": "harness.ssh.keys",
    "DSSKey": "harness.ssh.keys",
    "HostKeys": "harness.ssh.keys",
    "SFTPClient": "harness.sftp_client",
    "SFTPFile": "harness.sftp_file",
    "SFTPAttributes": "harness.ssh.sftp.attributes",
    "ServerInterface": "harness.server",
    "SubsystemHandler": "harness.server",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
