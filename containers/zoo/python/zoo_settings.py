"""What every zoo server program reads from its environment (set by the zoo entrypoint).

Why environment variables: the entrypoint knows where it put the host keys and the home; the
programs then need no argument parsing and all read the same names.
"""

from __future__ import annotations

import os
import sys


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"zoo server: {name} is not set (start it through harness-entrypoint serve)")
    return value


LISTEN = setting("HARNESS_LISTEN")
PORT = int(setting("HARNESS_PORT"))
HOST_KEYS = setting("HARNESS_HOST_KEYS").split()
AUTHORIZED_KEYS = setting("HARNESS_AUTHORIZED_KEYS")
USER = setting("HARNESS_USER")
PASSWORD = setting("HARNESS_PASSWORD")
SHELL = "/bin/sh"


def authorized_key_lines() -> list[str]:
    """The "type base64" part of each authorized_keys line (no options are used by the harness)."""
    lines = []
    with open(AUTHORIZED_KEYS) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                lines.append(f"{parts[0]} {parts[1]}")
    return lines


def log(message: str) -> None:
    print(f"zoo: {message}", file=sys.stderr, flush=True)
