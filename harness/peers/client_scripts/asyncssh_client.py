"""An AsyncSSH client as a client peer: connect, authenticate, do one thing, exit.

Run in a subprocess by harness.peers.client_launch with whichever interpreter carries the
AsyncSSH release under test (the harness's venv for the newest PyPI release, Debian's
/usr/bin/python3 for python3-asyncssh), so this file imports nothing from the harness (its
command line is client_args.py, beside it) and works with AsyncSSH 2.10 as well as the current
release.

Exit status: the remote command's exit status (128 + signal number for exit-signal, as shells
do; 255 without either, as OpenSSH's ssh), 0 after sftp/forward sessions that ended normally; an exception prints its
traceback and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import asyncssh
from client_args import parse_args  # beside this file (see client_args.py)

# Read size for channel output.
CHUNK = 32768


def status_of(result: asyncssh.SSHCompletedProcess) -> int:
    if result.exit_signal:
        number = getattr(signal, "SIG" + result.exit_signal[0], signal.SIGTERM)
        return 128 + int(number)
    # No exit-status at all (the connection ended): 255, as OpenSSH's ssh exits then.
    return result.exit_status if result.exit_status is not None and result.exit_status >= 0 else 255


async def run(args: argparse.Namespace) -> int:
    options = {"username": args.user, "known_hosts": args.known_hosts, "agent_path": None,
               "client_keys": [args.key] if args.key else None, "password": args.password,
               "login_timeout": args.timeout}  # fmt: skip
    async with asyncssh.connect(args.host, args.port, **options) as conn:
        if args.mode in ("exec", "shell"):
            # conn.run: what an AsyncSSH application typically calls (stdin gets EOF at once).
            command = args.command if args.mode == "exec" else None
            term = "xterm" if args.mode == "shell" else None
            result = await conn.run(command, term_type=term, encoding=None, check=False)
            sys.stdout.buffer.write(result.stdout or b"")
            sys.stderr.buffer.write(result.stderr or b"")
            return status_of(result)
        if args.mode == "sftp":
            async with conn.start_sftp_client() as sftp:
                print("\n".join(sorted(await sftp.listdir("."))))
            return 0
        host, _, port = args.forward_to.rpartition(":")
        reader, writer = await conn.open_connection(host, int(port))
        writer.write_eof()
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return 0
            sys.stdout.buffer.write(data)


def main(argv: list[str]) -> int:
    return asyncio.run(run(parse_args(argv, __doc__)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
