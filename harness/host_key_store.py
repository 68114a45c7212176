"""Host keys of `harness serve` that survive restarts, kept in a state directory like sshd's /etc/ssh.

Why: a server whose host keys change on every start makes every real client refuse it ("REMOTE
HOST IDENTIFICATION HAS CHANGED") once it has been added to known_hosts. One key of every type
sshd offers by default is generated on first use (ssh-keygen -A's set, plus ECDSA P-384 and
P-521 so that every ecdsa-sha2-nistp* host key algorithm can be negotiated), written in OpenSSH
format with mode 0600 in a directory of mode 0700, and loaded on every later start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from harness.ssh.keys import ECDSAKey, Ed25519Key, PKey, RSAKey, load_private_key_file

log = logging.getLogger("harness.serve")

STATE_DIR_NAME = "ssh-harness"
# sshd's ssh-keygen -A size for RSA host keys.
RSA_HOST_KEY_BITS = 3072
# File name -> generator, in the order the keys are offered (the client's preference decides).
HOST_KEY_FILES: dict[str, Callable[[], PKey]] = {
    "ssh_host_ed25519_key": Ed25519Key.generate,
    "ssh_host_ecdsa_key": lambda: ECDSAKey.generate(256),
    "ssh_host_ecdsa384_key": lambda: ECDSAKey.generate(384),
    "ssh_host_ecdsa521_key": lambda: ECDSAKey.generate(521),
    "ssh_host_rsa_key": lambda: RSAKey.generate(RSA_HOST_KEY_BITS),
}


class HostKeyStoreError(Exception):
    """The state directory or a key in it cannot be used (the message says which and why)."""


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/ssh-harness, or ~/.local/state/ssh-harness (the XDG default)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / STATE_DIR_NAME


def load_or_create_host_keys(state_dir: Path) -> tuple[list[PKey], list[str]]:
    """The server's host keys from ``state_dir``, generating missing ones; also the new files' names."""
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HostKeyStoreError(f"cannot create the state directory {state_dir}: {exc}") from None
    keys: list[PKey] = []
    created: list[str] = []
    for name, generate in HOST_KEY_FILES.items():
        path = state_dir / name
        if path.exists():
            keys.append(_load(path))
            continue
        key = generate()
        _write_atomically(key, path)
        keys.append(key)
        created.append(name)
    return keys, created


def _load(path: Path) -> PKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        # sshd refuses such a key; we tighten it, since only we write these files.
        log.warning("%s had mode %o: set to 600 (a private host key must not be readable by others)", path, mode)
        path.chmod(0o600)
    try:
        return load_private_key_file(path)
    except Exception as exc:
        raise HostKeyStoreError(f"cannot load host key {path}: {exc} (remove it to get a new one)") from None


def _write_atomically(key: PKey, path: Path) -> None:
    """Private key (0600) then public key (0644); a crash never leaves half a private key behind."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        key.write_private_key_file(partial)
        os.replace(partial, path)
        path.with_name(path.name + ".pub").write_text(f"{key.get_name()} {key.get_base64()} {STATE_DIR_NAME}\n")
    except OSError as exc:
        raise HostKeyStoreError(f"cannot write host key {path}: {exc}") from None


def known_hosts_host(host: str, port: int) -> str:
    """The host field of a known_hosts line as ssh writes it: bare for port 22, else [host]:port."""
    return host if port == 22 else f"[{host}]:{port}"


def known_hosts_lines(keys: list[PKey], host: str, port: int) -> list[str]:
    """One known_hosts line per host key, for a client connecting to ``host``:``port``."""
    return [f"{known_hosts_host(host, port)} {key.get_name()} {key.get_base64()}" for key in keys]
