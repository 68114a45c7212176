"""Twisted Conch as an SSH server peer: password and public key logins, exec/shell via /bin/sh.

The glue the stock Conch server setup needs on Python 3: user names arrive as bytes, so the
credential databases are keyed by bytes, and the session adapter is registered by hand.
Conch's SSHSessionProcessProtocol carries stdout, stderr (extended data), EOF and the exit
status between the spawned process and the channel.
"""

from __future__ import annotations

import os

from twisted.conch import avatar
from twisted.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from twisted.conch.ssh import factory, keys, session
from twisted.cred import portal
from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.internet import reactor
from twisted.python import components
from zope.interface import implementer
from zoo_settings import HOST_KEYS, LISTEN, PASSWORD, PORT, SHELL, USER, authorized_key_lines, log


class User(avatar.ConchUser):
    def __init__(self, username: bytes) -> None:
        super().__init__()
        self.username = username
        self.channelLookup[b"session"] = session.SSHSession


@implementer(session.ISession)
class Session:
    def __init__(self, user: User) -> None:
        self.user = user
        self.process = None

    def _spawn(self, proto, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
        self.process = reactor.spawnProcess(proto, SHELL, argv, env=dict(os.environ), path=os.environ["HOME"])

    def execCommand(self, proto, command: bytes) -> None:  # type: ignore[no-untyped-def]
        self._spawn(proto, [SHELL, "-c", command.decode("utf-8", "surrogateescape")])

    def openShell(self, proto) -> None:  # type: ignore[no-untyped-def]
        self._spawn(proto, [SHELL])

    def getPty(self, term, window_size, modes) -> None:  # type: ignore[no-untyped-def]
        raise NotImplementedError("no pty in this peer")

    def windowChanged(self, window_size) -> None:  # type: ignore[no-untyped-def]
        pass

    def eofReceived(self) -> None:
        # Conch leaves the client's EOF to the session: the command's stdin is closed here.
        if self.process is not None:
            self.process.closeStdin()

    def closed(self) -> None:
        if self.process is not None and self.process.pid is not None:
            self.process.signalProcess("HUP")


components.registerAdapter(Session, User, session.ISession)


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatar_id, mind, *interfaces):  # type: ignore[no-untyped-def]
        return interfaces[0], User(avatar_id), lambda: None


def main() -> None:
    passwords = InMemoryUsernamePasswordDatabaseDontUse()
    passwords.addUser(USER.encode(), PASSWORD.encode())
    user_keys = InMemorySSHKeyDB({USER.encode(): [keys.Key.fromString(line) for line in authorized_key_lines()]})
    ssh_factory = factory.SSHFactory()
    ssh_factory.portal = portal.Portal(Realm(), [passwords, SSHPublicKeyChecker(user_keys)])
    host_keys = [keys.Key.fromFile(path) for path in HOST_KEYS]
    ssh_factory.privateKeys = {key.sshType(): key for key in host_keys}
    ssh_factory.publicKeys = {key.sshType(): key.public() for key in host_keys}
    reactor.listenTCP(PORT, ssh_factory, interface=LISTEN)
    from twisted import version

    log(f"twisted {version.short()} listening on {LISTEN}:{PORT}")
    reactor.run()


if __name__ == "__main__":
    main()
