"""ssh-audit (Debian's package) against `harness serve --hardened`: exactly the hardened offer, no "fail".

(The default offer is sshd's, NIST curves included, which ssh-audit rates "fail" just as it
does for sshd itself; test_serve_sshd_defaults.py checks that one against the real ssh.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.ssh.config import ConnectionConfig, hardened_server_host_keys, hardened_server_kex, server_default_macs
from tests.integration.serve_process import serve_cli

pytestmark = pytest.mark.peer


def test_ssh_audit_hardened_server(tmp_path: Path) -> None:
    audit = shutil.which("ssh-audit")
    if audit is None:
        pytest.fail("ssh-audit is not installed: run `make setup` (scripts/setup.sh installs it)")
    with serve_cli(tmp_path, "--password", "p", "--hardened") as server:
        assert "(the hardened (ssh-audit-clean) offer)" in server.log()
        out = subprocess.run([audit, "-n", "-p", str(server.port), server.host], capture_output=True,
                             text=True, timeout=120).stdout  # fmt: skip
    reported = {kind: re.findall(rf"^\({kind}\) (\S+)", out, re.M) for kind in ("kex", "key", "enc", "mac")}
    assert reported["kex"] == [*hardened_server_kex(), "ext-info-s", "kex-strict-s-v00@openssh.com"]
    # The server has ECDSA keys too (the state dir holds every type), but does not offer them.
    assert reported["key"] == list(hardened_server_host_keys())
    assert tuple(reported["enc"]) == ConnectionConfig().ciphers
    assert tuple(reported["mac"]) == server_default_macs()  # umac-64 is a "warn": 64-bit tags
    fails = [line for line in out.splitlines() if "[fail]" in line]
    assert not fails, "\n".join(fails)
