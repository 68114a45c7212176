"""Our client against the Python SSH servers: paramiko 5 and AsyncSSH.

They are real, independent implementations, and the only ones on this machine that speak
mlkem768x25519-sha256 (OpenSSH 10 arrives with the container peers), so they prove that kex
against a peer and not just against our own unit tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from harness import Transport

pytestmark = pytest.mark.peer

USER, PASSWORD = "alice", "wonderland"


class _ParamikoServer:
    """A minimal paramiko server: password auth, exec echoes the command's argument."""

    def __init__(self) -> None:
        import paramiko

        self.key = paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate") else None
        if self.key is None:
            from harness.ssh.keys import Ed25519Key

            path = "/tmp/harness-paramiko-hostkey"
            Ed25519Key.generate().write_private_key_file(path)
            self.key = paramiko.Ed25519Key.from_private_key_file(path)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import paramiko

        outer = self

        class Iface(paramiko.ServerInterface):
            def check_auth_password(self, username: str, password: str) -> int:
                ok = (username, password) == (USER, PASSWORD)
                return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

            def get_allowed_auths(self, username: str) -> str:
                return "password"

            def check_channel_request(self, kind: str, chanid: int) -> int:
                return paramiko.OPEN_SUCCEEDED

            def check_channel_exec_request(self, channel, command) -> bool:  # type: ignore[no-untyped-def]
                def reply() -> None:
                    # Answer after the client's EOF, which it sends only once it has our reply
                    # to the exec request: the reply cannot be overtaken by the close.
                    while channel.recv(1024):
                        pass
                    channel.sendall(b"paramiko says " + command)
                    channel.send_exit_status(0)
                    channel.close()

                threading.Thread(target=reply, daemon=True).start()
                return True

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.load_server_moduli()  # /etc/ssh/moduli, for group exchange
            t.add_server_key(outer.key)
            t.start_server(server=Iface())

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def paramiko_server() -> Iterator[_ParamikoServer]:
    server = _ParamikoServer()
    yield server
    server.close()


@pytest.mark.parametrize("kex", ["mlkem768x25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp384",
                                 "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256"])  # fmt: skip
def test_against_paramiko_server(paramiko_server: _ParamikoServer, kex: str) -> None:
    t = Transport(("127.0.0.1", paramiko_server.port))
    t.get_security_options().kex = (kex,)
    try:
        from harness.ssh.keys import parse_public_key

        t.connect(hostkey=parse_public_key(paramiko_server.key.asbytes()), username=USER, password=PASSWORD)
        assert t.negotiated is not None and t.negotiated.kex == kex
        chan = t.open_session()
        chan.exec_command("hi")
        chan.shutdown_write()
        data = b""
        while chunk := chan.recv(100):
            data += chunk
        assert data == b"paramiko says hi"
        assert chan.recv_exit_status() == 0
    finally:
        t.close()


class _AsyncSSHServer:
    """AsyncSSH server in its own event loop thread; exec runs the process handler below."""

    def __init__(self) -> None:
        import asyncssh

        self.loop = asyncio.new_event_loop()
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("AsyncSSH server did not start")

    def _run(self) -> None:
        import asyncssh

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return (username, password) == (USER, PASSWORD)

        async def handle(process) -> None:  # type: ignore[no-untyped-def]
            data = await process.stdin.read()
            process.stdout.write(f"asyncssh got {len(data)} bytes: ".encode() + data[-8:])
            process.exit(5)

        async def start() -> None:
            self.server = await asyncssh.create_server(
                Server, "127.0.0.1", 0, server_host_keys=[self.key], process_factory=handle, encoding=None
            )
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def asyncssh_server() -> Iterator[_AsyncSSHServer]:
    server = _AsyncSSHServer()
    yield server
    server.close()


@pytest.mark.parametrize("kex", ["mlkem768x25519-sha256", "diffie-hellman-group14-sha256", "curve25519-sha256",
                                 "ecdh-sha2-nistp521", "diffie-hellman-group18-sha512"])  # fmt: skip
def test_against_asyncssh_server(asyncssh_server: _AsyncSSHServer, kex: str) -> None:
    from harness.ssh.keys import parse_public_key

    t = Transport(("127.0.0.1", asyncssh_server.port))
    opts = t.get_security_options()
    opts.kex = (kex,)
    try:
        blob = asyncssh_server.key.public_data
        t.connect(hostkey=parse_public_key(blob), username=USER, password=PASSWORD)
        assert t.negotiated is not None and t.negotiated.kex == kex
        chan = t.open_session()
        chan.exec_command("x")
        chan.sendall(b"z" * 100000 + b"the-end!")
        chan.shutdown_write()
        data = b""
        while chunk := chan.recv(1000):
            data += chunk
        assert data == b"asyncssh got 100008 bytes: the-end!"
        assert chan.recv_exit_status() == 5
    finally:
        t.close()
