"""The server that client interop tests talk to: ours, with a host key of every type we
implement, every client key of the matrix authorized, every algorithm offered and a rekey
every ``rekey_bytes`` (the clients must follow re-exchanges they did not start)."""

from __future__ import annotations

from pathlib import Path

from harness.peers.base import client_keys
from harness.serve import ServeConfig
from harness.ssh.keys import ECDSAKey, Ed25519Key, PKey, RSAKey, load_public_key_file


def host_keys_of_every_type() -> list[PKey]:
    return [Ed25519Key.generate(), ECDSAKey.generate(256), ECDSAKey.generate(384), ECDSAKey.generate(521),
            RSAKey.generate(2048)]  # fmt: skip


def client_test_config(user: str, password: str, cwd: Path, rekey_bytes: int) -> ServeConfig:
    authorized = [load_public_key_file(str(p) + ".pub") for p in client_keys().values()]
    return ServeConfig(username=user, password=password, authorized_keys=authorized, cwd=str(cwd),
                       all_algorithms=True, rekey_bytes=rekey_bytes)  # fmt: skip
