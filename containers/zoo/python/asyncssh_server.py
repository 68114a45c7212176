"""AsyncSSH as an SSH server peer: password and public key logins, exec/shell via /bin/sh, SFTP.

Commands run with their stdin, stdout and stderr pumped by hand (not process.redirect), so the
exit status is sent only after all output has been written to the channel.
"""

from __future__ import annotations

import asyncio
import os

import asyncssh
from zoo_settings import AUTHORIZED_KEYS, HOST_KEYS, LISTEN, PASSWORD, PORT, SHELL, USER, log

CHUNK = 65536


class Server(asyncssh.SSHServer):
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        if username == USER:
            self._conn.set_authorized_keys(AUTHORIZED_KEYS)
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


async def _copy(read, write, drain) -> None:  # type: ignore[no-untyped-def]
    while True:
        data = await read(CHUNK)
        if not data:
            return
        write(data)
        await drain()


async def _feed_stdin(process: asyncssh.SSHServerProcess, proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    try:
        await _copy(process.stdin.read, proc.stdin.write, proc.stdin.drain)
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the command exited without reading all its input


async def handle_process(process: asyncssh.SSHServerProcess) -> None:
    argv = [SHELL, "-c", process.command] if process.command is not None else [SHELL]
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    feeder = asyncio.ensure_future(_feed_stdin(process, proc))
    await asyncio.gather(_copy(proc.stdout.read, process.stdout.write, process.stdout.drain),
                         _copy(proc.stderr.read, process.stderr.write, process.stderr.drain))
    status = await proc.wait()
    feeder.cancel()
    process.exit(status)


async def main() -> None:
    await asyncssh.create_server(Server, LISTEN, PORT, server_host_keys=HOST_KEYS, process_factory=handle_process,
                                 encoding=None, sftp_factory=True, allow_scp=True)
    log(f"asyncssh {asyncssh.__version__} listening on {LISTEN}:{PORT} (pid {os.getpid()})")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
