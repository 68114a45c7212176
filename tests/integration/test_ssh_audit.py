"""ssh-audit (Debian's package) against our server with its default configuration."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from harness.serve import Listener, ServeConfig
from harness.ssh.keys import Ed25519Key, RSAKey

pytestmark = pytest.mark.peer


def test_ssh_audit_default_server() -> None:
    audit = shutil.which("ssh-audit")
    if audit is None:
        pytest.fail("ssh-audit is not installed: run `make setup` (scripts/setup.sh installs it)")
    keys = [Ed25519Key.generate(), RSAKey.generate(3072)]
    with Listener(keys, ServeConfig(username="u", password="p")) as listener:
        out = subprocess.run([audit, "-n", "-p", str(listener.address[1]), "127.0.0.1"], capture_output=True,
                             text=True, timeout=120).stdout  # fmt: skip
        from harness.ssh.config import ConnectionConfig, server_default_host_keys, server_default_kex

        cfg = ConnectionConfig()
    reported = {kind: re.findall(rf"^\({kind}\) (\S+)", out, re.M) for kind in ("kex", "key", "enc", "mac")}
    assert reported["kex"] == [*server_default_kex(), "ext-info-s", "kex-strict-s-v00@openssh.com"]
    assert reported["key"] == [a for a in server_default_host_keys()]
    assert tuple(reported["enc"]) == cfg.ciphers
    assert tuple(reported["mac"]) == cfg.macs
    fails = [line for line in out.splitlines() if "[fail]" in line]
    assert not fails, "\n".join(fails)
