"""A paramiko SSH client as a client peer: connect, authenticate, do one thing, exit.

Run in a subprocess by harness.peers.client_launch with whichever interpreter carries the
paramiko release under test (the harness's own venv for the newest PyPI release, Debian's
/usr/bin/python3 for python3-paramiko), so this file imports nothing from the harness (its
command line is client_args.py, beside it) and works with paramiko 2.12 as well as the current release.

Exit status: the remote command's exit status (255 without one, as OpenSSH's ssh), 0 after
sftp/forward sessions that ended normally; an exception prints its
traceback and exits 1, as any paramiko application would.
"""

from __future__ import annotations

import sys

import paramiko
from client_args import parse_args  # beside this file (see client_args.py)

# Read size for channel output; any size works, this one keeps the loop short.
CHUNK = 32768


def drain(channel: paramiko.Channel) -> None:
    """Copy the channel's stdout and stderr to ours until the server closes it."""
    while True:
        if channel.recv_ready():
            data = channel.recv(CHUNK)
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            continue
        if channel.recv_stderr_ready():
            sys.stderr.buffer.write(channel.recv_stderr(CHUNK))
            sys.stderr.buffer.flush()
            continue
        data = channel.recv(CHUNK)  # blocks until data or EOF
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    while channel.recv_stderr_ready():
        sys.stderr.buffer.write(channel.recv_stderr(CHUNK))


# Exit status when the server sent no exit-status (the connection ended, or exit-signal, which
# paramiko does not expose): 255, as OpenSSH's ssh exits when the connection is lost.
NO_STATUS = 255


def exit_code(channel: paramiko.Channel) -> int:
    status = channel.recv_exit_status()
    return NO_STATUS if status == -1 else status


def main(argv: list[str]) -> int:
    args = parse_args(argv, __doc__)
    client = paramiko.SSHClient()
    client.load_host_keys(args.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(args.host, args.port, username=args.user, key_filename=args.key, password=args.password,
                   look_for_keys=False, allow_agent=False, timeout=args.timeout, banner_timeout=args.timeout,
                   auth_timeout=args.timeout)
    try:
        if args.mode == "exec":
            _, stdout, _ = client.exec_command(args.command, timeout=args.timeout)
            drain(stdout.channel)
            return exit_code(stdout.channel)
        if args.mode == "shell":
            channel = client.invoke_shell(term="xterm")
            channel.shutdown_write()
            drain(channel)
            return exit_code(channel)
        if args.mode == "sftp":
            sftp = client.open_sftp()
            print("\n".join(sorted(sftp.listdir("."))))
            sftp.close()
            return 0
        host, _, port = args.forward_to.rpartition(":")
        transport = client.get_transport()
        assert transport is not None
        channel = transport.open_channel("direct-tcpip", (host, int(port)), ("127.0.0.1", 0))
        channel.shutdown_write()
        drain(channel)
        return 0
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
