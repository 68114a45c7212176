"""The command line both client-peer scripts take (paramiko_client.py and asyncssh_client.py).

Why a sibling module and not harness code: the scripts run under other interpreters (Debian's
/usr/bin/python3 with its python3-paramiko or python3-asyncssh) where the harness is not
importable, so they import nothing from it. Run as ``python .../client_scripts/X_client.py``,
the script's own folder is first on sys.path and this file is found beside it. The options are
what harness/peers/client_invocation.py passes.
"""

from __future__ import annotations

import argparse


def parse_args(argv: list[str], description: str | None) -> argparse.Namespace:
    """Where to connect, as whom, what to trust, and the one thing to do there."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--key", help="private key file (OpenSSH or PEM format)")
    p.add_argument("--password")
    p.add_argument("--known-hosts", required=True, help="known_hosts with the server's key ([host]:port form)")
    p.add_argument("--mode", choices=("exec", "shell", "sftp", "forward"), default="exec")
    p.add_argument("--command", default="true")
    p.add_argument("--forward-to", default="127.0.0.1:9", help="host:port of the direct-tcpip channel")
    p.add_argument("--timeout", type=float, default=20.0)
    return p.parse_args(argv)
