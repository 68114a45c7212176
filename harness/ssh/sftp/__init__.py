"""SFTP version 3 (draft-ietf-secsh-filexfer-02) with OpenSSH's extensions, sans I/O.

``packets`` holds the typed packet table and strict codec, ``attributes`` the ATTRS structure
(:class:`SFTPAttributes`), ``protocol`` the client session (framing, version handshake,
request ids), ``errors`` the mapping of status codes to ``OSError`` subclasses. Nothing here
touches a socket, a thread or a clock; :mod:`harness.sftp_client` is the blocking facade.
"""

from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import AttrFlag, OpenFlag, PacketType, Status
from harness.ssh.sftp.errors import SFTPError, SFTPProtocolError, status_error
from harness.ssh.sftp.protocol import Response, SFTPClientProtocol

__all__ = [
    "AttrFlag",
    "OpenFlag",
    "PacketType",
    "Response",
    "SFTPAttributes",
    "SFTPClientProtocol",
    "SFTPError",
    "SFTPProtocolError",
    "Status",
    "status_error",
]
