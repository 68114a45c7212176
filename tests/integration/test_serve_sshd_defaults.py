"""`harness serve` with default settings accepts what sshd accepts by default (issue 19).

The names come from the local OpenSSH itself, not from a list of ours: every kex, cipher, MAC
and host key algorithm that `ssh -Q` lists and that `sshd -T` (Debian's sshd 9.2 with an empty
configuration) offers by default. For each, the local `/usr/bin/ssh` offers only that one name
(`-o KexAlgorithms=X` and so on), logs in with a key and runs a command; one connection per
name, several at once.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.peers.base import client_keys
from tests.integration.serve_process import ServeProcess, serve_cli, shared_state_dir

pytestmark = pytest.mark.peer

SSH, SSHD = "/usr/bin/ssh", "/usr/sbin/sshd"
# ssh -Q category and sshd -T keyword for each kind of algorithm. Host keys: key-sig is the
# list that has rsa-sha2-256/512 (signature names); `ssh -Q key` has only key types.
CATEGORIES = {"kex": ("kex", "kexalgorithms"), "cipher": ("cipher", "ciphers"), "mac": ("mac", "macs"),
              "key": ("key-sig", "hostkeyalgorithms")}  # fmt: skip
# The ssh option that restricts the client to one name of each kind. A MAC is only used with
# a cipher that is not an AEAD (those carry their own tag), so MAC runs pin aes128-ctr.
OPTION = {"kex": ["-o", "KexAlgorithms={}"], "cipher": ["-o", "Ciphers={}"],
          "mac": ["-o", "Ciphers=aes128-ctr", "-o", "MACs={}"], "key": ["-o", "HostKeyAlgorithms={}"]}  # fmt: skip
PARALLEL = 4


def _sshd_offers_by_default(name: str) -> bool:
    """Certificates need a HostCertificate and sk- keys a hardware token: sshd lists them in
    HostKeyAlgorithms but offers them only with such a configuration, never by default."""
    return "-cert-v01@openssh.com" not in name and not name.startswith(("sk-", "webauthn-"))


def expected_names(host_key: Path) -> list[tuple[str, str]]:
    for binary in (SSH, SSHD):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is not installed: run `make setup` (scripts/setup.sh installs it)")
    config = subprocess.run([SSHD, "-T", "-f", "/dev/null", "-h", str(host_key)], capture_output=True, text=True,
                            timeout=30, check=True).stdout  # fmt: skip
    sshd = {line.split(" ", 1)[0]: line.split(" ", 1)[1].split(",") for line in config.splitlines() if " " in line}
    names = []
    for kind, (query, keyword) in CATEGORIES.items():
        client = subprocess.run([SSH, "-Q", query], capture_output=True, text=True, timeout=30, check=True).stdout
        names += [(kind, n) for n in sshd[keyword] if n in client.split() and _sshd_offers_by_default(n)]
    return names


def login_with(server: ServeProcess, key: Path, kind: str, name: str) -> str:
    """One ssh connection offering only ``name``: '' when it logged in and ran the command."""
    options = [part.format(name) for part in OPTION[kind]]
    argv = [SSH, "-F", "/dev/null", "-p", str(server.port), "-i", str(key), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=20", *options, f"root@{server.host}", "echo ran-$0"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if result.returncode == 0 and result.stdout.startswith("ran-"):
        return ""
    return f"{kind} {name}: exit {result.returncode}: {(result.stderr or result.stdout).strip()[:300]}"


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    work = tmp_path_factory.mktemp("serve-defaults")
    key = client_keys()["ed25519"]
    authorized = work / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    with serve_cli(work, "--user", "root", "--authorized-keys", str(authorized)) as server:
        yield server


def test_every_algorithm_sshd_offers_by_default_logs_in(default_server: ServeProcess) -> None:
    names = expected_names(shared_state_dir() / "ssh_host_ed25519_key")
    kinds = {kind for kind, _ in names}
    assert kinds == set(CATEGORIES), names  # sshd -T and ssh -Q really gave names of each kind
    assert ("kex", "ecdh-sha2-nistp256") in names  # the case of issue 19
    key = client_keys()["ed25519"]
    with ThreadPoolExecutor(PARALLEL) as pool:
        failures = [f for f in pool.map(lambda kn: login_with(default_server, key, *kn), names) if f]
    assert not failures, "\n".join(failures) + "\n--- server log ---\n" + default_server.log()[-4000:]
